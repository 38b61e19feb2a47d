"""The microsandbox==0.7.11 harness and the vendored 0.7.11 data are right: the venv runs the published
SDK, a fresh 0.7.11 home is the vendored schema and ledger, 0.7.11 migrates 0.5.10 and msb-tui homes to
the same ledger, and the realistic home holds what the feature tests rely on."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from backend import KNOWN_VERSIONS, LocalBackend
from tests.data import DATA
from tests.sdk07 import HOW_TO_GET_IT, VENV_PATH, VENV_VARIABLE, Sdk07, Sdk07Runner, Sdk07Unavailable
from tests.sdk07 import default_venv_path, ensure_venv
from tests.sdk07_homes import (
    SANDBOXES,
    VOLUMES,
    catalog_objects,
    copy_home,
    ledger,
    ledger_07,
    schema_07,
    script_objects,
)

pytestmark = pytest.mark.interop

MIB = 1024 * 1024
#: Columns a fresh 0.7.11 home declares ``integer`` and a 0.5 home (even migrated by 0.7.11) ``bigint``.
BIGINT_TABLES = {("table", name) for name in ("layer", "manifest", "volume", "seaql_migrations")}


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def lock_hash(name: str) -> str:
    return hashlib.sha256(name.encode()).digest()[:16].hex()


# -- the venv ------------------------------------------------------------------------------------------------

def test_driver_runs_the_published_sdk_and_its_bundled_msb_in_their_own_venv(sdk07_env: Sdk07) -> None:
    found = sdk07_env.version()
    assert (found["sdk"], found["msb"]) == ("0.7.11", "msb 0.7.11")
    assert Path(found["python"]).parent == sdk07_env.venv / "bin"
    assert Path(found["msb_path"]).is_relative_to(sdk07_env.venv)
    marker = json.loads((sdk07_env.venv / ".msb-tui-sdk07-ready.json").read_text())
    assert marker["package"] == "microsandbox==0.7.11"


def test_venv_location_comes_from_the_real_environment_not_the_per_test_home(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert not VENV_PATH.is_relative_to(os.environ["HOME"])  # HOME is this test's temp folder
    monkeypatch.delenv(VENV_VARIABLE, raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_venv_path() == tmp_path / ".cache" / "msb-tui" / "sdk-0.7.11-venv"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_venv_path() == tmp_path / "xdg" / "msb-tui" / "sdk-0.7.11-venv"
    monkeypatch.setenv(VENV_VARIABLE, str(tmp_path / "mine"))
    assert default_venv_path() == tmp_path / "mine"


def test_a_folder_that_is_not_a_venv_is_refused_with_how_to_get_one_and_left_alone(tmp_path: Path) -> None:
    folder = tmp_path / "not-a-venv"
    folder.mkdir()
    (folder / "precious.txt").write_text("keep me")
    with pytest.raises(Sdk07Unavailable, match="is not a virtual environment") as caught:
        ensure_venv(folder)
    assert HOW_TO_GET_IT in str(caught.value)
    assert [p.name for p in folder.iterdir()] == ["precious.txt"]


# -- fresh 0.7.11 homes: schema and ledger -------------------------------------------------------------------

def test_a_fresh_home_is_the_vendored_schema_object_by_object(sdk07: Sdk07Runner, home: Path,
                                                              tmp_path: Path) -> None:
    assert sdk07("volume-list") == []
    ours = catalog_objects(home / "db" / "msb.db")
    vendored = script_objects(schema_07(), tmp_path / "vendored.db")
    assert ours == vendored
    assert len(vendored) == 35 and ("table", "sqlite_sequence") in vendored
    assert '"size_bytes" integer' in ours[("table", "volume")]
    assert not any("bigint" in sql for sql in ours.values())  # 0.5 and migrated homes say bigint


def test_a_fresh_home_has_the_vendored_ledger_in_list_order(sdk07: Sdk07Runner, home: Path) -> None:
    sdk07("volume-list")
    expected = ledger_07()
    assert ledger(home / "db" / "msb.db") == expected
    assert len(expected) == 30 and expected[:13] == list(KNOWN_VERSIONS)
    assert expected != sorted(expected)  # list order, not lexical: 0723 before 0719, 0824 before 0818
    assert expected.index("m20260723_000001_snapshot_artifact_transition") == 17
    assert expected.index("m20260719_000001_create_cpu_allocations") == 18
    assert expected.index("m20260824_000001_mount_owner_config") == 23
    assert expected.index("m20260818_000001_sandbox_network_slot") == 24


def test_the_vendored_07_data_ships_as_package_data(tmp_path: Path) -> None:
    """``backend/profiles/`` is package data, so ``--demo`` can build a 0.7 home after a non-editable
    install. setuptools' own file list (``egg_info``'s SOURCES.txt) of a copy of the project must name
    both files: it is what a wheel is built from."""
    pytest.importorskip("setuptools")
    project = Path(__file__).resolve().parents[2]
    copy = tmp_path / "project"
    copy.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(project / name, copy / name)
    for name in ("backend", "tui", "migrations"):
        shutil.copytree(project / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "egg").mkdir()
    built = subprocess.run([sys.executable, "-c", "from setuptools import setup; setup()", "-q", "egg_info",
                            "--egg-base", str(tmp_path / "egg")], cwd=copy, capture_output=True, text=True,
                           timeout=120)
    assert built.returncode == 0, built.stderr
    [sources] = (tmp_path / "egg").glob("*.egg-info/SOURCES.txt")
    listed = sources.read_text().splitlines()
    assert {"backend/profiles/schema-0.7.11.sql", "backend/profiles/ledger-0.7.11.txt"} <= set(listed)
    assert (project / "backend" / "profiles" / "schema-0.7.11.sql").read_text() == schema_07()
    assert (DATA / "schema.sql").is_file() and (DATA / "default-config.json").is_file()


# -- migrations by 0.7.11 ------------------------------------------------------------------------------------

def test_a_0510_home_upgraded_by_0711_has_the_same_ledger_and_keeps_bigint(
        sdk05_home_template: Path, sdk05_upgraded_home: Path, tmp_path: Path) -> None:
    before = copy_home(sdk05_home_template, tmp_path / "before")
    assert ledger(before / "db" / "msb.db") == list(KNOWN_VERSIONS)
    db = sdk05_upgraded_home / "db" / "msb.db"
    assert ledger(db) == ledger_07()
    ours = catalog_objects(db)
    vendored = script_objects(schema_07(), tmp_path / "vendored.db")
    assert ours.keys() == vendored.keys()
    differing = {key for key in vendored if ours[key] != vendored[key]}
    assert differing == BIGINT_TABLES
    for key in differing:
        assert "bigint" in ours[key]
        assert ours[key].replace("bigint", "integer") == vendored[key]


def test_a_0510_home_upgraded_by_0711_has_the_07_row_shapes(sdk05_upgraded_home: Path) -> None:
    db = sdk05_upgraded_home / "db" / "msb.db"
    found = {r[0]: r[1:] for r in rows(db, "SELECT name, config, active_config, network_slot, "
                                           "caller_config_overrides, id FROM sandbox")}
    assert found.keys() == SANDBOXES.keys()
    for name, spec in SANDBOXES.items():
        config_text, active, slot, overrides, row_id = found[name]
        config = json.loads(config_text)
        assert (active, slot, overrides) == (None, None, None)
        assert list(config) == sorted(config)  # migration 15 re-serialized the row: keys sorted
        bind = config["image"]["Bind"]
        assert bind == {"follow_root_symlinks": False, "path": bind["path"]}
        assert Path(bind["path"]).name == spec.root
        assert rows(db, f"SELECT key, value FROM sandbox_labels WHERE sandbox_id = {row_id} ORDER BY rowid") \
            == sorted(spec.labels.items())  # 0.5.10 wrote none; migration 22 rebuilt them
    assert rows(db, "SELECT name, holder_pid FROM maintenance_lease") == [("install_exclusive", None)]
    umask = os.umask(0)
    os.umask(umask)
    lock = (sdk05_upgraded_home / "db" / "msb.db.migration.lock").stat()
    assert stat.S_IMODE(lock.st_mode) == 0o666 & ~umask  # made by 0.5.10; 0.7.11 makes it 0600
    stored = rows(db, "SELECT name, labels FROM volume")
    labels = {name: text and dict(json.loads(text)) for name, text in stored}
    assert labels == {name: spec.labels or None for name, spec in VOLUMES.items()}


async def test_0711_migrates_a_home_made_by_msb_tui_and_keeps_alembic_version(
        home: Path, sdk07: Sdk07Runner, tmp_path: Path) -> None:
    backend = LocalBackend.lazy()
    await backend.db()
    await backend.close()
    db = home / "db" / "msb.db"
    assert ledger(db) == list(KNOWN_VERSIONS)
    alembic = rows(db, "SELECT version_num FROM alembic_version")
    results = sdk07.batch("volume-list", "volume-create after-upgrade --label by=0.7.11", "volume-list")
    assert [v["name"] for v in results[2]["result"]] == ["after-upgrade"]
    assert ledger(db) == ledger_07()
    assert rows(db, "SELECT version_num FROM alembic_version") == alembic  # tolerated, untouched
    ours = catalog_objects(db)
    vendored = script_objects(schema_07(), tmp_path / "vendored.db")
    assert {k: v.replace("bigint", "integer") for k, v in ours.items()} == vendored


# -- the realistic 0.7 home ----------------------------------------------------------------------------------

def test_realistic_home_volumes_are_rows_folders_and_labels(sdk07_home: Path, sdk07: Sdk07Runner) -> None:
    db = sdk07_home / "db" / "msb.db"
    found = {name: (kind, quota, capacity, text and json.loads(text)) for name, kind, quota, capacity, text
             in rows(db, "SELECT name, kind, quota_mib, capacity_bytes, labels FROM volume")}
    assert found.keys() == VOLUMES.keys()
    for name, spec in VOLUMES.items():
        kind, quota, capacity, labels = found[name]
        assert (kind, quota) == (spec.kind, spec.quota_mib)
        assert capacity == (spec.size_mib * MIB if spec.size_mib else None)
        # NULL without labels, else an array of pairs in a Rust HashMap's order: neither sorted nor as given.
        if not spec.labels:
            assert labels is None
        else:
            assert all(isinstance(pair, list) and len(pair) == 2 for pair in labels)
            assert dict(labels) == spec.labels and len(labels) == len(spec.labels)
        assert (sdk07_home / "volumes" / ".locks" / f"{name}.lock").is_file()
        for path, text in spec.files.items():
            assert (sdk07_home / "volumes" / name / path).read_text() == text
    image = sdk07_home / "volumes" / "blk" / "disk.raw"
    assert image.stat().st_size == 128 * MIB and image.stat().st_blocks * 512 < 16 * MIB  # still sparse
    listed = sdk07.cli("volume", "ls", "--format", "json")["json"]
    assert sorted(v["name"] for v in listed) == sorted(VOLUMES)  # owned volumes are not listed


def test_realistic_home_sandbox_rows_configs_and_labels(sdk07_home: Path) -> None:
    db = sdk07_home / "db" / "msb.db"
    found = {r[0]: r[1:] for r in rows(db, "SELECT name, status, config, active_config, network_slot, "
                                           "caller_config_overrides, id FROM sandbox")}
    assert found.keys() == SANDBOXES.keys()
    for name, spec in SANDBOXES.items():
        status, config_text, active, slot, overrides, row_id = found[name]
        config = json.loads(config_text)
        # Without a usable VM (our stub, or a host without KVM) the start fails at build_vm and the row
        # keeps its leased network slot; a run that entered the VM, or migration 25, leaves NULL.
        assert (status, active) == ("Stopped", None) and slot == int(row_id)
        assert set(config["image"]) == {"Bind"}
        bind = config["image"]["Bind"]
        assert bind["follow_root_symlinks"] is False and Path(bind["path"]).name == spec.root
        assert Path(bind["path"]).is_dir() and not Path(bind["path"]).is_relative_to(sdk07_home)
        assert config["labels"] == spec.labels and list(config["labels"]) == sorted(spec.labels)
        assert rows(db, f"SELECT key, value FROM sandbox_labels WHERE sandbox_id = {row_id} ORDER BY rowid") \
            == sorted(spec.labels.items())
        assert config["env"] == [{"key": k, "value": v} for k, v in spec.env.items()]  # as given
        if spec.cpus:
            assert config["resources"]["cpus"] == config["resources"]["max_cpus"] == spec.cpus
        if spec.memory_mib:
            resources = config["resources"]
            assert resources["memory_mib"] == resources["max_memory_mib"] == spec.memory_mib
        mounts = {m["guest"]: m for m in config["mounts"]}
        assert [m["guest"] for m in config["mounts"]] == sorted(mounts)  # stored sorted by guest path
        for volume, guest, readonly in spec.named:
            assert mounts[guest]["type"] == "Named" and mounts[guest]["name"] == volume
            assert mounts[guest]["options"]["readonly"] is readonly
        for guest, kind, size in spec.owned:
            expected = ({"kind": "disk", "capacity_mib": size} if kind == "disk"
                        else {"kind": "directory", "quota_mib": size})
            assert mounts[guest]["type"] == "Owned" and mounts[guest]["storage"] == expected
        for guest, size in spec.tmpfs:
            assert mounts[guest]["type"] == "Tmpfs" and mounts[guest]["size_mib"] == size
        digest = json.loads(overrides)["config_digest"]
        assert bytes(digest) == hashlib.sha256(config_text.encode()).digest()
        runs = rows(db, f"SELECT status, termination_reason FROM run WHERE sandbox_id = {row_id}")
        assert runs == [("Terminated", "Failed")]
        boot_error = json.loads((sdk07_home / "sandboxes" / name / "logs" / "boot-error.json").read_text())
        assert boot_error["stage"] == "build_vm" and "libkrunfw" in boot_error["message"]  # the stub


def test_realistic_home_owned_volumes_live_under_their_sandbox(sdk07_home: Path) -> None:
    for name, spec in SANDBOXES.items():
        owned = sdk07_home / "sandboxes" / name / "owned-volumes"
        folders = sorted(owned.iterdir()) if owned.exists() else []
        assert len(folders) == len(spec.owned)
        for guest, kind, size in spec.owned:
            pattern = re.escape(guest.strip("/")) + r"_[0-9a-f]{8}"
            [folder] = [f for f in folders if re.fullmatch(pattern, f.name)]
            if kind == "dir":
                assert sorted(p.name for p in folder.iterdir()) == ["data"] and (folder / "data").is_dir()
                continue
            assert sorted(p.name for p in folder.iterdir()) == [".disk-owner", "disk.raw"]
            assert (folder / ".disk-owner").stat().st_size == 0
            image = (folder / "disk.raw").stat()
            assert size is not None and image.st_size == size * MIB and image.st_blocks * 512 < 16 * MIB
            record = sdk07_home / "sandboxes" / name / "runtime" / "owned-disks" / folder.name / "disk.json"
            disk = json.loads(record.read_text())
            assert disk["schema"] == "microsandbox.runtime-owned-disk/1" and disk["device_id"] == folder.name
            assert disk["launch_base"] == f"owned-volumes/{folder.name}/disk.raw"
    assert len(rows(sdk07_home / "db" / "msb.db", "SELECT name FROM volume")) == len(VOLUMES)  # no rows


def test_realistic_home_has_the_07_locks_and_leases(sdk07_home: Path) -> None:
    db = sdk07_home / "db" / "msb.db"
    leases = {r[0]: r[1:] for r in rows(db, "SELECT name, holder_pid, lease_expires_at, last_completed_at "
                                            "FROM maintenance_lease")}
    holder, expires, completed = leases["install_exclusive"]
    assert holder is None and expires == completed  # cleared at the end of every 0.7 open
    lock = (sdk07_home / "db" / "msb.db.migration.lock").stat()
    assert stat.S_ISREG(lock.st_mode) and stat.S_IMODE(lock.st_mode) == 0o600
    for name in SANDBOXES:
        assert (sdk07_home / "run" / "locks" / f"{lock_hash(name)}.lock").is_file()
        assert (sdk07_home / "run" / "creation-locks" / f"{lock_hash(name)}.lock").is_file()


# -- the runner on the realistic home ------------------------------------------------------------------------

def test_sdk07_lists_gets_and_filters_the_realistic_home(sdk07_home: Path, sdk07: Sdk07Runner) -> None:
    volumes, sandboxes, ml, page, web0, cli_ls, inspect = (r["result"] for r in sdk07.batch(
        "volume-list", "sandbox-list", "sandbox-list --label team=ml", "sandbox-page --limit 2",
        "sandbox-get web-0", "msb -- ls --format json", "msb -- inspect web-0 --format json"))
    assert sorted(v["name"] for v in volumes) == sorted(VOLUMES)
    assert {v["name"]: v["kind"] for v in volumes} == {n: s.kind for n, s in VOLUMES.items()}
    assert [s["name"] for s in sandboxes] == list(reversed(SANDBOXES))  # created_at DESC
    assert {s["status"] for s in sandboxes} == {"stopped"}
    assert [s["name"] for s in ml] == ["web-0"]
    assert len(page["sandboxes"]) == 2 and page["next_cursor"]
    assert web0["id"].startswith("local:") and web0["config"] == json.loads(web0["config_json"])
    assert web0["storage"]["path"] == str(sdk07_home / "sandboxes" / "web-0")
    assert [s["name"] for s in cli_ls["json"]] == list(reversed(SANDBOXES))
    assert inspect["json"]["active_config"] is None and inspect["json"]["config"] == web0["config"]


def test_copies_are_private_so_tests_can_change_them(sdk07_home: Path, sdk07_home_template: Path,
                                                     sdk07: Sdk07Runner) -> None:
    sdk07.batch("sandbox-remove web-0", "volume-remove cache")
    assert not (sdk07_home / "sandboxes" / "web-0").exists()  # owned volumes go with their sandbox
    assert not (sdk07_home / "volumes" / "cache").exists()
    assert (sdk07_home_template / "sandboxes" / "web-0" / "owned-volumes").is_dir()
    assert (sdk07_home_template / "volumes" / "cache").is_dir()
    assert len(rows(sdk07_home_template / "db" / "msb.db", "SELECT id FROM sandbox")) == len(SANDBOXES)


# -- config check --------------------------------------------------------------------------------------------

CONFIG_CASES = [
    ({}, None),
    ({"sandbox_defaults": {"metrics_sample_interval_ms": None}}, None),
    ({"version": 1, "unknown_key": {"kept": True}}, None),
    ({"version": 2}, "requires an object with version 1"),
    ({"sandbox_defaults": {"cpus": 300}}, "invalid value: integer `300`, expected u8"),
    ({"active_profile": "nope"}, 'active profile "nope" not found'),
    ({"allowed_backends": []}, "allowed_backends must not be empty"),
    ({"sandbox_defaults": {"oci": {"upper_size_mib": 10, "root_disk": {"kind": "managed", "size_mib": 5}}}},
     "mutually exclusive"),
    ({"runtime": {"block_writeback": {"mode": "off", "pool_mib": 3}}}, "unknown field `pool_mib`"),
    ({"profiles": {"c": {"backend": "cloud", "url": "https://x"}}, "active_profile": "c"},
     "requires an 'api_key_ref' field"),
]


def test_config_check_says_what_0711_accepts_and_rejects(sdk07: Sdk07Runner, tmp_path: Path) -> None:
    paths = []
    for index, (document, _) in enumerate(CONFIG_CASES):
        paths.append(tmp_path / f"config-{index}.json")
        paths[-1].write_text(json.dumps(document))
    paths.append(DATA / "default-config.json")  # 0.5's full-default document parses under 0.7.11
    results = [r["result"] for r in sdk07.batch(*(["config-check", str(p)] for p in paths))]
    for (document, rejection), result in zip([*CONFIG_CASES, ({}, None)], results, strict=True):
        assert result["managed_config"] is None, "a /etc/microsandbox/managed.json changes every answer"
        if rejection is None:
            assert (result["accepted"], result["message"]) == (True, None), document
        else:
            assert result["accepted"] is False and rejection in result["message"], (document, result)


def test_config_check_agrees_with_the_sdk_itself(sdk07: Sdk07Runner, home: Path) -> None:
    (home / "config.json").write_text('{"version": 2}')
    check = sdk07.config_check(home / "config.json")
    failure = sdk07("volume-list", expect_error=True)
    assert check["accepted"] is False and "requires an object with version 1" in check["message"]
    assert check["message"] in failure["message"]
    assert not (home / "db").exists()  # 0.7.11 refuses before it opens the catalog
    (home / "config.json").write_text('{"version": 1}')
    assert sdk07.config_check(home / "config.json")["accepted"] is True
    assert sdk07("volume-list") == []
