"""A home made by microsandbox==0.7.11 reads here as 0.7 sees it, and what msb-tui writes there 0.7 keeps
using (issue 16). Also the upgrade under a running msb-tui (issue 14)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from backend import LocalBackend
from backend.errors import HomeChangedError, ReadOnlyError, VolumeInUseError
from backend.profiles import PROFILE_0_5, PROFILE_0_7
from backend.sandboxes.models import SandboxQuery
from backend.volumes.models import VolumeConfig
from tests.sdk07_homes import SANDBOXES, VOLUMES

pytestmark = pytest.mark.interop


def dump(db: Path) -> list[str]:
    with closing(sqlite3.connect(db)) as conn:
        return list(conn.iterdump())


async def test_a_0_7_home_lists_here_as_0_7_lists_it(sdk07_home: Path, sdk07: Any) -> None:
    theirs_volumes = {v["name"]: v for v in sdk07("volume-list")}
    theirs_sandboxes = {s["name"]: s for s in sdk07("sandbox-list")}
    backend = LocalBackend.lazy()
    try:
        await backend.db()
        assert backend.profile is PROFILE_0_7 and not backend.read_only
        volumes = await backend.volumes().list()
        assert {v.name for v in volumes} == set(VOLUMES) == set(theirs_volumes)
        for mine in volumes:
            theirs = theirs_volumes[mine.name]
            assert (mine.kind, mine.quota_mib, mine.capacity_bytes) == (
                theirs["kind"], theirs["quota_mib"], theirs["capacity_bytes"])
            assert dict(mine.labels) == theirs["labels"]
        page = await backend.sandboxes().list(SandboxQuery())
        assert {row.name for row in page.rows} == set(SANDBOXES) == set(theirs_sandboxes)
        for row in page.rows:
            assert row.problems == (), (row.name, row.problems)
            assert row.status.lower() == str(theirs_sandboxes[row.name]["status"]).lower()
            assert row.image.endswith(SANDBOXES[row.name].root)  # the Bind object's path
            spec = SANDBOXES[row.name]
            if spec.cpus is not None:
                assert row.cpus == spec.cpus
            assert {m.guest for m in row.mounts if m.kind == "Named"} == {g for _v, g, _ro in spec.named}
            assert {m.guest for m in row.mounts if m.kind == "Owned"} == {g for g, _k, _s in spec.owned}
        owned = await backend.volumes().owned()
        expected = {(s.name, guest, kind) for s in SANDBOXES.values() for guest, kind, _size in s.owned}
        assert {(v.sandbox, v.guest, v.kind) for v in owned} == expected
        assert all(not v.folder_missing and not v.problems for v in owned)
        detail = await backend.sandboxes().get("web-0")
        assert detail.caller_overrides is not None and detail.caller_overrides.digest_matches
        refs = await backend.volumes().cross_refs()
        assert refs.orphan_folders == () and refs.unreadable_sandboxes == ()
    finally:
        await backend.close()


async def test_writes_here_are_seen_by_0_7_and_its_calls_keep_working(sdk07_home: Path, sdk07: Any) -> None:
    backend = LocalBackend.lazy()
    try:
        volumes = backend.volumes()
        await volumes.create(VolumeConfig.directory("made-here", quota_mib=64, labels={"a": "1"}))
        await volumes.create(VolumeConfig.disk("disk-here", capacity_mib=80))
        await volumes.remove("cache")  # mounted only by the stopped web-1
        await backend.sandboxes().remove("worker")
    finally:
        await backend.close()
    listed = {v["name"]: v for v in sdk07("volume-list")}
    assert set(listed) == {"data", "blk", "made-here", "disk-here"}
    assert listed["made-here"]["quota_mib"] == 64 and listed["made-here"]["labels"] == {"a": "1"}
    assert listed["disk-here"]["kind"] == "disk"
    assert {s["name"] for s in sdk07("sandbox-list")} == {"web-0", "web-1"}
    sdk07("volume-create", "cache")  # the removed name is free again for 0.7
    sdk07("volume-remove", "made-here")
    sdk07("sandbox-remove", "web-1")  # its owned volume goes with it
    assert not (sdk07_home / "sandboxes" / "web-1").exists()
    cli = sdk07.cli("volume", "ls", "--format", "json")
    assert cli["exit"] == 0, cli


async def test_a_running_0_7_sandbox_blocks_removing_its_volume(sdk07_home: Path, sdk07: Any) -> None:
    import os

    db = sdk07_home / "db" / "msb.db"
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("UPDATE sandbox SET status = 'Running' WHERE name = 'worker'")
        (sandbox_id,) = conn.execute("SELECT id FROM sandbox WHERE name = 'worker'").fetchone()
        conn.execute("UPDATE run SET status = 'Running', pid = ? WHERE sandbox_id = ?", (os.getpid(), sandbox_id))
    before = dump(db)
    backend = LocalBackend.lazy()
    try:
        with pytest.raises(VolumeInUseError, match='attached to active sandbox "worker"'):
            await backend.volumes().remove("data")
    finally:
        await backend.close()
    assert dump(db) == before
    error = sdk07("volume-remove", "data", expect_error=True)  # 0.7 refuses too
    assert 'active sandbox "worker"' in error["message"]


async def test_an_upgrade_under_a_writable_session_refuses_every_later_write(
        sdk05_home: Path, sdk07: Any) -> None:
    """The issue's case: msb-tui opens a 0.5.10 home writable; 0.7.11 migrates it; every write here
    is then refused with a message, and the catalog is left exactly as 0.7 left it."""
    backend = LocalBackend.lazy()
    try:
        await backend.db()
        assert backend.profile is PROFILE_0_5 and not backend.read_only
        sdk07("volume-list")  # 0.7.11 opens the home: migrations 14-30
        db = sdk05_home / "db" / "msb.db"
        before = dump(db)
        with pytest.raises(HomeChangedError, match="changed after it was opened: 17 migration"):
            await backend.volumes().create(VolumeConfig("after-upgrade"))
        for attempt in (backend.sandboxes().remove(next(iter(SANDBOXES))), backend.volumes().remove("data")):
            with pytest.raises(ReadOnlyError, match="changed after it was opened"):
                await attempt
        assert dump(db) == before
        assert not (sdk05_home / "volumes" / "after-upgrade").exists()
    finally:
        await backend.close()
    backend = LocalBackend.lazy()  # reopened: the 0.7 profile, writable again
    try:
        await backend.db()
        assert backend.profile is PROFILE_0_7 and not backend.read_only
    finally:
        await backend.close()
