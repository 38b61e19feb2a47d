"""Schema detection and migration through Alembic, inside the running event loop.

``seaql_migrations`` is the source of truth, as it is for microsandbox: a database is current when it
holds all 13 known versions, whoever wrote them. A database with versions this tool does not know
comes from a newer microsandbox and is never migrated or written.
"""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, text

from backend.db.ledger import LEDGER_SQL, MICROSANDBOX_MIGRATIONS, MIGRATIONS_0_5
from backend.errors import ReadOnlyReason
from backend.profiles.base import HomeProfile, reading_profile
from backend.profiles.detect import LedgerVerdict, judge_ledger

if TYPE_CHECKING:
    from alembic.config import Config

#: microsandbox 0.5.x's migrations, in order; also the order of the Alembic revisions 0001-0013.
KNOWN_VERSIONS: tuple[str, ...] = MIGRATIONS_0_5
_ALL_KNOWN = frozenset(MICROSANDBOX_MIGRATIONS)

# Alembic keeps global state; concurrent upgrades in one process must not interleave.
_ALEMBIC_LOCK = threading.Lock()


class SchemaState(str, enum.Enum):
    """What the backend found (and did) when it opened the catalog."""

    NOT_OPENED = "not opened"
    MISSING = "missing"
    """Read-only and no database file yet: everything reads as empty."""
    CREATED = "created"
    """A new database was created and migrated here."""
    CURRENT = "current"
    """Already at the latest schema when opened."""
    UPGRADED = "upgraded"
    """Older migrations were applied here."""
    OUTDATED = "outdated"
    """Read-only and behind the latest schema; some columns may be missing."""
    TOO_NEW = "newer than supported"
    """Migrated by a newer microsandbox: opened read-only, never written."""
    UNSUPPORTED = "not supported for writing"
    """A ledger that fits no profile (intermediate, reordered, none): opened read-only, never written."""


@dataclass(frozen=True)
class SchemaInfo:
    """The catalog's migration ledger as found on disk."""

    applied: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()
    has_alembic_table: bool = False
    has_any_table: bool = False
    #: The ledger in the order its rows were inserted (``rowid``), as microsandbox writes them.
    ledger: tuple[str, ...] = ()
    has_ledger_table: bool = False

    @property
    def profile(self) -> HomeProfile:
        """The profile the ledger selects; for one that fits none, the profile to read it with."""
        verdict = self.verdict
        return verdict.profile if verdict.profile is not None else reading_profile(self.ledger)

    @property
    def verdict(self) -> LedgerVerdict:
        """The profile this ledger selects, or why none does."""
        return judge_ledger(self.ledger, has_tables=self.has_any_table, has_ledger_table=self.has_ledger_table)

    @property
    def pending(self) -> tuple[str, ...]:
        """0.5 migrations (the ones msb-tui itself applies) not yet applied."""
        return tuple(v for v in KNOWN_VERSIONS if v not in self.applied)


@dataclass(frozen=True)
class SchemaStatus:
    """The state shown to operators: what was found, what was done, and why it matters."""

    state: SchemaState
    path: Path
    info: SchemaInfo = field(default_factory=SchemaInfo)
    #: What blocks writing since the catalog was opened (the ledger changed, an install is under way).
    blocked: ReadOnlyReason | None = None

    @property
    def message(self) -> str:
        """One line for a header or a ``doctor`` report."""
        if self.blocked is not None:
            return self.blocked.message
        if self.state is SchemaState.TOO_NEW:
            return (
                f"schema is newer than supported (unknown migrations: {', '.join(self.info.unknown)}); "
                "opened read-only. Upgrade msb-tui to edit this home."
            )
        if self.state is SchemaState.MISSING:
            return "no database yet (read-only: nothing was created)"
        if self.state is SchemaState.OUTDATED:
            return f"schema is behind by {len(self.info.pending)} migration(s); read-only, so not migrated"
        if self.state is SchemaState.UNSUPPORTED:
            reason = self.info.verdict.reason
            return reason.message if reason is not None else "schema not supported for writing; read-only"
        return f"schema {self.state.value}"


def read_schema_info(conn: Connection) -> SchemaInfo:
    """Read the ledger without writing anything."""
    tables = {
        row[0]
        for row in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'")).all()
    }
    ledger: tuple[str, ...] = ()
    if "seaql_migrations" in tables:
        ledger = tuple(str(row[0]) for row in conn.execute(text(LEDGER_SQL)))
    applied = tuple(sorted(ledger))
    return SchemaInfo(
        ledger=ledger,
        has_ledger_table="seaql_migrations" in tables,
        applied=applied,
        unknown=tuple(v for v in applied if v not in _ALL_KNOWN),
        has_alembic_table="alembic_version" in tables,
        has_any_table=bool(tables - {"sqlite_sequence"}),
    )


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config located by package path, so it works from any working directory."""
    from alembic.config import Config  # imported only when migrating: it costs start-up time

    cfg = Config()
    import migrations

    cfg.set_main_option("script_location", str(Path(migrations.__file__).resolve().parent))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(conn: Connection, info: SchemaInfo) -> None:
    """Apply the pending migrations on ``conn`` (foreign keys off, one transaction per migration).

    Revisions whose seaql row exists are no-ops, so Alembic's own bookkeeping is rebuilt from
    seaql_migrations whenever the two disagree.
    """
    with _ALEMBIC_LOCK:
        _pragma_outside_transaction(conn, "PRAGMA foreign_keys = OFF")
        try:
            if info.has_alembic_table:
                with conn.begin():
                    conn.exec_driver_sql("DELETE FROM alembic_version")
            from alembic import command

            cfg = alembic_config(conn)
            cfg.attributes["seaql_applied"] = frozenset(info.applied)
            command.upgrade(cfg, "head")
        finally:
            if conn.in_transaction():
                conn.rollback()
            _pragma_outside_transaction(conn, "PRAGMA foreign_keys = ON")


def _pragma_outside_transaction(conn: Connection, pragma: str) -> None:
    # SQLite ignores foreign_keys inside a transaction, and SQLAlchemy would autobegin one.
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(pragma)
    finally:
        cursor.close()
