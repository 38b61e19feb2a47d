"""Read-only means read-only, at the backend: every public call, on a live copy of a home.

Every public method of ``Volumes``, ``Sandboxes``, ``VolumeRoot`` and the config save path is listed
here as a read or a write. A method in neither list fails :func:`test_every_public_method_is_classified`,
so a new mutating call cannot slip in without a decision. Every write is then tried on a read-only
backend and must raise ``ReadOnlyError``; every read must work; and afterwards every file under the
home (the catalog with its ``-wal`` and ``-shm`` included) has the same bytes, mode, mtime and ctime.
"""

from __future__ import annotations

import inspect
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from backend import LocalBackend
from backend.config.changes import SavedConfig, save_config_text, undo_save
from backend.errors import ReadOnlyError
from backend.sandboxes.service import Sandboxes
from backend.volumes.fs import VolumeRoot
from backend.volumes.models import VolumeConfig
from backend.volumes.service import Volumes
from tests.reliability.support import assert_unchanged, snapshot
from tests.reliability.sweep import read_everything

READS: dict[type, set[str]] = {
    Volumes: {"child_sizes", "cross_refs", "disk_list", "disk_read", "disk_usage", "fs_exists", "fs_list",
              "fs_read", "fs_read_head_tail", "fs_read_stream", "fs_read_to_string", "fs_stat", "get", "list",
              "open_root", "root", "usage", "owned", "owned_disk_list", "owned_root", "owned_usage", "owned_volume"},
    Sandboxes: {"count", "counts_by_status", "get", "list", "log_files", "read_from", "sandbox_dir", "tail",
                "window"},
    VolumeRoot: {"exists", "iter_chunks", "iter_entries", "link_target", "list", "open_dir_fd", "read_bytes",
                 "read_head_tail", "read_text", "readlink", "stat"},
}
WRITES: dict[type, set[str]] = {
    Volumes: {"create", "remove", "fs_copy", "fs_mkdir", "fs_remove", "fs_remove_dir", "fs_rename", "fs_write",
              "fs_write_stream"},
    Sandboxes: {"remove"},
    VolumeRoot: {"copy_file", "mkdir", "open_write", "remove_file", "remove_tree", "rename", "write_bytes"},
}


def public_methods(cls: type) -> set[str]:
    return {name for name, value in inspect.getmembers(cls) if not name.startswith("_") and callable(value)}


@pytest.mark.parametrize("cls", [Volumes, Sandboxes, VolumeRoot], ids=lambda c: c.__name__)
def test_every_public_method_is_classified(cls: type) -> None:
    unknown = public_methods(cls) - READS[cls] - WRITES[cls]
    assert not unknown, (
        f"{cls.__name__} has new public methods {sorted(unknown)}: add each to READS or WRITES in this file "
        "(a write must pass backend.ensure_writable and is then tried in read-only mode here)"
    )


def write_attempts(backend: LocalBackend) -> dict[str, Callable[[], Awaitable[Any]]]:
    """One call per entry of WRITES, aimed at things that exist, so only the guard can stop it."""
    v, s = backend.volumes(), backend.sandboxes()
    root = v.root("project-data")

    async def stream() -> None:
        async with await v.fs_write_stream("project-data", "new.txt") as out:
            await out.write(b"x")

    async def sync(call: Callable[[], Any]) -> None:
        call()

    saved = SavedConfig(backend.read_config_file(), "{}\n", True)
    return {
        "Volumes.create": lambda: v.create(VolumeConfig("new-volume")),
        "Volumes.remove": lambda: v.remove("scratch"),
        "Volumes.fs_copy": lambda: v.fs_copy("project-data", "README.md", "copy.md"),
        "Volumes.fs_mkdir": lambda: v.fs_mkdir("project-data", "new-folder"),
        "Volumes.fs_remove": lambda: v.fs_remove("project-data", "README.md"),
        "Volumes.fs_remove_dir": lambda: v.fs_remove_dir("project-data", "site"),
        "Volumes.fs_rename": lambda: v.fs_rename("project-data", "README.md", "moved.md"),
        "Volumes.fs_write": lambda: v.fs_write("project-data", "README.md", b"changed"),
        "Volumes.fs_write_stream": stream,
        "Sandboxes.remove": lambda: s.remove("db-migrate"),
        "VolumeRoot.copy_file": lambda: sync(lambda: root.copy_file("README.md", "c.md")),
        "VolumeRoot.mkdir": lambda: sync(lambda: root.mkdir("d")),
        "VolumeRoot.open_write": lambda: sync(lambda: root.open_write("README.md")),
        "VolumeRoot.remove_file": lambda: sync(lambda: root.remove_file("README.md")),
        "VolumeRoot.remove_tree": lambda: sync(lambda: root.remove_tree("site")),
        "VolumeRoot.rename": lambda: sync(lambda: root.rename("README.md", "r.md")),
        "VolumeRoot.write_bytes": lambda: sync(lambda: root.write_bytes("README.md", b"x")),
        "save_config_text": lambda: sync(lambda: save_config_text(backend, "{}\n", expected_fingerprint=None)),
        "undo_save": lambda: sync(lambda: undo_save(backend, saved)),
        "Database.write": lambda: backend.database.write("write", lambda conn: conn.exec_driver_sql("SELECT 1")),
        "Database.write_sync": lambda: backend.database.write_sync("write", lambda conn: None),
    }


async def test_read_only_backend_reads_everything_refuses_every_write_and_changes_nothing(
    live_home: Path,
) -> None:
    before = snapshot(live_home)
    backend = LocalBackend.builder().home(live_home).read_only().build_lazy()
    try:
        reads = (await read_everything(backend)).calls
        attempts = write_attempts(backend)
        assert {f"{cls.__name__}.{name}" for cls, names in WRITES.items() for name in names} <= set(attempts)
        for attempt in attempts.values():
            with pytest.raises(ReadOnlyError, match="cannot .*read-only"):
                await attempt()
            assert_unchanged(live_home, before)  # not even a temp or lock file on the way
    finally:
        await backend.close()
    assert_unchanged(live_home, before)
    print(f"\n[reliability] read-only backend: {reads} read calls, {len(attempts)} writes refused, "
          f"{len(before)} paths unchanged (db, -wal and -shm included)")


async def test_a_newer_microsandbox_home_opens_read_only_and_changes_nothing(live_home: Path) -> None:
    with sqlite3.connect(live_home / "db" / "msb.db") as conn:
        conn.execute("INSERT INTO seaql_migrations VALUES ('m20270301_000001_add_gpu_quota', 1800000000)")
        conn.execute("CREATE TABLE gpu_quota (id integer PRIMARY KEY, sandbox_id integer, slots integer)")
        conn.execute('ALTER TABLE "sandbox" ADD COLUMN "gpu_slots" integer')
        conn.execute('ALTER TABLE "volume" ADD COLUMN "encryption" text')
    conn.close()
    live_copy_dir = live_home.parent / "again"
    from tests.reliability.conftest import live_copy

    home = live_copy(live_home, live_copy_dir)  # with a WAL again, as a live newer microsandbox leaves it
    before = snapshot(home)
    backend = LocalBackend.builder().home(home).build_lazy()  # asked for writable
    try:
        await backend.db()
        assert backend.read_only
        assert "newer" in backend.schema_status.message
        await read_everything(backend)
        for attempt in write_attempts(backend).values():
            with pytest.raises(ReadOnlyError, match="newer microsandbox"):
                await attempt()
    finally:
        await backend.close()
    assert_unchanged(home, before)
