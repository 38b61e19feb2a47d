"""Reading a 0.7 home: its config shapes, pending changes, network slot, caller overrides, status rules
and owned volumes, on a catalog built from the vendored 0.7.11 schema (issue 16)."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from backend import LocalBackend
from backend.errors import ReadOnlyError, VolumeFolderMissingError
from backend.profiles import PROFILE_0_7
from backend.profiles.catalog07 import create_catalog_0_7
from backend.sandboxes.models import SandboxQuery
from backend.paths import owned_volume_id
from backend.sandboxes.parse import parse_config
from tests.backend.sandbox_helpers import add_run, dead_pid
from tests.data import DATA

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
WEB0: dict[str, Any] = json.loads((DATA / "sandbox-config-0.7.json").read_text())


def config_of(name: str, **changes: Any) -> dict[str, Any]:
    document = copy.deepcopy(WEB0)
    document["name"] = name
    document.update(changes)
    return document


def add_0_7_sandbox(db: Path, name: str, *, status: str = "Stopped", config: dict[str, Any] | None = None,
                    active: dict[str, Any] | None = None, slot: int | None = None,
                    overrides: bool = True) -> int:
    text = json.dumps(config or config_of(name), separators=(",", ":"))
    caller = json.dumps({"config_digest": list(hashlib.sha256(text.encode()).digest()),
                         "caller_config_overrides": {"spec": {"name": name, "resources": {"cpus": 2}}}})
    with closing(sqlite3.connect(db)) as conn, conn:
        cursor = conn.execute(
            "INSERT INTO sandbox (name, config, status, created_at, updated_at, ephemeral, active_config, "
            "network_slot, caller_config_overrides) VALUES (?, ?, ?, '2026-12-01 10:00:00.000000', "
            "'2026-12-01 10:00:00.000000', 0, ?, ?, ?)",
            (name, text, status, None if active is None else json.dumps(active), slot,
             caller if overrides else None))
        assert cursor.lastrowid is not None
        return cursor.lastrowid


@pytest.fixture
async def home07(home: Path) -> AsyncIterator[LocalBackend]:
    create_catalog_0_7(home / "db" / "msb.db", now=NOW)
    backend = LocalBackend.lazy()
    await backend.db()
    assert backend.profile is PROFILE_0_7
    try:
        yield backend
    finally:
        await backend.close()


def test_the_0_7_shapes_parse_without_problems() -> None:
    parsed = parse_config(json.dumps(WEB0))
    assert parsed.problems == []
    assert parsed.image == "/srv/roots/web" and parsed.image_kind == "Bind"
    assert (parsed.cpus, parsed.memory_mib, parsed.max_cpus, parsed.max_memory_mib) == (2, 512, 2, 512)
    owned = [m for m in parsed.mounts if m.kind == "Owned"]
    assert [(m.guest, m.display, m.source) for m in owned] == [
        ("/odisk", "owned disk (128 MiB)", owned_volume_id("/odisk")),
        ("/scratch", "owned dir (quota 50 MiB)", "scratch_ad861404"),  # as 0.7.11 named it
    ]
    oci = parse_config(json.dumps(config_of("x", image={"Oci": {"reference": "alpine", "root_disk": {
        "kind": "managed", "size_mib": 2048}}})))
    assert oci.problems == [] and oci.image == "alpine"


def test_the_owned_volume_id_is_the_one_0_7_uses() -> None:
    assert owned_volume_id("/scratch") == "scratch_ad861404"
    assert owned_volume_id("/odisk") == "odisk_c738ab33"


async def test_the_detail_shows_pending_changes_slot_and_overrides(home07: LocalBackend) -> None:
    db = home07.config.db_path()
    booted = config_of("web-0", resources={"cpus": 1, "memory_mib": 512, "max_cpus": 2, "max_memory_mib": 512})
    add_0_7_sandbox(db, "web-0", status="Stopped", active=booted, slot=7)
    detail = await home07.sandboxes().get("web-0")
    assert detail.row.problems == () and detail.row.image == "/srv/roots/web"
    assert detail.network_slot == 7
    assert [(c.path, c.active, c.desired) for c in detail.pending_changes] == [("resources.cpus", "1", "2")]
    assert detail.max_cpus == 2 and detail.deployment_profile == "single_tenant"
    assert detail.external_mount_policy == "strict"
    assert detail.rootfs.follow_root_symlinks is False
    overrides = detail.caller_overrides
    assert overrides is not None and overrides.keys == ("name", "resources") and overrides.digest_matches
    assert detail.active_config is not None
    env = dict((e["key"], e["value"]) for e in detail.active_config["env"])
    assert env["API_TOKEN"] == "********"  # the booted config is masked too


async def test_a_stale_override_digest_is_reported(home07: LocalBackend) -> None:
    db = home07.config.db_path()
    add_0_7_sandbox(db, "web-0")
    with closing(sqlite3.connect(db)) as conn, conn:  # someone re-serialised the config
        conn.execute("UPDATE sandbox SET config = config || ' '")
    overrides = (await home07.sandboxes().get("web-0")).caller_overrides
    assert overrides is not None and overrides.digest_matches is False


@pytest.mark.parametrize(("status", "note", "effective"), [
    ("Draining", "would mark it Stopped", "Stopped"),
    ("Running", "would mark it Crashed", "Crashed"),
])
async def test_0_7_status_rules_for_a_dead_runtime(home07: LocalBackend, status: str, note: str,
                                                   effective: str) -> None:
    db = home07.config.db_path()
    sandbox = add_0_7_sandbox(db, "web-0", status=status)
    add_run(db, sandbox, pid=dead_pid(), status="Running")
    (row,) = (await home07.sandboxes().list(SandboxQuery())).rows
    assert row.note is not None and note in row.note and row.effective_status == effective


async def test_an_abandoned_start_would_become_crashed(home07: LocalBackend) -> None:
    add_0_7_sandbox(home07.config.db_path(), "web-0", status="Starting")
    (row,) = (await home07.sandboxes().list(SandboxQuery())).rows
    assert row.effective_status == "Crashed" and row.note is not None and "no run" in row.note


async def test_owned_volumes_are_listed_browsed_measured_and_never_written(home07: LocalBackend) -> None:
    db = home07.config.db_path()
    add_0_7_sandbox(db, "web-0")
    base = home07.sandboxes_dir() / "web-0" / "owned-volumes"
    (base / "scratch_ad861404" / "data" / "notes").mkdir(parents=True)
    (base / "scratch_ad861404" / "data" / "notes" / "a.txt").write_bytes(b"x" * 5000)
    disk = base / "odisk_c738ab33"
    disk.mkdir()
    with open(disk / "disk.raw", "wb") as image:
        image.truncate(128 * 1024 * 1024)
    (disk / ".disk-owner").touch()
    (base / "leftover_00000000" / "data").mkdir(parents=True)
    volumes = home07.volumes()
    owned = await volumes.owned()
    assert [(v.sandbox, v.id, v.kind, v.guest, v.folder_missing) for v in owned] == [
        ("web-0", "odisk_c738ab33", "disk", "/odisk", False),
        ("web-0", "scratch_ad861404", "dir", "/scratch", False),
        ("web-0", "leftover_00000000", "dir", None, False),
    ]
    scratch = owned[1]
    assert scratch.quota_mib == 50 and owned[0].capacity_mib == 128 and owned[2].problems
    root = await volumes.owned_root(scratch)
    assert [e.name for e in root.list("notes")] == ["a.txt"]
    with pytest.raises(ReadOnlyError, match="belong to their sandbox"):
        root.write_bytes("new.txt", b"no")
    usage = await volumes.owned_usage(scratch)
    assert usage.apparent_bytes >= 5000 and usage.complete
    assert (await volumes.owned_usage(owned[0])).apparent_bytes == 128 * 1024 * 1024
    assert await volumes.list() == []  # owned volumes are not rows


async def test_a_symlinked_owned_folder_is_not_followed(home07: LocalBackend, tmp_path: Path) -> None:
    add_0_7_sandbox(home07.config.db_path(), "web-0")
    outside = tmp_path / "outside"
    (outside / "data").mkdir(parents=True)
    base = home07.sandboxes_dir() / "web-0" / "owned-volumes"
    base.mkdir(parents=True)
    (base / "scratch_ad861404").symlink_to(outside)
    scratch = [v for v in await home07.volumes().owned() if v.id == "scratch_ad861404"][0]
    assert scratch.folder_missing
    with pytest.raises(VolumeFolderMissingError):
        await home07.volumes().owned_root(scratch)


async def test_a_0_5_home_has_no_owned_volumes(backend: LocalBackend) -> None:
    assert await backend.volumes().owned() == []
    assert os.path.exists(backend.config.db_path())
