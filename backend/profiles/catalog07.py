"""A fresh microsandbox 0.7.11 catalog, from the vendored schema and ledger: for ``--demo`` and tests only.

msb-tui never migrates a user's home to 0.7 (0.7 does that itself when it first opens a home); this
builds the catalog a fresh 0.7.11 home starts with, object for object, so the demo and the tests can show
and exercise 0.7 homes without the 0.7 SDK.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

SCHEMA_FILE = "schema-0.7.11.sql"
LEDGER_FILE = "ledger-0.7.11.txt"


def _text(name: str) -> str:
    return resources.files("backend.profiles").joinpath(name).read_text(encoding="utf-8")


def schema_statements() -> list[str]:
    """The schema's ``CREATE`` statements, in file order (``sqlite_sequence`` is SQLite's own)."""
    statements: list[str] = []
    for chunk in "\n".join(line for line in _text(SCHEMA_FILE).splitlines()
                           if not line.startswith("--")).split(";"):
        statement = chunk.strip()
        if statement and not statement.startswith("CREATE TABLE sqlite_sequence"):
            statements.append(statement)
    return statements


def ledger_0_7() -> tuple[str, ...]:
    """The 30 migration ids in microsandbox's order, as vendored."""
    return tuple(line.strip() for line in _text(LEDGER_FILE).splitlines() if line.strip() and not line.startswith("#"))


def lease_time(moment: datetime) -> str:
    """Lease times as 0.7 writes them: ``YYYY-MM-DD HH:MM:SS.nnnnnnnnn`` (naive UTC)."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%d %H:%M:%S.") + f"{utc.microsecond:06d}000"


def create_catalog_0_7(db: Path, *, now: datetime) -> None:
    """Create ``db`` as microsandbox 0.7.11 creates a fresh home's catalog (WAL, 30 ledger rows, the
    cleared ``install_exclusive`` lease every 0.7 open leaves). Refuses an existing file."""
    if db.exists():
        raise FileExistsError(db)
    db.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("BEGIN")
        for statement in schema_statements():
            conn.execute(statement)
        stamp = int(now.timestamp())
        conn.executemany("INSERT INTO seaql_migrations (version, applied_at) VALUES (?, ?)",
                         [(version, stamp) for version in ledger_0_7()])
        moment = lease_time(now)
        conn.execute("INSERT INTO maintenance_lease (name, holder_pid, lease_expires_at, last_completed_at) "
                     "VALUES ('install_exclusive', NULL, ?, ?)", (moment, moment))
        conn.execute("COMMIT")
    finally:
        conn.close()
