"""Every write re-checks, inside its own transaction, that the home is the one opened; opening and
writing honour microsandbox's migration lock; install and downgrade guards (issue 14)."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import stat
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backend import LocalBackend
from backend.db import database as database_module
from backend.db.ledger import MICROSANDBOX_MIGRATIONS
from backend.errors import (
    HomeChangedError,
    HomeMigratingError,
    ReadOnlyError,
    WriteBlock,
)
from backend.timefmt import format_ts
from backend.volumes.models import VolumeConfig
from tests.backend.sandbox_helpers import add_sandbox, db_file
from tests.lockholder import held_elsewhere


def dump(db: Path) -> list[str]:
    with closing(sqlite3.connect(db)) as conn:
        return list(conn.iterdump())


def migrate_behind_our_back(db: Path) -> None:
    """What microsandbox 0.7's first migration does to a 0.5 home: a column, then its ledger row."""
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute('ALTER TABLE sandbox ADD COLUMN "active_config" text')
        conn.execute("INSERT INTO seaql_migrations VALUES (?, ?)", (MICROSANDBOX_MIGRATIONS[13], int(time.time())))


def set_install_lease(db: Path, expires_in_s: float) -> None:
    expires = format_ts(datetime.now(UTC) + timedelta(seconds=expires_in_s))
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("INSERT OR REPLACE INTO maintenance_lease (name, holder_pid, lease_expires_at, last_completed_at) "
                     "VALUES ('install_exclusive', ?, ?, NULL)", (os.getpid(), expires))


async def test_a_write_after_the_ledger_changed_is_rolled_back_and_the_home_turns_read_only(
        backend: LocalBackend) -> None:
    db = db_file(backend)
    await backend.volumes().create(VolumeConfig("kept"))
    add_sandbox(db, "web", status="Stopped")
    changes: list[bool] = []
    backend.on_write_block_change(lambda: changes.append(backend.read_only))
    migrate_behind_our_back(db)
    before = dump(db)

    with pytest.raises(HomeChangedError, match="changed after it was opened: 1 migration"):
        await backend.volumes().create(VolumeConfig("new"))
    assert not (backend.volumes_dir() / "new").exists()  # the folder made for it was taken away again
    assert changes == [True]
    reason = backend.read_only_reason
    assert reason is not None and reason.block is WriteBlock.SCHEMA_CHANGED and reason.lasting
    assert backend.schema_status.blocked == reason

    with pytest.raises(ReadOnlyError, match="changed after it was opened"):
        await backend.volumes().remove("kept")
    with pytest.raises(ReadOnlyError, match="changed after it was opened"):
        await backend.sandboxes().remove("web")
    assert dump(db) == before
    assert (backend.volumes_dir() / "kept").is_dir()


async def test_the_sync_and_async_writers_both_check_inside_the_transaction(backend: LocalBackend) -> None:
    database = await backend.db()
    migrate_behind_our_back(db_file(backend))
    before = dump(db_file(backend))
    ran: list[str] = []

    async def async_work(conn: object) -> None:
        ran.append("async")

    with pytest.raises(HomeChangedError):
        await database.write("test write", async_work)
    database._block = None  # as if it had not been noticed: the sync writer must notice on its own
    with pytest.raises(HomeChangedError):
        await database.write_sync("test write", lambda conn: ran.append("sync"))
    assert ran == [] and dump(db_file(backend)) == before


async def test_a_refresh_recheck_notices_the_change_without_a_write(backend: LocalBackend) -> None:
    assert await backend.recheck() is None
    migrate_behind_our_back(db_file(backend))
    reason = await backend.recheck()
    assert reason is not None and reason.block is WriteBlock.SCHEMA_CHANGED
    assert backend.read_only


async def test_a_read_only_session_also_notices_the_change(home: Path) -> None:
    writer = LocalBackend.lazy()
    await writer.db()
    await writer.close()
    reader = LocalBackend.lazy(read_only=True)
    try:
        await reader.db()
        await reader.recheck()
        assert reader.schema_status.blocked is None
        migrate_behind_our_back(home / "db" / "msb.db")
        await reader.recheck()
        blocked = reader.schema_status.blocked
        assert blocked is not None and blocked.block is WriteBlock.SCHEMA_CHANGED
    finally:
        await reader.close()


async def test_an_unexpired_install_lease_blocks_writes_until_it_expires(backend: LocalBackend) -> None:
    db = db_file(backend)
    set_install_lease(db, 600)
    before = dump(db)
    with pytest.raises(HomeChangedError, match="install operation .* holds this home until"):
        await backend.volumes().create(VolumeConfig("during"))
    reason = backend.read_only_reason
    assert reason is not None and reason.block is WriteBlock.INSTALL_IN_PROGRESS and not reason.lasting
    assert dump(db) == before and not (backend.volumes_dir() / "during").exists()
    with pytest.raises(ReadOnlyError, match="install operation"):
        backend.ensure_writable("anything")

    set_install_lease(db, -1)  # msb finished: it clears the lease by setting the expiry to now
    assert await backend.recheck() is None
    await backend.volumes().create(VolumeConfig("after"))
    assert not backend.read_only


async def test_an_unfinished_self_downgrade_blocks_writes(backend: LocalBackend) -> None:
    db = db_file(backend)
    op = db.parent / "self-downgrade" / "0.7.11-to-0.6.14"
    (db.parent / "self-downgrade" / ".tmp-ignored").mkdir(parents=True)  # dot folders are not operations
    assert await backend.recheck() is None
    op.mkdir()
    with pytest.raises(HomeChangedError, match="self-downgrade is unfinished: .* has no journal.json"):
        await backend.volumes().create(VolumeConfig("a"))
    (op / "journal.json").write_text(json.dumps({"phase": "restoring"}))
    with pytest.raises(ReadOnlyError, match="is at phase 'restoring'"):
        assert await backend.recheck() is not None
        backend.ensure_writable("create volume")
    (op / "journal.json").write_text(json.dumps({"phase": "complete"}))
    assert await backend.recheck() is None
    await backend.volumes().create(VolumeConfig("a"))


async def test_opening_waits_for_the_migration_lock_then_says_microsandbox_is_migrating(
        home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(database_module, "MIGRATION_LOCK_WAIT_S", 0.5)
    lock = home / "db" / "msb.db.migration.lock"
    with held_elsewhere(lock):
        backend = LocalBackend.lazy()
        started = time.monotonic()
        with pytest.raises(HomeMigratingError, match="microsandbox is migrating this home"):
            await backend.db()
        assert time.monotonic() - started >= 0.5
        await backend.close()
        assert not (home / "db" / "msb.db").exists()  # nothing was created while it was held
    backend = LocalBackend.lazy()
    try:
        await backend.db()  # released: the next attempt opens (the app retries a busy home)
        assert (home / "db" / "msb.db").exists()
    finally:
        await backend.close()


async def test_a_write_waits_for_a_migration_in_progress_and_changes_nothing(
        backend: LocalBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(database_module, "MIGRATION_LOCK_WAIT_S", 0.3)
    db = db_file(backend)
    before = dump(db)
    with held_elsewhere(db.with_name("msb.db.migration.lock")):
        with pytest.raises(HomeMigratingError):
            await backend.volumes().create(VolumeConfig("x"))
    assert dump(db) == before and not (backend.volumes_dir() / "x").exists()


async def test_a_shared_holder_does_not_block_writes(backend: LocalBackend) -> None:
    # Another msb-tui writing holds the lock shared: writes of both go on.
    db = db_file(backend)
    with held_elsewhere(db.with_name("msb.db.migration.lock"), shared=True):
        await asyncio.wait_for(backend.volumes().create(VolumeConfig("x")), 5)


async def test_the_migration_lock_is_made_like_microsandbox_makes_it(backend: LocalBackend) -> None:
    lock = db_file(backend).with_name("msb.db.migration.lock")
    assert stat.S_IMODE(lock.lstat().st_mode) == 0o600 and lock.stat().st_size == 0


async def test_a_read_only_open_never_creates_the_lock_file(home: Path) -> None:
    writer = LocalBackend.lazy()
    await writer.db()
    await writer.close()
    lock = home / "db" / "msb.db.migration.lock"
    lock.unlink()
    reader = LocalBackend.lazy(read_only=True)
    try:
        await reader.db()
        await reader.sandboxes().count()
    finally:
        await reader.close()
    assert not lock.exists()


async def test_a_symlinked_migration_lock_is_not_followed(home: Path, tmp_path: Path) -> None:
    (home / "db").mkdir()
    target = tmp_path / "elsewhere"
    (home / "db" / "msb.db.migration.lock").symlink_to(target)
    backend = LocalBackend.lazy()
    try:
        with pytest.raises(Exception, match="migration lock"):
            await backend.db()
    finally:
        await backend.close()
    assert not target.exists()


async def test_doctor_reports_what_blocks_writes(backend: LocalBackend) -> None:
    from backend.doctor import gather

    set_install_lease(db_file(backend), 600)
    report = await gather(backend)
    writes = [c for checks in report.sections.values() for c in checks if c.name == "writes"]
    assert len(writes) == 1 and writes[0].level == "warn" and "install operation" in writes[0].value
