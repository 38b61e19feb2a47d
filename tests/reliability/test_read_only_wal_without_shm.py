"""Issue 19: a read-only session leaves a home byte-identical even when its catalog has a ``-wal`` and
no ``-shm`` (a copied or restored home), and still sees what that ``-wal`` holds."""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

import pytest

from backend import LocalBackend
from tests.reliability.support import assert_unchanged, copy_home, snapshot
from tests.reliability.sweep import read_everything


def restored_home(template: Path, tmp_path: Path) -> Path:
    """A copy of ``template`` taken while a writer had uncheckpointed frames, without the ``-shm``."""
    source = copy_home(template, tmp_path / "source")
    (source / "volumes" / "only-in-the-wal").mkdir()
    writer = sqlite3.connect(source / "db" / "msb.db", isolation_level=None)
    try:
        writer.execute("PRAGMA journal_mode=WAL")
        writer.execute("PRAGMA wal_autocheckpoint=0")
        writer.execute("INSERT INTO volume (name, kind, created_at, updated_at) VALUES "
                       "('only-in-the-wal', 'dir', '2031-01-01 00:00:00', '2031-01-01 00:00:00')")
        home = copy_home(source, tmp_path / "home")
    finally:
        writer.close()
    (home / "db" / "msb.db-shm").unlink()
    assert (home / "db" / "msb.db-wal").stat().st_size > 0
    return home


async def test_read_only_reads_a_wal_without_shm_and_changes_nothing(demo_template: Path, tmp_path: Path) -> None:
    home = restored_home(demo_template, tmp_path)
    before = snapshot(home)
    db_mtime = (home / "db").stat().st_mtime_ns
    for _ in range(2):  # a second session finds the same files and makes no copy of its own there
        backend = LocalBackend.builder().home(home).read_only().build_lazy()
        try:
            names = [info.name for info in await backend.volumes().list()]
            assert "only-in-the-wal" in names
            assert (await backend.sandboxes().list()).rows
            await read_everything(backend)
        finally:
            await backend.close()
    assert not (home / "db" / "msb.db-shm").exists()
    assert (home / "db").stat().st_mtime_ns == db_mtime
    assert_unchanged(home, before)


async def test_the_private_copies_are_deleted_when_the_session_closes(
        demo_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = restored_home(demo_template, tmp_path)
    made: list[Path] = []
    real_mkdtemp = tempfile.mkdtemp

    def mkdtemp(prefix: str) -> str:
        folder = real_mkdtemp(prefix=prefix, dir=tmp_path)
        made.append(Path(folder))
        return folder

    monkeypatch.setattr(tempfile, "mkdtemp", mkdtemp)  # the module backend.db.snapshot uses
    backend = LocalBackend.builder().home(home).read_only().build_lazy()
    try:
        await backend.volumes().list()
        await backend.sandboxes().list()
        assert len(made) == 1 and (made[0] / "msb.db").exists()  # one copy for every connection
    finally:
        await backend.close()
    assert not made[0].exists()
