"""Which profile a catalog is, from its ``seaql_migrations`` ledger alone (never from DDL text: a fresh
0.7 home writes ``integer`` where a migrated 0.5 home keeps ``bigint``)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from backend.db.ledger import MICROSANDBOX_MIGRATIONS, MIGRATIONS_0_5
from backend.errors import ReadOnlyReason, WriteBlock
from backend.profiles.base import PROFILE_0_5, PROFILE_0_7, HomeProfile


class LedgerKind(str, enum.Enum):
    """What a ledger says about its catalog."""

    EMPTY = "empty"
    """No tables at all: a new catalog, created at the 0.5 profile's 13 migrations."""
    OLDER = "older"
    """An exact prefix of the 0.5 migrations: an older 0.5.x catalog, migrated to 13 as 0.5 does."""
    PROFILE = "profile"
    """Exactly one profile's ledger, in microsandbox's order."""
    INTERMEDIATE = "intermediate"
    """An exact prefix between the profiles (a 0.6.x or early 0.7.x catalog): read-only."""
    REORDERED = "reordered"
    """microsandbox's ids, but not in the order it inserts them: read-only."""
    FOREIGN = "foreign"
    """Unknown ids, gaps or duplicates (a newer or foreign catalog): read-only."""
    NO_LEDGER = "no ledger"
    """Tables without a ``seaql_migrations`` table: an unrecognized catalog, read-only."""


@dataclass(frozen=True)
class LedgerVerdict:
    """The profile a ledger selects, or why none does (``reason``)."""

    kind: LedgerKind
    profile: HomeProfile | None = None
    reason: ReadOnlyReason | None = None
    unknown: tuple[str, ...] = ()


def _read_only(block: WriteBlock, message: str, summary: str) -> ReadOnlyReason:
    return ReadOnlyReason(block, message, summary)


def judge_ledger(ledger: tuple[str, ...], *, has_tables: bool, has_ledger_table: bool = True) -> LedgerVerdict:
    """Decide a catalog's profile from its ledger in ``rowid`` order (see :class:`LedgerKind`)."""
    if not has_tables:
        return LedgerVerdict(LedgerKind.EMPTY, PROFILE_0_5)
    if not has_ledger_table:
        return LedgerVerdict(LedgerKind.NO_LEDGER, reason=_read_only(
            WriteBlock.UNRECOGNIZED,
            "the database has tables but no migration history (no seaql_migrations), so it is not a catalog "
            "microsandbox made; it is opened read-only, as microsandbox refuses it",
            "unrecognized catalog: read-only"))
    for profile in (PROFILE_0_5, PROFILE_0_7):
        if ledger == profile.ledger:
            return LedgerVerdict(LedgerKind.PROFILE, profile)
    known = set(MICROSANDBOX_MIGRATIONS)
    unknown = tuple(v for v in ledger if v not in known)
    if unknown or len(set(ledger)) != len(ledger):
        return LedgerVerdict(LedgerKind.FOREIGN, unknown=unknown, reason=_read_only(
            WriteBlock.NEWER_SCHEMA,
            "the database comes from a newer microsandbox (or another program): its migration ledger holds "
            f"{len(unknown)} id(s) this tool does not know, so it is opened read-only",
            "schema newer than supported: read-only"))
    count = len(ledger)
    prefix = MICROSANDBOX_MIGRATIONS[:count]
    if set(ledger) != set(prefix):
        return LedgerVerdict(LedgerKind.FOREIGN, reason=_read_only(
            WriteBlock.NEWER_SCHEMA,
            f"the database's migration ledger has gaps ({count} of microsandbox's migrations, not the first "
            f"{count}), so it is opened read-only",
            "schema with gaps: read-only"))
    if ledger != prefix:
        return LedgerVerdict(LedgerKind.REORDERED, reason=_read_only(
            WriteBlock.UNRECOGNIZED,
            "the database's migrations were recorded in another order than microsandbox applies them "
            "(a tool that sorted them?), so it is opened read-only",
            "ledger out of order: read-only"))
    if count < len(MIGRATIONS_0_5):
        return LedgerVerdict(LedgerKind.OLDER, PROFILE_0_5)
    return LedgerVerdict(LedgerKind.INTERMEDIATE, reason=_read_only(
        WriteBlock.UNRECOGNIZED,
        f"the database is at an intermediate microsandbox schema ({count} of 30 migrations: a 0.6.x or early "
        "0.7.x release), which this tool reads but does not write; it is opened read-only. Any msb 0.7 "
        "command migrates it to 0.7.",
        f"intermediate schema ({count}/30): read-only"))
