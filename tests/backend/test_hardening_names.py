"""Issue 19: names read from the catalog never become paths outside their folder."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

import pytest

from backend import LocalBackend
from backend.errors import UnsafeNameError
from backend.paths import UNSAFE_NAME_PROBLEM
from backend.volumes.models import VolumeConfig

HOSTILE = ["..", "../sandboxes", "a/b", "", ".", "x\x00y", "../config.json"]


def insert_volume(home: Path, name: str, kind: str = "dir") -> None:
    with sqlite3.connect(home / "db" / "msb.db") as conn:
        conn.execute("INSERT INTO volume (name, kind, created_at, updated_at) VALUES (?, ?, "
                     "'2024-01-01 00:00:00', '2024-01-01 00:00:00')", (name, kind))


def fingerprint(root: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in ("db", ".locks")]
        for name in files:
            path = Path(folder, name)
            out[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
        for name in dirs:
            out[str(Path(folder, name).relative_to(root)) + "/"] = ""
    return out


@pytest.fixture
async def hostile(backend: LocalBackend, home: Path) -> LocalBackend:
    await backend.volumes().create(VolumeConfig("vol"))
    (home / "config.json").write_text("{}\n")
    (home / "sandboxes" / "victim").mkdir(parents=True)
    (home / "sandboxes" / "victim" / "keep.txt").write_text("keep")
    for name in HOSTILE:
        insert_volume(home, name)
    return backend


async def test_lists_flag_rows_whose_name_is_not_a_folder_name(hostile: LocalBackend) -> None:
    infos = {info.name: info for info in await hostile.volumes().list()}
    assert set(infos) == {"vol", *HOSTILE}
    assert infos["vol"].problem is None
    for name in HOSTILE:
        assert infos[name].problem == UNSAFE_NAME_PROBLEM
    refs = await hostile.volumes().cross_refs()
    for name in HOSTILE:
        ref = refs.for_volume(name)
        assert ref is not None and not ref.folder_missing


@pytest.mark.parametrize("name", HOSTILE)
async def test_every_file_operation_refuses_an_unsafe_name(hostile: LocalBackend, home: Path, name: str) -> None:
    volumes = hostile.volumes()
    before = fingerprint(home)
    calls = [
        volumes.fs_list(name, ""), volumes.fs_list(name, "victim"), volumes.fs_read(name, "config.json"),
        volumes.fs_write(name, "config.json", b"pwned"), volumes.fs_remove(name, "victim/keep.txt"),
        volumes.fs_remove_dir(name, "victim"), volumes.fs_mkdir(name, "made"), volumes.fs_stat(name, ""),
        volumes.usage(name), volumes.child_sizes(name), volumes.fs_exists(name, "config.json"),
        volumes.fs_read_head_tail(name, "config.json", 10, 10),
    ]
    for call in calls:
        with pytest.raises(UnsafeNameError, match="not a safe folder name"):
            await call
    assert fingerprint(home) == before


async def test_disk_operations_refuse_an_unsafe_name(backend: LocalBackend, home: Path) -> None:
    insert_volume(home, "..", kind="disk")
    with pytest.raises(UnsafeNameError):
        await backend.volumes().disk_usage("..")
    with pytest.raises(UnsafeNameError):
        await backend.volumes().usage("..")


async def test_removing_an_unsafe_row_removes_the_row_and_no_file(hostile: LocalBackend, home: Path) -> None:
    before = fingerprint(home)
    for name in HOSTILE:
        await hostile.volumes().remove(name)
    assert fingerprint(home) == before
    assert [info.name for info in await hostile.volumes().list()] == ["vol"]
