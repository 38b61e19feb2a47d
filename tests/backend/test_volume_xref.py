"""Cross-references: mounts from stored sandbox configs, missing folders, orphan folders."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from backend import LocalBackend
from backend.volumes.models import VolumeConfig


def named(name: str, guest: str, readonly: bool | None = None, legacy: bool = False) -> dict[str, object]:
    mount: dict[str, object] = {"type": "Named", "name": name, "guest": guest}
    if legacy:
        mount["readonly"] = bool(readonly)
    elif readonly is not None:
        mount["options"] = {"readonly": readonly, "noexec": False, "nosuid": False, "nodev": False}
    return mount


def add_sandbox(home: Path, name: str, status: str, config: str) -> None:
    with sqlite3.connect(home / "db" / "msb.db") as conn:
        conn.execute(
            "INSERT INTO sandbox (name, config, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
            (name, config, status, "2026-01-01 00:00:00", "2026-01-01 00:00:00"),
        )


async def test_cross_references(backend: LocalBackend) -> None:
    volumes = backend.volumes()
    for name in ("data", "cache", "gone"):
        await volumes.create(VolumeConfig(name))
    await volumes.create(VolumeConfig.disk("disk", capacity_mib=80))
    os.rmdir(backend.volumes_dir() / "gone")
    os.unlink(backend.volumes_dir() / "disk" / "disk.raw")
    (backend.volumes_dir() / "orphan").mkdir()
    (backend.volumes_dir() / ".half.x1y2").mkdir()
    (backend.volumes_dir() / "stray-file").write_text("not a folder")
    home = backend.home()
    vdir = backend.volumes_dir()
    add_sandbox(home, "web", "Running", json.dumps({"name": "web", "mounts": [
        named("data", "/data", readonly=False), named("cache", "/cache", readonly=True),
        {"type": "Tmpfs", "guest": "/tmp", "size_mib": 64},
        {"type": "Bind", "host": str(vdir / "cache" / "sub"), "guest": "/sub",
         "options": {"readonly": False}},
        named("missing-vol", "/m")]}))
    add_sandbox(home, "old", "Stopped", json.dumps({"mounts": [named("data", "/d2", readonly=True, legacy=True)]}))
    add_sandbox(home, "broken", "Crashed", '{"mounts": [{"type": "Named", "name": "data"')
    add_sandbox(home, "broken-no-mounts", "Crashed", "{not json")
    add_sandbox(home, "odd", "Stopped", json.dumps({"mounts": "nope"}))
    add_sandbox(home, "list", "Stopped", '[{"type": "Bind", "host": "/x"}]')
    add_sandbox(home, "mixed", "Stopped", json.dumps({"mounts": [None, 3, "x", named("data", "/m2", readonly=True)]}))

    refs = await volumes.cross_refs()
    data, cache, gone, disk = (refs.for_volume(n) for n in ("data", "cache", "gone", "disk"))
    assert data is not None and cache is not None and gone is not None and disk is not None
    assert [(m.sandbox, m.guest, m.readonly, m.status) for m in data.mounted_by] == [
        ("mixed", "/m2", True, "Stopped"), ("old", "/d2", True, "Stopped"), ("web", "/data", False, "Running")]
    assert [m.sandbox for m in data.running_writers] == ["web"]
    assert [(m.sandbox, m.readonly, m.via) for m in cache.mounted_by] == [
        ("web", True, "named"), ("web", False, "bind")]
    assert (gone.folder_missing, data.folder_missing) == (True, False)
    assert (disk.folder_missing, disk.image_missing) == (False, True)
    # Dot-folders (microsandbox's `.locks` and `.<name>.XXXXXX` staging) are never orphans.
    assert [(o.name, o.valid_name) for o in refs.orphan_folders] == [("orphan", True)]
    assert [(v, m.sandbox) for v, m in refs.unknown_volume_mounts] == [("missing-vol", "web")]
    assert sorted(refs.unreadable_sandboxes) == ["broken", "list"]
    assert [r.name for r in refs.volumes] == [v.name for v in await volumes.list()]
    assert refs.for_volume("nope") is None
    assert refs.orphan_scan_error is None


async def test_sdk_lock_folder_is_not_an_orphan_and_empty_home_works(backend: LocalBackend) -> None:
    refs = await backend.volumes().cross_refs()
    assert refs.volumes == () and refs.orphan_folders == ()
    await backend.volumes().create(VolumeConfig("v"))
    assert (backend.volumes_dir() / ".locks").is_dir()
    refs = await backend.volumes().cross_refs()
    assert refs.orphan_folders == ()


async def test_an_unlistable_volumes_folder_degrades_only_the_orphan_scan(
    backend: LocalBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    await backend.volumes().create(VolumeConfig("v"))
    add_sandbox(backend.home(), "s", "Stopped", json.dumps({"mounts": [named("v", "/v", readonly=True)]}))

    def refuse(path: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("backend.volumes.xref.os.scandir", refuse)
    refs = await backend.volumes().cross_refs()
    assert refs.orphan_scan_error is not None and "Permission denied" in refs.orphan_scan_error
    v = refs.for_volume("v")
    assert v is not None and [m.sandbox for m in v.mounted_by] == ["s"]
