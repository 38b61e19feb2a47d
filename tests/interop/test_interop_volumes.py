"""Volumes round-trip with the published microsandbox==0.5.10 SDK, in both directions."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from backend import LocalBackend
from backend.volumes.models import VolumeConfig, VolumeInfo
from tests.interop.conftest import SdkRunner

pytestmark = pytest.mark.interop


def ms(moment: datetime | None) -> float | None:
    return None if moment is None else moment.timestamp() * 1000


def same_fields(ours: VolumeInfo, sdk: dict[str, object]) -> None:
    assert sdk["name"] == ours.name
    assert sdk["kind"] == ours.kind
    assert sdk["quota_mib"] == ours.quota_mib
    assert sdk["used_bytes"] == ours.used_bytes == 0
    assert sdk["capacity_bytes"] == ours.capacity_bytes
    assert sdk["disk_format"] == ours.disk_format
    assert sdk["disk_fstype"] == ours.disk_fstype
    assert sdk["labels"] == dict(ours.labels)
    created = sdk["created_at"]
    assert isinstance(created, float)
    assert abs(created - (ms(ours.created_at) or 0)) < 1.0


async def test_volumes_made_by_the_sdk_read_the_same_here(home: Path, sdk: SdkRunner) -> None:
    sdk("volume-create", "sdk-dir", "--quota-mib", "256", "--label", "team=ml", "--label", "env=dev")
    sdk("volume-create", "sdk-disk", "--kind", "disk", "--size-mib", "80")
    sdk("volume-write", "sdk-dir", "notes/readme.txt", "written by the sdk")
    listed_by_sdk = sdk("volume-list")
    backend = LocalBackend.lazy()
    try:
        volumes = backend.volumes()
        ours = await volumes.list()
        assert [v.name for v in ours] == [v["name"] for v in listed_by_sdk] == ["sdk-disk", "sdk-dir"]
        for mine, theirs in zip(ours, listed_by_sdk):
            same_fields(mine, theirs)
        dir_info = await volumes.get("sdk-dir")
        with sqlite3.connect(home / "db" / "msb.db") as conn:
            (stored,) = conn.execute("SELECT labels FROM volume WHERE name = 'sdk-dir'").fetchone()
        assert dir_info.labels == tuple(tuple(pair) for pair in json.loads(stored))  # in stored order
        assert sorted(dir_info.labels) == [("env", "dev"), ("team", "ml")]
        assert dir_info.created_at is not None and dir_info.created_at <= datetime.now(UTC)
        assert await volumes.fs_read_to_string("sdk-dir", "notes/readme.txt") == "written by the sdk"
        disk = await volumes.get("sdk-disk")
        assert disk.disk_path is not None and disk.disk_path.stat().st_size == 80 * 1024 * 1024
        assert [e.name for e in await volumes.disk_list("sdk-disk")] == []  # the SDK's formatter: no lost+found
        refs = await volumes.cross_refs()
        assert refs.orphan_folders == ()  # the SDK's .locks folder is not a volume
        await volumes.remove("sdk-dir")
        await volumes.remove("sdk-disk")
    finally:
        await backend.close()
    assert sdk("volume-list") == []
    sdk("volume-create", "sdk-dir")  # nothing was left behind that would block the name
    error = sdk("volume-get", "sdk-disk", expect_error=True)
    assert "volume not found: sdk-disk" in error["message"]


async def test_volumes_made_here_read_the_same_in_the_sdk(home: Path, sdk: SdkRunner) -> None:
    backend = LocalBackend.lazy()
    try:
        volumes = backend.volumes()
        made_dir = await volumes.create(
            VolumeConfig.directory("here-dir", quota_mib=64, labels=[("a", "1"), ("b", "")]))
        made_disk = await volumes.create(VolumeConfig.disk("here-disk", capacity_mib=100, labels={"k": "v"}))
        await volumes.fs_write("here-dir", "data/hello.txt", b"hello from msb-tui")
    finally:
        await backend.close()
    by_name = {v["name"]: v for v in sdk("volume-list")}
    same_fields(made_dir, by_name["here-dir"])
    same_fields(made_disk, by_name["here-disk"])
    assert [v["name"] for v in sdk("volume-list")] == ["here-disk", "here-dir"]
    assert sdk("volume-read", "here-dir", "data/hello.txt")["text"] == "hello from msb-tui"
    (entry,) = sdk("volume-ls", "here-dir", "data")
    assert entry["path"] == "/data/hello.txt" and entry["kind"] == "file" and entry["size"] == 18
    error = sdk("volume-create", "here-dir", expect_error=True)
    assert "volume already exists: here-dir" in error["message"]
    sdk("volume-remove", "here-dir")
    sdk("volume-remove", "here-disk")
    assert not (home / "volumes" / "here-dir").exists()
    assert not (home / "volumes" / "here-disk").exists()
    backend = LocalBackend.lazy()
    try:
        assert await backend.volumes().list() == []
        await backend.volumes().create(VolumeConfig("here-dir"))  # the name is free again
    finally:
        await backend.close()


async def test_sandbox_mounts_made_by_the_sdk_show_in_cross_references(home: Path, sdk: SdkRunner) -> None:
    sdk("volume-create", "shared")
    created = sdk("sandbox-create", "worker", "--mount-named", "shared:/data:ro")
    assert created["row"]
    backend = LocalBackend.lazy()
    try:
        refs = await backend.volumes().cross_refs()
    finally:
        await backend.close()
    shared = refs.for_volume("shared")
    assert shared is not None
    assert [(m.sandbox, m.guest, m.readonly) for m in shared.mounted_by] == [("worker", "/data", True)]
    assert refs.unreadable_sandboxes == ()


async def test_minimum_disk_size_agrees_with_the_sdk(home: Path, sdk: SdkRunner) -> None:
    error = sdk("volume-create", "small", "--kind", "disk", "--size-mib", "66", expect_error=True)
    assert "image size is too small for ext4 formatting" in error["message"]
    sdk("volume-create", "small", "--kind", "disk", "--size-mib", "67")
    backend = LocalBackend.lazy()
    try:
        from backend.errors import DiskTooSmallError

        with pytest.raises(DiskTooSmallError, match="image size is too small for ext4 formatting"):
            await backend.volumes().create(VolumeConfig.disk("small2", capacity_mib=66))
        info = await backend.volumes().create(VolumeConfig.disk("small3", capacity_mib=67))
        assert info.capacity_bytes == 67 * 1024 * 1024
    finally:
        await backend.close()
