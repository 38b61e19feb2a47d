"""The two profiles: a microsandbox 0.5.x home (13 migrations) and a 0.7.x home (30 migrations)."""

from __future__ import annotations

from dataclasses import dataclass

from backend.db.ledger import MICROSANDBOX_MIGRATIONS, MIGRATIONS_0_5


@dataclass(frozen=True)
class StatusRules:
    """How microsandbox reconciles a row when it reads it (``msb ls``), for the status note.

    ``draining_dead``: what a ``Draining`` row whose runtime is gone becomes. ``abandoned_starting``: what
    a ``Starting`` row with no run and no lifecycle-lock holder becomes (None: left as it is).
    """

    draining_dead: str
    abandoned_starting: str | None


@dataclass(frozen=True)
class HomeProfile:
    """What one release's home holds, and how msb-tui reads and writes it."""

    key: str
    """``0.5`` or ``0.7``: also the ``config.json`` rules that apply."""
    title: str
    """How the header and ``doctor`` name it."""
    ledger: tuple[str, ...]
    """The migration ids such a home holds, in microsandbox's order."""
    sandbox_columns: tuple[str, ...]
    """Columns of ``sandbox`` beyond the 0.5 set, in table order."""
    status_rules: StatusRules
    owned_volumes: bool
    """Whether sandboxes can own volumes (``sandboxes/<n>/owned-volumes/``)."""


PROFILE_0_5 = HomeProfile(
    key="0.5",
    title="microsandbox 0.5 home",
    ledger=MIGRATIONS_0_5,
    sandbox_columns=(),
    status_rules=StatusRules(draining_dead="Crashed", abandoned_starting=None),
    owned_volumes=False,
)

PROFILE_0_7 = HomeProfile(
    key="0.7",
    title="microsandbox 0.7 home",
    ledger=MICROSANDBOX_MIGRATIONS,
    sandbox_columns=("active_config", "network_slot", "caller_config_overrides"),
    status_rules=StatusRules(draining_dead="Stopped", abandoned_starting="Crashed"),
    owned_volumes=True,
)

PROFILES: tuple[HomeProfile, ...] = (PROFILE_0_5, PROFILE_0_7)


#: The migration that adds each optional ``sandbox`` column.
_COLUMN_MIGRATION = {
    "active_config": "m20260703_000001_add_sandbox_active_config",
    "network_slot": "m20260818_000001_sandbox_network_slot",
    "caller_config_overrides": "m20261022_000001_sandbox_caller_config_overrides",
}


def reading_profile(ledger: tuple[str, ...]) -> HomeProfile:
    """The profile to *read* a catalog whose ledger fits no profile (it is never written): the 0.5 one
    for at most the 0.5 migrations, else the 0.7 rules with the columns its migrations added."""
    applied = set(ledger) & set(MICROSANDBOX_MIGRATIONS)  # ids it does not know say nothing about the shapes
    if applied <= set(MIGRATIONS_0_5):
        return PROFILE_0_5
    if set(MICROSANDBOX_MIGRATIONS) <= applied:
        return PROFILE_0_7
    known = sum(1 for v in MICROSANDBOX_MIGRATIONS if v in applied)
    return HomeProfile(
        key="0.7",
        title=f"microsandbox 0.6/0.7 home ({known}/30 migrations)",
        ledger=ledger,
        sandbox_columns=tuple(c for c in PROFILE_0_7.sandbox_columns if _COLUMN_MIGRATION[c] in applied),
        status_rules=PROFILE_0_7.status_rules,
        owned_volumes="m20260824_000001_mount_owner_config" in applied,
    )
