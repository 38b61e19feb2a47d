"""Writes honour the locks microsandbox (0.5.10+) takes: volume name locks, the disk image lock, the
active-mount check, the three sandbox locks; the lifecycle lock counts as alive (issue 14)."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import pytest

from backend import LocalBackend
from backend.sandboxes import remove as sandbox_remove
from backend.volumes import storage as volume_storage
from backend.errors import (
    SandboxLockedError,
    SandboxNotFoundError,
    VolumeBusyError,
    VolumeInUseError,
)
from backend.locks import LockTable, SandboxLockFiles, lock_held, sandbox_lock_key
from backend.sandboxes.models import SandboxQuery
from backend.volumes.models import VolumeConfig
from tests.backend.sandbox_helpers import OPTIONS, add_run, add_sandbox, db_file, dead_pid, make_config
from tests.lockholder import held_elsewhere


def dump(db: Path) -> list[str]:
    with closing(sqlite3.connect(db)) as conn:
        return list(conn.iterdump())


def tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if ".locks" not in p.parts)


def mounting(name: str, volume: str) -> dict[str, object]:
    return make_config(name, mounts=[{"type": "Named", "name": volume, "guest": "/data", "options": dict(OPTIONS)}])


@pytest.fixture
def short_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(volume_storage, "LOCK_WAIT_S", 0.3)
    monkeypatch.setattr(sandbox_remove, "SANDBOX_LOCK_WAIT_S", 0.3)


# -- volumes ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("short_waits")
@pytest.mark.parametrize("operation", ["create", "remove"])
async def test_a_held_volume_name_lock_makes_create_and_remove_wait_then_fail(
        backend: LocalBackend, operation: str) -> None:
    volumes = backend.volumes()
    await volumes.create(VolumeConfig("data"))
    db, root = db_file(backend), backend.volumes_dir()
    name = "data" if operation == "remove" else "fresh"
    before = (dump(db), tree(root))
    with held_elsewhere(root / ".locks" / f"{name}.lock"):
        started = time.monotonic()
        with pytest.raises(VolumeBusyError, match=rf"volume `{name}` is locked by another process .*microsandbox"):
            await (volumes.remove(name) if operation == "remove" else volumes.create(VolumeConfig(name)))
        assert time.monotonic() - started >= 0.3
    assert (dump(db), tree(root)) == before


async def test_create_builds_in_a_staging_folder_and_renames_it_into_place(
        backend: LocalBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    renames: list[tuple[str, str]] = []
    real_rename = os.rename

    def spy(src: str | Path, dst: str | Path) -> None:
        renames.append((Path(src).name, Path(dst).name))
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", spy)
    await backend.volumes().create(VolumeConfig("web"))
    assert len(renames) == 1 and renames[0][1] == "web"
    staged = renames[0][0]
    assert staged.startswith(".web.") and len(staged) == len(".web.") + 6 and staged[5:].isalnum()
    assert sorted(p.name for p in backend.volumes_dir().iterdir()) == [".locks", "web"]


async def test_a_failed_insert_removes_the_new_folder(backend: LocalBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    database = await backend.db()

    async def failing(action: str, work: object) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(database, "write_sync", failing)
    with pytest.raises(sqlite3.OperationalError):
        await backend.volumes().create(VolumeConfig("web"))
    assert sorted(p.name for p in backend.volumes_dir().iterdir()) == [".locks"]


@pytest.mark.skipif(shutil.which("mkfs.ext4", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin") is None, reason="needs e2fsprogs")
async def test_a_disk_volume_attached_by_a_running_sandbox_is_not_removed(backend: LocalBackend) -> None:
    volumes = backend.volumes()
    await volumes.create(VolumeConfig.disk("pg", capacity_mib=67))
    db, root = db_file(backend), backend.volumes_dir()
    before = (dump(db), tree(root))
    with held_elsewhere(root / "pg" / "disk.raw"):  # a VM holds the lock on its image
        with pytest.raises(VolumeInUseError, match='volume "pg" is currently attached by a running sandbox'):
            await volumes.remove("pg")
    assert (dump(db), tree(root)) == before
    await volumes.remove("pg")  # the VM went away
    assert tree(root) == []


@pytest.mark.parametrize("status", ["Running", "Draining", "Paused"])
async def test_an_active_sandbox_with_a_named_mount_blocks_the_removal(backend: LocalBackend, status: str) -> None:
    volumes = backend.volumes()
    await volumes.create(VolumeConfig("data"))
    db, root = db_file(backend), backend.volumes_dir()
    sandbox = add_sandbox(db, "web-0", status=status, config=mounting("web-0", "data"))
    add_run(db, sandbox, pid=os.getpid(), status="Running")  # a live pid
    before = (dump(db), tree(root))
    with pytest.raises(VolumeInUseError, match=f'volume "data" is attached to active sandbox "web-0" \\({status}\\)'):
        await volumes.remove("data")
    assert (dump(db), tree(root)) == before


@pytest.mark.parametrize("status", ["Stopped", "Crashed", "Created"])
async def test_an_inactive_sandbox_does_not_block_the_removal(backend: LocalBackend, status: str) -> None:
    volumes = backend.volumes()
    await volumes.create(VolumeConfig("data"))
    add_sandbox(db_file(backend), "web-0", status=status, config=mounting("web-0", "data"))
    await volumes.remove("data")
    assert not (backend.volumes_dir() / "data").exists()


async def test_an_active_sandbox_whose_config_cannot_be_read_blocks_the_removal(backend: LocalBackend) -> None:
    volumes = backend.volumes()
    await volumes.create(VolumeConfig("data"))
    add_sandbox(db_file(backend), "odd", status="Running", config="{not json")
    add_sandbox(db_file(backend), "deep", status="Stopped", config="[" * 100_000)  # inactive: not read
    with pytest.raises(VolumeInUseError, match='config of running sandbox "odd" cannot be read'):
        await volumes.remove("data")
    assert (backend.volumes_dir() / "data").is_dir()


async def test_a_mount_of_another_volume_does_not_block(backend: LocalBackend) -> None:
    volumes = backend.volumes()
    await volumes.create(VolumeConfig("data"))
    add_sandbox(db_file(backend), "web-0", status="Running", config=mounting("web-0", "other"))
    await volumes.remove("data")


async def test_staging_lock_and_removal_folders_are_not_orphans(backend: LocalBackend) -> None:
    volumes = backend.volumes()
    await volumes.create(VolumeConfig("data"))
    for name in (".data.Ab12Cd", ".data.removing-1234abcd", ".other-tool"):
        (backend.volumes_dir() / name).mkdir()
    refs = await volumes.cross_refs()
    assert refs.orphan_folders == ()


# -- sandboxes --------------------------------------------------------------------------------


def test_the_lock_key_is_the_first_32_hex_digits_of_sha256() -> None:
    # sha256("web-0") = 2f6a2c4a…; the key is its first 16 bytes.
    import hashlib

    assert sandbox_lock_key("web-0") == hashlib.sha256(b"web-0").hexdigest()[:32]
    files = SandboxLockFiles.for_sandbox(Path("/h/run"), "web-0")
    key = sandbox_lock_key("web-0")
    assert files.all() == (Path(f"/h/run/creation-locks/{key}.lock"), Path(f"/h/run/locks/{key}.lock"),
                           Path(f"/h/run/locks/{key}.snapshot-lineage.lock"))


@pytest.mark.usefixtures("short_waits")
@pytest.mark.parametrize("which", ["creation", "lifecycle", "snapshot_lineage"])
async def test_a_held_sandbox_lock_makes_remove_wait_then_refuse(backend: LocalBackend, which: str) -> None:
    db = db_file(backend)
    add_sandbox(db, "web-0", status="Stopped")
    folder = backend.sandboxes_dir() / "web-0"
    (folder / "logs").mkdir(parents=True)
    locks = SandboxLockFiles.for_sandbox(backend.home() / "run", "web-0")
    before = (dump(db), tree(backend.sandboxes_dir()))
    with held_elsewhere(getattr(locks, which)):
        started = time.monotonic()
        with pytest.raises(SandboxLockedError, match="cannot remove sandbox 'web-0': it .* microsandbox process"):
            await backend.sandboxes().remove("web-0")
        assert time.monotonic() - started >= 0.3
    assert (dump(db), tree(backend.sandboxes_dir())) == before
    await backend.sandboxes().remove("web-0")  # released: removal goes on
    assert not folder.exists()
    with pytest.raises(SandboxNotFoundError):
        await backend.sandboxes().remove("web-0")


async def test_removal_takes_all_three_locks_while_it_works(backend: LocalBackend,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    add_sandbox(db_file(backend), "web-0", status="Stopped")
    locks = SandboxLockFiles.for_sandbox(backend.home() / "run", "web-0")
    seen: list[tuple[bool | None, ...]] = []
    database = await backend.db()
    real_write = database.write

    async def spying(action: str, work: object) -> object:
        # Another process's view while the row is deleted: every lock is held (by this process).
        table_held = [lock_held(path) for path in locks.all()]
        import subprocess
        import sys

        probe = ("import fcntl,os,sys\nok=[]\nfor p in sys.argv[1:]:\n fd=os.open(p,os.O_RDONLY)\n try:\n"
                 "  fcntl.flock(fd,fcntl.LOCK_EX|fcntl.LOCK_NB); ok.append('free')\n except OSError: ok.append('held')"
                 "\nprint(','.join(ok))")
        out = subprocess.run([sys.executable, "-c", probe, *map(str, locks.all())], capture_output=True, text=True)
        seen.append((*table_held, out.stdout.strip() == "held,held,held"))
        return await real_write(action, work)  # type: ignore[arg-type]

    monkeypatch.setattr(database, "write", spying)
    await backend.sandboxes().remove("web-0")
    assert seen == [(False, False, False, True)]  # our own locks do not count as another's


async def test_a_held_lifecycle_lock_counts_as_alive_in_the_status_note(backend: LocalBackend) -> None:
    db = db_file(backend)
    sandbox = add_sandbox(db, "web-0", status="Running")
    add_run(db, sandbox, pid=dead_pid(), status="Running")
    page = await backend.sandboxes().list(SandboxQuery())
    assert page.rows[0].note is not None and "would mark it Crashed" in page.rows[0].note
    lifecycle = SandboxLockFiles.for_sandbox(backend.home() / "run", "web-0").lifecycle
    with held_elsewhere(lifecycle):
        page = await backend.sandboxes().list(SandboxQuery())
        assert page.rows[0].note is None and page.rows[0].effective_status == "Running"
        detail = await backend.sandboxes().get("web-0")
        assert detail.row.note is None


def test_lock_table_reads_other_processes_flocks(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    path.touch()
    assert LockTable.read().held_by_other(path) is False
    with held_elsewhere(path):
        assert LockTable.read().held_by_other(path) is True
        assert lock_held(path) is True
        assert LockTable(None).held_by_other(path) is None  # no /proc/locks: unknown …
        assert lock_held(path, LockTable(None)) is True  # … so a probe tells
    assert lock_held(path, LockTable(None)) is False
    assert lock_held(tmp_path / "missing.lock") is False


async def test_sandbox_lock_files_are_made_in_the_run_folder(backend: LocalBackend) -> None:
    add_sandbox(db_file(backend), "web-0", status="Stopped")
    await backend.sandboxes().remove("web-0")
    locks = SandboxLockFiles.for_sandbox(backend.home() / "run", "web-0")
    assert all(path.is_file() for path in locks.all())  # as msb rm leaves them: lock files are kept


async def test_status_and_config_json_unchanged_by_reads(backend: LocalBackend) -> None:
    db = db_file(backend)
    add_sandbox(db, "web-0", status="Running", config=json.dumps(make_config("web-0")))
    before = dump(db)
    await backend.sandboxes().list(SandboxQuery())
    assert dump(db) == before
