"""Home profiles are decided from the ledger (never the DDL): 13 rows, 30 rows, prefixes, gaps, unknown
ids, lexical order, no ledger (issue 16)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from backend import LocalBackend
from backend.db.ledger import MICROSANDBOX_MIGRATIONS
from backend.db.migrate import SchemaState
from backend.errors import ReadOnlyError, WriteBlock
from backend.profiles import PROFILE_0_5, PROFILE_0_7, LedgerKind, judge_ledger
from backend.profiles.catalog07 import create_catalog_0_7
from backend.volumes.models import VolumeConfig

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(("ledger", "kind", "profile"), [
    (MICROSANDBOX_MIGRATIONS[:13], LedgerKind.PROFILE, PROFILE_0_5),
    (MICROSANDBOX_MIGRATIONS, LedgerKind.PROFILE, PROFILE_0_7),
    (MICROSANDBOX_MIGRATIONS[:9], LedgerKind.OLDER, PROFILE_0_5),
    (MICROSANDBOX_MIGRATIONS[:14], LedgerKind.INTERMEDIATE, None),
    (MICROSANDBOX_MIGRATIONS[:29], LedgerKind.INTERMEDIATE, None),
    (MICROSANDBOX_MIGRATIONS[:12] + MICROSANDBOX_MIGRATIONS[13:14], LedgerKind.FOREIGN, None),  # a gap
    (MICROSANDBOX_MIGRATIONS + ("m20270101_000001_future",), LedgerKind.FOREIGN, None),
    (tuple(sorted(MICROSANDBOX_MIGRATIONS)), LedgerKind.REORDERED, None),  # the lexical order
    (MICROSANDBOX_MIGRATIONS[:13] + MICROSANDBOX_MIGRATIONS[:1], LedgerKind.FOREIGN, None),  # a duplicate
])
def test_the_ledger_decides_the_profile(ledger: tuple[str, ...], kind: LedgerKind, profile: object) -> None:
    verdict = judge_ledger(ledger, has_tables=True)
    assert verdict.kind is kind and verdict.profile is profile
    assert (verdict.reason is None) == (profile is not None)


def test_no_tables_is_a_new_home_and_tables_without_a_ledger_are_refused() -> None:
    assert judge_ledger((), has_tables=False).profile is PROFILE_0_5
    verdict = judge_ledger((), has_tables=True, has_ledger_table=False)
    assert verdict.kind is LedgerKind.NO_LEDGER and verdict.reason is not None
    assert "no migration history" in verdict.reason.message


def make_catalog(db: Path, ledger: tuple[str, ...]) -> None:
    create_catalog_0_7(db, now=NOW)
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("DELETE FROM seaql_migrations")
        conn.executemany("INSERT INTO seaql_migrations VALUES (?, 1)", [(v,) for v in ledger])


def dump(db: Path) -> list[str]:
    with closing(sqlite3.connect(db)) as conn:
        return list(conn.iterdump())


async def test_a_fresh_0_7_home_opens_writable_as_the_0_7_profile(home: Path) -> None:
    db = home / "db" / "msb.db"
    create_catalog_0_7(db, now=NOW)
    before_ledger = dump(db)
    backend = LocalBackend.lazy()
    try:
        database = await backend.db()
        assert database.status.state is SchemaState.CURRENT
        assert database.profile is PROFILE_0_7 and backend.profile is PROFILE_0_7
        assert not backend.read_only
        assert database.migrations_run == 0
        await backend.volumes().create(VolumeConfig("data"))
    finally:
        await backend.close()
    with closing(sqlite3.connect(db)) as conn:
        assert [r[0] for r in conn.execute("SELECT version FROM seaql_migrations ORDER BY rowid")] == list(
            MICROSANDBOX_MIGRATIONS)
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "alembic_version" not in tables  # never migrated, never adopted into Alembic
    added = [line for line in dump(db) if line not in before_ledger]
    assert len(added) == 2 and added[0].startswith('INSERT INTO "volume"')  # and its sqlite_sequence row
    assert all(line in dump(db) for line in before_ledger)


@pytest.mark.parametrize(("count", "ordering", "state", "summary"), [
    (20, "list", SchemaState.UNSUPPORTED, "intermediate schema (20/30): read-only"),
    (30, "lexical", SchemaState.UNSUPPORTED, "ledger out of order: read-only"),
])
async def test_ledgers_that_fit_no_profile_open_read_only_and_unchanged(
        home: Path, count: int, ordering: str, state: SchemaState, summary: str) -> None:
    db = home / "db" / "msb.db"
    ledger = MICROSANDBOX_MIGRATIONS[:count]
    make_catalog(db, tuple(sorted(ledger)) if ordering == "lexical" else ledger)
    before = dump(db)
    backend = LocalBackend.lazy()
    try:
        database = await backend.db()
        assert database.status.state is state
        reason = backend.read_only_reason
        assert reason is not None and reason.block is WriteBlock.UNRECOGNIZED and reason.summary == summary
        with pytest.raises(ReadOnlyError):
            await backend.volumes().create(VolumeConfig("x"))
        assert await backend.sandboxes().count() == 0  # it still reads
    finally:
        await backend.close()
    assert dump(db) == before


async def test_an_intermediate_home_is_read_with_the_columns_it_has(home: Path) -> None:
    db = home / "db" / "msb.db"
    make_catalog(db, MICROSANDBOX_MIGRATIONS[:20])
    backend = LocalBackend.lazy(read_only=True)
    try:
        await backend.db()
        assert backend.profile.sandbox_columns == ("active_config",)
        assert backend.profile.title == "microsandbox 0.6/0.7 home (20/30 migrations)"
    finally:
        await backend.close()


async def test_a_catalog_with_tables_but_no_ledger_is_refused_unchanged(home: Path) -> None:
    db = home / "db" / "msb.db"
    db.parent.mkdir()
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("CREATE TABLE something (id integer)")
    before = dump(db)
    backend = LocalBackend.lazy()
    try:
        database = await backend.db()
        assert database.status.state is SchemaState.UNSUPPORTED
        assert "no migration history" in database.status.message
    finally:
        await backend.close()
    assert dump(db) == before
    assert not (home / "db" / "msb.db.migration.lock").exists()
