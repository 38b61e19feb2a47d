"""``remove(name)``: like ``msb rm``, only for sandboxes that are not running; all or nothing."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from backend import LocalBackend, ReadOnlyError
from backend.errors import (
    InvalidSandboxNameError,
    SandboxNotFoundError,
    SandboxNotRemovableError,
    SandboxRemoveError,
    SandboxStillRunningError,
)
from backend.sandboxes.service import Sandboxes
from tests.backend.sandbox_helpers import add_run, add_sandbox, db_file, query_all


@pytest.fixture
def sandboxes(backend: LocalBackend) -> Sandboxes:
    return backend.sandboxes()


@pytest.fixture
def db(backend: LocalBackend) -> Path:
    return db_file(backend)


def make_folder(backend: LocalBackend, name: str) -> Path:
    folder = backend.sandboxes_dir() / name
    (folder / "logs").mkdir(parents=True)
    (folder / "logs" / "exec.log").write_text('{"line": 1}\n')
    (folder / "upper.ext4").write_bytes(b"\0" * 16)
    return folder


def snapshot(db: Path) -> tuple[list[tuple[object, ...]], ...]:
    return tuple(query_all(db, f"SELECT * FROM {table} ORDER BY 1") for table in ("sandbox", "run", "sandbox_rootfs"))


@pytest.mark.parametrize("status", ["Stopped", "Crashed", "Paused", "Created"])
async def test_remove_deletes_row_runs_pin_and_folder(
    sandboxes: Sandboxes, db: Path, backend: LocalBackend, status: str
) -> None:
    sid = add_sandbox(db, "gone", status=status)
    add_run(db, sid, pid=1, exit_code=0, reason="Completed")
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO sandbox_rootfs (sandbox_id, mode) VALUES (?, 'erofs')", (sid,))
    keep = add_sandbox(db, "kept")
    add_run(db, keep, pid=2)
    folder = make_folder(backend, "gone")
    other = make_folder(backend, "kept")
    await sandboxes.remove("gone")
    assert query_all(db, "SELECT name FROM sandbox") == [("kept",)]
    assert query_all(db, "SELECT sandbox_id FROM run") == [(keep,)]
    assert query_all(db, "SELECT count(*) FROM sandbox_rootfs") == [(0,)]
    assert not folder.exists() and other.exists()
    assert sorted(p.name for p in backend.sandboxes_dir().iterdir()) == ["kept"]


async def test_remove_without_a_folder(sandboxes: Sandboxes, db: Path) -> None:
    add_sandbox(db, "nofolder")
    await sandboxes.remove("nofolder")
    assert query_all(db, "SELECT count(*) FROM sandbox") == [(0,)]


@pytest.mark.parametrize("status", ["Running", "Draining"])
async def test_running_and_draining_are_refused_and_nothing_changes(
    sandboxes: Sandboxes, db: Path, backend: LocalBackend, status: str
) -> None:
    add_sandbox(db, "busy", status=status)
    folder = make_folder(backend, "busy")
    before = snapshot(db)
    with pytest.raises(SandboxStillRunningError, match="cannot remove sandbox 'busy': still running"):
        await sandboxes.remove("busy")
    assert snapshot(db) == before and (folder / "logs" / "exec.log").exists()


async def test_unknown_status_is_refused(sandboxes: Sandboxes, db: Path) -> None:
    add_sandbox(db, "odd", status="Hibernating")
    with pytest.raises(SandboxNotRemovableError, match="'Hibernating' is not one microsandbox 0.5 knows"):
        await sandboxes.remove("odd")
    assert query_all(db, "SELECT count(*) FROM sandbox") == [(1,)]


async def test_live_process_is_refused_even_when_stopped(
    sandboxes: Sandboxes, db: Path, backend: LocalBackend
) -> None:
    sid = add_sandbox(db, "leftover", status="Stopped")
    add_run(db, sid, pid=os.getpid(), status="Running")
    folder = make_folder(backend, "leftover")
    with pytest.raises(SandboxNotRemovableError, match=f"process {os.getpid()}"):
        await sandboxes.remove("leftover")
    assert folder.exists() and query_all(db, "SELECT count(*) FROM sandbox") == [(1,)]


async def test_missing_and_bad_names(sandboxes: Sandboxes) -> None:
    with pytest.raises(SandboxNotFoundError, match="sandbox not found: ghost"):
        await sandboxes.remove("ghost")
    for bad in ("", "../x", "a/b", ".x"):
        with pytest.raises(InvalidSandboxNameError):
            await sandboxes.remove(bad)
    with pytest.raises(InvalidSandboxNameError, match="must be text"):
        await sandboxes.remove(3)  # type: ignore[arg-type]


async def test_read_only_backend_refuses(home: Path, backend: LocalBackend) -> None:
    db = db_file(backend)
    add_sandbox(db, "stay")
    folder = make_folder(backend, "stay")
    read_only = LocalBackend.lazy(read_only=True)
    try:
        with pytest.raises(ReadOnlyError, match="cannot remove sandbox stay"):
            await read_only.sandboxes().remove("stay")
    finally:
        await read_only.close()
    assert folder.exists() and query_all(db, "SELECT name FROM sandbox") == [("stay",)]


async def test_folder_that_cannot_be_moved_leaves_everything(
    sandboxes: Sandboxes, db: Path, backend: LocalBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_sandbox(db, "locked")
    folder = make_folder(backend, "locked")
    # Occupy the name the folder would be moved to, so the rename fails (works as root too).
    monkeypatch.setattr("backend.fileio.secrets.token_hex", lambda _n: "fixed")
    blocker = backend.sandboxes_dir() / ".locked.removing-fixed"
    (blocker / "inside").mkdir(parents=True)
    with pytest.raises(SandboxRemoveError, match="could not be moved aside .*nothing was removed"):
        await sandboxes.remove("locked")
    assert folder.exists() and (blocker / "inside").exists()
    assert query_all(db, "SELECT name FROM sandbox") == [("locked",)]


async def test_failed_commit_puts_the_folder_back(
    sandboxes: Sandboxes, db: Path, backend: LocalBackend
) -> None:
    add_sandbox(db, "trigger")
    folder = make_folder(backend, "trigger")
    real_write = (await backend.db()).write

    async def failing_write(action: str, work: object) -> object:
        async def wrapped(conn: object) -> object:
            await work(conn)  # type: ignore[operator]
            raise RuntimeError("disk full at commit")
        return await real_write(action, wrapped)

    database = await backend.db()
    database.write = failing_write  # type: ignore[method-assign,assignment]
    with pytest.raises(RuntimeError, match="disk full"):
        await sandboxes.remove("trigger")
    assert folder.exists() and (folder / "logs" / "exec.log").read_text() == '{"line": 1}\n'
    assert query_all(db, "SELECT name FROM sandbox") == [("trigger",)]
    assert sorted(p.name for p in backend.sandboxes_dir().iterdir()) == ["trigger"]


async def test_folder_left_after_commit_is_reported_with_its_path(
    sandboxes: Sandboxes, db: Path, backend: LocalBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_sandbox(db, "sticky")
    make_folder(backend, "sticky")

    def refuse(path: Path) -> str:
        return f"{path}: Permission denied"

    monkeypatch.setattr("backend.fileio.delete_tree", refuse)
    with pytest.raises(SandboxRemoveError, match=r"removed from the catalog.*delete `.*\.sticky\.removing-"):
        await sandboxes.remove("sticky")
    assert query_all(db, "SELECT count(*) FROM sandbox") == [(0,)]
    assert [p.name.startswith(".sticky.removing-") for p in backend.sandboxes_dir().iterdir()] == [True]
