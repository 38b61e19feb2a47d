"""The demo home: deterministic, realistic, and readable by the backend exactly like a real one."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

from backend import LocalBackend
from backend.demo import add_bulk_sandboxes, build_demo_home, demo_sandboxes
from backend.sandboxes.models import KNOWN_STATUSES, TERMINATION_REASONS
from tests.tui.support import FIXED_NOW


def _rows(home: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(home / "db" / "msb.db") as conn:
        sandboxes = conn.execute("SELECT name, config, status, created_at, updated_at, ephemeral FROM sandbox "
                                 "ORDER BY id").fetchall()
        runs = conn.execute("SELECT sandbox_id, pid, status, exit_code, termination_reason, started_at, "
                            "terminated_at FROM run ORDER BY id").fetchall()
        volumes = conn.execute("SELECT name, kind, quota_mib, created_at FROM volume ORDER BY name").fetchall()
    return [*sandboxes, *runs, *volumes]


async def test_two_builds_with_the_same_now_are_identical(tmp_path: Path) -> None:
    await build_demo_home(tmp_path / "a", now=FIXED_NOW)
    await build_demo_home(tmp_path / "b", now=FIXED_NOW)
    assert _rows(tmp_path / "a") == _rows(tmp_path / "b")
    log = Path("sandboxes/api-server/logs/exec.log")
    assert (tmp_path / "a" / log).read_bytes() == (tmp_path / "b" / log).read_bytes()
    assert (tmp_path / "a" / "config.json").read_text() == (tmp_path / "b" / "config.json").read_text()


async def test_demo_covers_every_status_and_termination_reason(demo_template: Path) -> None:
    statuses = {row.status for row in demo_sandboxes()}
    assert set(KNOWN_STATUSES) <= statuses and statuses - set(KNOWN_STATUSES) == {"Hibernating"}
    reasons = {run.reason for row in demo_sandboxes() for run in row.runs if run.reason}
    assert reasons == set(TERMINATION_REASONS)
    with sqlite3.connect(demo_template / "db" / "msb.db") as conn:
        stamp = conn.execute("SELECT created_at FROM sandbox WHERE name = 'api-server'").fetchone()[0]
        labels = conn.execute("SELECT count(*) FROM sandbox_labels").fetchone()[0]
    assert stamp == "2026-11-26 12:00:00.000000417"  # naive UTC, nine digits, as microsandbox writes
    assert labels == 0  # microsandbox 0.5.x never fills sandbox_labels


async def test_demo_home_reads_back_through_the_backend(demo_template: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(demo_template, home)
    backend = LocalBackend.builder().home(home).config_file(home / "config.json").build_lazy()
    try:
        assert backend.config_error is None
        document = json.loads((home / "config.json").read_text())
        assert document["profiles"]["staging"]["backend"] == "cloud" and document["active_profile"] == "local"
        sandboxes = backend.sandboxes()
        counts = await sandboxes.counts_by_status()
        assert sum(counts.values()) == len(demo_sandboxes())
        broken = await sandboxes.get("broken-row")
        assert broken.row.problems and broken.row.image == "-"
        crashed_soon = await sandboxes.get("trainer-gpu")
        assert crashed_soon.row.effective_status == "Crashed"
        files = [f.name for f in await sandboxes.log_files("api-server")]
        assert "exec.log" in files and "exec.log.1" in files
        volumes = {v.name: v for v in await backend.volumes().list()}
        assert {"project-data", "ml-models", "build-cache", "scratch"} <= set(volumes)
        listing = await backend.volumes().fs_list("project-data", "api/uploads/2026/11")
        assert sorted(e.path.rsplit("/", 1)[-1] for e in listing) == ["blob.bin", "report.csv"]
        if shutil.which("mkfs.ext4"):
            assert volumes["pg-disk"].kind == "disk"
    finally:
        await backend.close()


async def test_bulk_rows_are_added_in_batches(home: Path) -> None:
    await add_bulk_sandboxes(home, 12_345, now=FIXED_NOW)
    backend = LocalBackend.lazy()
    try:
        assert await backend.sandboxes().count() == 12_345
        first = await backend.sandboxes().window(None, 0, 1)
        assert first[0].name == "bulk-012345"  # newest first
    finally:
        await backend.close()
