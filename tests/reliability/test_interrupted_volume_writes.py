"""A volume create or remove that fails at any step, or is cancelled mid-way, leaves no half state.

Each test first runs the operation once with every watched OS call counted, then once per step with
that call failing (EIO). After each failure the volume is either wholly absent (no row, no folder, no
staging or trash folder) or wholly present (row and folder), the error is a typed ``BackendError``,
the catalog still takes writes, and the operation can simply be tried again.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from backend import LocalBackend
from backend.db import sync_writer
from backend.db.database import Database
from backend.errors import BackendError, DatabaseError
from backend.volumes.models import VolumeConfig
from tests.backend.sandbox_helpers import add_sandbox, query_all
from tests.reliability.support import FaultPlan, FaultyOs, InjectedFault

#: The OS calls the volume code makes that change or open something. ``close`` is left out: on Linux it
#: always releases the descriptor, and these descriptors (locks, a fresh image) hold no unwritten data.
WATCHED = ("mkdir", "open", "rename", "rmdir", "unlink", "ftruncate")
FAULT_MODULES = ("backend.volumes.service", "backend.volumes.storage", "backend.volumes.disk_image", "backend.fileio",
                 "backend.locks")


def volume_state(home: Path, name: str) -> str:
    """``absent``, ``present`` or a description of the half state found."""
    with sqlite3.connect(home / "db" / "msb.db") as conn:
        row = conn.execute("SELECT kind FROM volume WHERE name = ?", (name,)).fetchone()
    conn.close()
    volumes = home / "volumes"
    folder = volumes / name
    leftovers = sorted(n for n in os.listdir(volumes) if n.startswith(f".{name}."))
    if leftovers:
        return f"half: staging or trash left behind: {leftovers}"
    if row is None:
        return "absent" if not os.path.lexists(folder) else "half: folder without a row"
    if not folder.is_dir() or folder.is_symlink():
        return "half: row without a folder"
    if row[0] == "disk" and not (folder / "disk.raw").is_file():
        return "half: disk row without its image"
    return "present"


def install_faults(monkeypatch: pytest.MonkeyPatch, plan: FaultPlan) -> None:
    """Route the watched OS calls and the catalog write of the volume code through ``plan``."""
    for module in FAULT_MODULES:
        monkeypatch.setattr(f"{module}.os", FaultyOs(plan, WATCHED))
    real_write_sync = Database.write_sync

    async def write_sync(self: Database, action: str, work: Any) -> Any:
        try:
            plan.hit("catalog write")
        except InjectedFault as exc:
            raise DatabaseError(f"database error: {exc}") from exc
        return await real_write_sync(self, action, work)

    monkeypatch.setattr(Database, "write_sync", write_sync)


async def assert_catalog_takes_writes(backend: LocalBackend, probe: str) -> None:
    """The write connection is not stuck in a transaction and holds no lock."""
    await backend.volumes().create(VolumeConfig(probe))
    await backend.volumes().remove(probe)
    outside = sqlite3.connect(backend.config.db_path(), timeout=0.2, isolation_level=None)
    try:
        outside.execute("BEGIN IMMEDIATE")  # would be SQLITE_BUSY if our writer still held the lock
        outside.execute("ROLLBACK")
    finally:
        outside.close()


def config_for(kind: str, name: str) -> VolumeConfig:
    return VolumeConfig.disk(name, capacity_mib=67) if kind == "disk" else VolumeConfig(name)


@pytest.mark.parametrize("kind", ["dir", "disk"])
async def test_create_failing_at_each_os_step_leaves_nothing_or_everything(
    backend: LocalBackend, home: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    counting = FaultPlan()
    install_faults(monkeypatch, counting)
    await backend.volumes().create(config_for(kind, "probe"))
    steps = len(counting.calls)
    assert "catalog write" in counting.calls and "mkdir" in counting.calls, counting.calls
    outcomes: dict[str, int] = {}
    for step in range(1, steps + 1):
        name = f"v{step}"
        plan = FaultPlan(fail_at=step)
        install_faults(monkeypatch, plan)
        try:
            await backend.volumes().create(config_for(kind, name))
        except BackendError as exc:
            assert "injected" in str(exc), exc
        state = volume_state(home, name)
        assert state in ("absent", "present"), f"step {step} ({plan.calls[-1]}): {state}"
        outcomes[state] = outcomes.get(state, 0) + 1
        install_faults(monkeypatch, FaultPlan())
        if state == "absent":  # nothing blocks a retry
            await backend.volumes().create(config_for(kind, name))
        assert volume_state(home, name) == "present"
    assert outcomes == {"absent": steps}, outcomes  # every step comes before the commit
    await assert_catalog_takes_writes(backend, "after-faults")


async def test_remove_failing_at_each_os_step_leaves_nothing_or_everything(
    backend: LocalBackend, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await backend.volumes().create(VolumeConfig("probe"))
    await backend.volumes().fs_write("probe", "data/file.txt", b"keep me")
    counting = FaultPlan()
    install_faults(monkeypatch, counting)
    await backend.volumes().remove("probe")
    steps = len(counting.calls)
    assert "catalog write" in counting.calls and "rename" in counting.calls, counting.calls
    for step in range(1, steps + 1):
        name = f"r{step}"
        install_faults(monkeypatch, FaultPlan())
        await backend.volumes().create(VolumeConfig(name))
        await backend.volumes().fs_write(name, "data/file.txt", b"keep me")
        plan = FaultPlan(fail_at=step)
        install_faults(monkeypatch, plan)
        try:
            await backend.volumes().remove(name)
        except BackendError as exc:
            assert "injected" in str(exc), exc
        state = volume_state(home, name)
        assert state in ("absent", "present"), f"step {step} ({plan.calls[-1]}): {state}"
        if state == "present":  # refused before anything changed: the content is intact
            assert (home / "volumes" / name / "data" / "file.txt").read_bytes() == b"keep me"
            install_faults(monkeypatch, FaultPlan())
            await backend.volumes().remove(name)
        assert volume_state(home, name) == "absent"
    await assert_catalog_takes_writes(backend, "after-faults")


class FailingCommit(sqlite3.Connection):
    """A connection whose COMMIT fails (as on a full disk), once armed."""

    armed = False

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if FailingCommit.armed and sql.strip().upper() == "COMMIT":
            FailingCommit.armed = False
            raise sqlite3.OperationalError("database or disk is full")
        return super().execute(sql, *args)


async def test_a_failed_commit_rolls_back_and_releases_the_write_lock(
    backend: LocalBackend, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_connect = sqlite3.connect

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        return real_connect(*args, factory=FailingCommit, **kwargs)

    monkeypatch.setattr("backend.db.sync_writer.sqlite3.connect", connect)
    await backend.volumes().create(VolumeConfig("before"))
    FailingCommit.armed = True
    with pytest.raises(BackendError, match="disk is full"):
        await backend.volumes().create(VolumeConfig("v"))
    assert volume_state(home, "v") == "absent"
    FailingCommit.armed = True
    with pytest.raises(BackendError, match="disk is full"):
        await backend.volumes().remove("before")
    assert volume_state(home, "before") == "present"
    # The failed transaction was rolled back: another process can write at once, and so can we.
    await assert_catalog_takes_writes(backend, "after")


REAL_ATTEMPT = sync_writer.RowWriter._attempt


def pause_inside_the_write(monkeypatch: pytest.MonkeyPatch) -> tuple[threading.Event, threading.Event]:
    """Make the next catalog write stop inside its thread (after BEGIN, before the statement) until
    released: the moment a cancellation (a quit, a newer worker) can land while a write is underway."""
    inside, release = threading.Event(), threading.Event()
    real_attempt = sync_writer.RowWriter._attempt

    def attempt(self: sync_writer.RowWriter, work: Callable[[sqlite3.Connection], Any]) -> Any:
        def paused(conn: sqlite3.Connection) -> Any:
            inside.set()
            assert release.wait(10)
            return work(conn)

        return real_attempt(self, paused)

    monkeypatch.setattr(sync_writer.RowWriter, "_attempt", attempt)
    return inside, release


async def cancel_mid_write(operation: Any, inside: threading.Event, release: threading.Event) -> None:
    task = asyncio.ensure_future(operation)
    assert await asyncio.to_thread(inside.wait, 10)
    task.cancel()
    for _ in range(5):  # let the cancellation reach the awaiting code before the write goes on
        await asyncio.sleep(0.01)
    release.set()
    try:
        await task
    except (asyncio.CancelledError, BackendError):
        pass


async def settled_state(home: Path, name: str) -> str:
    """The volume's state once clean-up threads the cancelled operation left running have finished."""
    for _ in range(500):
        state = volume_state(home, name)
        if state in ("absent", "present"):
            return state
        await asyncio.sleep(0.01)
    return state


async def test_create_cancelled_while_its_row_is_written_is_whole(
    backend: LocalBackend, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inside, release = pause_inside_the_write(monkeypatch)
    await cancel_mid_write(backend.volumes().create(VolumeConfig("v")), inside, release)
    assert await settled_state(home, "v") in ("absent", "present")
    monkeypatch.setattr(sync_writer.RowWriter, "_attempt", REAL_ATTEMPT)
    await assert_catalog_takes_writes(backend, "after")


async def test_remove_cancelled_while_its_row_is_deleted_is_whole(
    backend: LocalBackend, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await backend.volumes().create(VolumeConfig("v"))
    inside, release = pause_inside_the_write(monkeypatch)
    await cancel_mid_write(backend.volumes().remove("v"), inside, release)
    assert await settled_state(home, "v") in ("absent", "present")
    monkeypatch.setattr(sync_writer.RowWriter, "_attempt", REAL_ATTEMPT)
    await assert_catalog_takes_writes(backend, "after")


async def test_sandbox_remove_cancelled_while_it_commits_is_whole(
    backend: LocalBackend, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The async catalog path: the driver thread runs a queued COMMIT even when its awaiting task is
    cancelled, so the folder must not be put back by the cancelled caller."""
    import aiosqlite

    db = backend.config.db_path()
    add_sandbox(db, "sb", status="Stopped")
    folder = backend.sandboxes_dir() / "sb"
    (folder / "logs").mkdir(parents=True)
    (folder / "logs" / "exec.log").write_text("line\n")
    inside, release = asyncio.Event(), asyncio.Event()
    real_commit = aiosqlite.Connection.commit

    async def commit(self: aiosqlite.Connection) -> None:
        queued = asyncio.ensure_future(real_commit(self))  # the driver thread will run it regardless
        inside.set()
        await release.wait()
        await queued

    monkeypatch.setattr(aiosqlite.Connection, "commit", commit)
    task = asyncio.ensure_future(backend.sandboxes().remove("sb"))
    await asyncio.wait_for(inside.wait(), 10)
    task.cancel()
    await asyncio.sleep(0.02)
    release.set()
    try:
        await task
    except asyncio.CancelledError:
        pass
    monkeypatch.setattr(aiosqlite.Connection, "commit", real_commit)
    for _ in range(500):  # until a clean-up thread left running by the cancelled call is done
        rows = query_all(db, "SELECT name FROM sandbox WHERE name = 'sb'")
        leftovers = [n for n in os.listdir(backend.sandboxes_dir()) if n.startswith(".sb.")]
        state = (bool(rows), folder.exists(), leftovers)
        if state in ((True, True, []), (False, False, [])):
            break
        await asyncio.sleep(0.01)
    assert state in ((True, True, []), (False, False, [])), f"half state: row, folder, trash = {state}"
    await assert_catalog_takes_writes(backend, "after")
