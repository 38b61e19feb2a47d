"""Sandbox rows written by the published microsandbox==0.5.10 SDK list here as the SDK lists them,
and a sandbox removed here is gone for the SDK too."""

from __future__ import annotations

import importlib.util
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from backend import LocalBackend
from backend.sandboxes.models import SandboxQuery
from backend.sandboxes.parse import MASK
from tests.interop.conftest import SdkRunner

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(
        importlib.util.find_spec("microsandbox") is None,
        reason="`import microsandbox` fails: install the microsandbox==0.5.10 SDK (pip install -e '.[interop]')",
    ),
]


def create_three(sdk: SdkRunner) -> None:
    sdk("sandbox-create", "alpha", "--cpus", "2", "--memory-mib", "1024", "--label", "team=ml", "--label", "gpu")
    sdk("sandbox-create", "beta", "--label", "team=web", "--env", "API_TOKEN=s3cret", "--env", "MODE=dev")
    sdk("sandbox-create", "gamma", "--mount-named", "data:/data:ro", "--label", "team=ml")


def ms(moment: Any) -> float:
    return float(moment.timestamp() * 1000)


async def test_sdk_rows_list_with_the_same_names_statuses_and_resources(home: Path, sdk: SdkRunner) -> None:
    create_three(sdk)
    theirs = sdk("sandbox-list")
    backend = LocalBackend.lazy()
    try:
        sandboxes = backend.sandboxes()
        page = await sandboxes.list(SandboxQuery(), limit=100)
        counts = await sandboxes.counts_by_status()
    finally:
        await backend.close()
    ours = list(page.rows)
    assert [row.name for row in ours] == [s["name"] for s in theirs]  # both created_at DESC
    assert counts == {"Stopped": 3}
    for row, sdk_row in zip(ours, theirs, strict=True):
        config = sdk_row["config"]
        assert row.status.lower() == sdk_row["status"] == "stopped"
        assert row.problems == () and row.status_known
        assert (row.cpus, row.memory_mib) == (config["resources"]["cpus"], config["resources"]["memory_mib"])
        assert dict(row.labels) == config["labels"]
        assert row.image == config["image"]["Bind"] == "/tmp"
        assert abs(ms(row.created_at) - sdk_row["created_at"]) < 1
        assert abs(ms(row.updated_at) - sdk_row["updated_at"]) < 1
    by_name = {row.name: row for row in ours}
    assert (by_name["alpha"].cpus, by_name["alpha"].memory_mib) == (2, 1024)
    assert [(m.kind, m.source, m.guest, m.readonly) for m in by_name["gamma"].mounts] == [
        ("Named", "data", "/data", True)]


@pytest.mark.parametrize("selector", ["team=ml", "gpu", "team=web", "team=nobody"])
async def test_label_filters_agree_with_the_sdk(home: Path, sdk: SdkRunner, selector: str) -> None:
    create_three(sdk)
    theirs = [s["name"] for s in sdk("sandbox-list", "--label", selector)]
    backend = LocalBackend.lazy()
    try:
        page = await backend.sandboxes().list(SandboxQuery.parse(f"label:{selector}"))
    finally:
        await backend.close()
    assert [row.name for row in page.rows] == theirs


async def test_detail_of_an_sdk_row(home: Path, sdk: SdkRunner) -> None:
    create_three(sdk)
    backend = LocalBackend.lazy()
    try:
        detail = await backend.sandboxes().get("beta")
    finally:
        await backend.close()
    assert dict(detail.env) == {"API_TOKEN": MASK, "MODE": "dev"}
    assert "s3cret" not in detail.config_text
    assert detail.sandbox_dir_exists and detail.rootfs.kind == "Bind"


async def test_removed_here_is_gone_for_the_sdk(home: Path, sdk: SdkRunner) -> None:
    create_three(sdk)
    assert (home / "sandboxes" / "beta").is_dir()
    backend = LocalBackend.lazy()
    try:
        await backend.sandboxes().remove("beta")
    finally:
        await backend.close()
    assert not (home / "sandboxes" / "beta").exists()
    assert sorted(s["name"] for s in sdk("sandbox-list")) == ["alpha", "gamma"]
    error = sdk("sandbox-get", "beta", expect_error=True)
    assert "not found" in error["message"].lower()
    with sqlite3.connect(home / "db" / "msb.db") as conn:
        assert conn.execute("SELECT count(*) FROM sandbox WHERE name = 'beta'").fetchone() == (0,)
    # The SDK can make a new sandbox with the freed name.
    assert sdk("sandbox-create", "beta")["row"] is True
