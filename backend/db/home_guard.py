"""Is the home still the one we understood? The checks every write repeats inside its transaction.

microsandbox itself refuses to open a home while ``msb self update``/``downgrade`` holds the
``install_exclusive`` maintenance lease, or while a self-downgrade journal is unfinished; and a newer
microsandbox migrates a home forward the first time it touches it. A write here therefore first reads,
in the same ``BEGIN IMMEDIATE`` transaction that will do the work, the migration ledger and the lease,
and looks at ``db/self-downgrade/``; anything unexpected rolls the write back.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from backend.db.ledger import LEASE_SQL, read_ledger
from backend.errors import ReadOnlyReason, WriteBlock
from backend.jsonio import loads_row
from backend.safeopen import read_regular
from backend.timefmt import parse_ts

Query = Callable[[str], Sequence[Sequence[Any]]]

DOWNGRADE_FOLDER = "self-downgrade"
#: A journal bigger than this is not one microsandbox wrote; it counts as unfinished.
JOURNAL_MAX_BYTES = 1 << 20


def schema_changed(seen: tuple[str, ...], now: tuple[str, ...]) -> ReadOnlyReason:
    """The reason for a ledger that differs from the one seen when the home was opened."""
    added = [v for v in now if v not in seen]
    gone = [v for v in seen if v not in now]
    if added and not gone:
        detail = f"{len(added)} migration(s) were applied by another program (the newest: {added[-1]})"
    elif gone:
        detail = f"{len(gone)} migration(s) were removed from the ledger (a downgrade?)"
    else:
        detail = "its migrations were rewritten in another order"
    return ReadOnlyReason(
        WriteBlock.SCHEMA_CHANGED,
        f"the catalog changed after it was opened: {detail}. Nothing was written; this home is now "
        "read-only. Reopen msb-tui to see it as it is now.",
        "catalog migrated meanwhile: read-only",
    )


def lease_block(expires: object, now: datetime | None = None) -> ReadOnlyReason | None:
    """The install lease's block while it is unexpired (an unreadable expiry counts as unexpired)."""
    moment = parse_ts(expires) if isinstance(expires, str) else None
    current = now or datetime.now(UTC)
    if moment is not None and moment <= current:
        return None
    until = f"until {moment:%Y-%m-%d %H:%M:%S} UTC" if moment is not None else f"(expiry {expires!r} unreadable)"
    return ReadOnlyReason(
        WriteBlock.INSTALL_IN_PROGRESS,
        f"a microsandbox install operation (msb self update or downgrade) holds this home {until}; "
        "retry after it completes",
        "msb install in progress: read-only",
        lasting=False,
    )


def read_lease(query: Query) -> ReadOnlyReason | None:
    """The install lease's block, read with ``query`` (inside the caller's transaction)."""
    try:
        rows = query(LEASE_SQL)
    except Exception:  # noqa: BLE001 - no lease table (a catalog before migration 13): no lease
        return None
    return lease_block(rows[0][0]) if rows else None


def downgrade_block(db_dir: Path) -> ReadOnlyReason | None:
    """A self-downgrade that has not finished (``db/self-downgrade/<op>/journal.json`` missing or
    without ``"phase": "complete"``), as microsandbox refuses to open the home then."""
    folder = db_dir / DOWNGRADE_FOLDER
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return _pending(folder, f"cannot be read ({exc.strerror or exc})")
    for entry in entries:
        if entry.name.startswith(".") or not entry.is_dir(follow_symlinks=False):
            continue
        journal = Path(entry.path) / "journal.json"
        phase = _journal_phase(journal)
        if phase != "complete":
            why = "has no journal.json" if phase is None else f"is at phase {phase!r}"
            return _pending(Path(entry.path), why)
    return None


def _journal_phase(journal: Path) -> str | None:
    try:
        data = read_regular(journal, JOURNAL_MAX_BYTES, follow=False)
    except FileNotFoundError:
        return None
    except OSError:  # a symlink, FIFO, device, folder or an oversized file: not a journal we trust
        return "unreadable"
    try:
        document = loads_row(data)
    except ValueError:
        return "unreadable"
    phase = document.get("phase") if isinstance(document, dict) else None
    return phase if isinstance(phase, str) else "unknown"


def _pending(where: Path, why: str) -> ReadOnlyReason:
    return ReadOnlyReason(
        WriteBlock.DOWNGRADE_PENDING,
        f"a microsandbox self-downgrade is unfinished: `{where}` {why}. Resume it with msb "
        "(msb self downgrade) before changing this home",
        "msb downgrade unfinished: read-only",
        lasting=False,
    )


def check_home(query: Query, seen_ledger: tuple[str, ...], db_dir: Path) -> ReadOnlyReason | None:
    """Why writing must not go on, or None: the ledger differs from ``seen_ledger``, the install
    lease is held, or a downgrade is unfinished. ``query`` runs inside the write transaction."""
    try:
        ledger = read_ledger(query)
    except Exception:  # noqa: BLE001 - a ledger that cannot be read is not the one we opened
        ledger = ()
    if ledger != seen_ledger:
        return schema_changed(seen_ledger, ledger)
    return read_lease(query) or downgrade_block(db_dir)
