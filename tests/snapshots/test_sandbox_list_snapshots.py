"""Snapshots of the shell and the sandbox list at 80x24 and 120x40, on the fixed demo home."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import TabbedContent

from tests.tui.support import make_app, settle
from tui.screens.sandboxes.detail import SandboxDetailPanel
from tui.screens.sandboxes.table import SandboxTable

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


async def _loaded(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await asyncio.sleep(0.3)  # the detail panel loads after a short debounce
    await settle(pilot)


async def _select(pilot: Pilot[Any], name: str) -> None:
    """Select ``name`` and wait until the panel shows its detail (not a fixed delay: CI machines are busy)."""
    await settle(pilot)
    table = pilot.app.screen.query_one(SandboxTable)
    table.move_cursor([row.name for row in table.loaded_rows()].index(name))
    panel = pilot.app.screen.query_one(SandboxDetailPanel)
    for _ in range(200):
        await _loaded(pilot)
        if panel.detail is not None and panel.detail.row.name == name:
            return
    raise AssertionError(f"the detail of {name} never showed")


@pytest.mark.parametrize("size", SIZES)
def test_sandbox_list(snap_compare: Any, demo_home: Path, size: tuple[int, int]) -> None:
    """The list of every demo sandbox, newest first, with the summary and the first row's detail."""
    assert snap_compare(make_app(demo_home), terminal_size=size, run_before=_loaded)


@pytest.mark.parametrize("size", SIZES)
def test_sandbox_detail_config(snap_compare: Any, demo_home: Path, size: tuple[int, int]) -> None:
    """api-server selected, Config tab: its stored JSON, highlighted, secrets masked."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await _select(pilot, "api-server")
        pilot.app.screen.query_one(TabbedContent).active = "tab-config"
        await _loaded(pilot)

    assert snap_compare(make_app(demo_home), terminal_size=size, run_before=run_before)


def test_sandbox_detail_logs(snap_compare: Any, demo_home: Path) -> None:
    """web-frontend selected, Logs tab: exec.log's JSON lines shown as time, source and text."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await _select(pilot, "web-frontend")
        pilot.app.screen.query_one(TabbedContent).active = "tab-logs"
        await _loaded(pilot)

    assert snap_compare(make_app(demo_home), terminal_size=(120, 40), run_before=run_before)


def test_sandbox_detail_runs_of_a_crashed_row(snap_compare: Any, demo_home: Path) -> None:
    """trainer-gpu (running, but its process is gone): the note and the run history."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await _select(pilot, "trainer-gpu")
        pilot.app.screen.query_one(TabbedContent).active = "tab-runs"
        await _loaded(pilot)

    assert snap_compare(make_app(demo_home), terminal_size=(120, 40), run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_filter_and_sort(snap_compare: Any, demo_home: Path, size: tuple[int, int]) -> None:
    """Filter `status:stopped,crashed`, sorted by name: the filter box, the count shown, ▲ on NAME."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("s")
        await pilot.press("slash")
        await pilot.press(*"status:stopped,crashed")
        await _loaded(pilot)

    assert snap_compare(make_app(demo_home), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_remove_confirmation(snap_compare: Any, demo_home: Path, size: tuple[int, int]) -> None:
    """x on etl-nightly: exactly what will be removed, the name to type, Cancel focused."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await _select(pilot, "etl-nightly")
        await pilot.press("x")
        await settle(pilot)
        await settle(pilot)

    assert snap_compare(make_app(demo_home), terminal_size=size, run_before=run_before)


def test_help(snap_compare: Any, demo_home: Path) -> None:
    """? on the sandbox list: its keys and the filter syntax."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await _loaded(pilot)
        await pilot.press("question_mark")
        await settle(pilot)

    assert snap_compare(make_app(demo_home), terminal_size=(80, 24), run_before=run_before)


def test_empty_home(snap_compare: Any, tmp_path: Path) -> None:
    """A home with nothing in it: the empty state says what to do."""
    home = tmp_path / "empty"
    home.mkdir()
    assert snap_compare(make_app(home), terminal_size=(80, 24), run_before=_loaded)


def test_read_only_newer_schema(snap_compare: Any, demo_home: Path) -> None:
    """A catalog from a newer microsandbox: READ-ONLY badge and the schema warning in the header."""
    with sqlite3.connect(demo_home / "db" / "msb.db") as conn:
        conn.execute("INSERT INTO seaql_migrations (version, applied_at) VALUES ('m20270101_000001_future', 0)")
    assert snap_compare(make_app(demo_home), terminal_size=(120, 40), run_before=_loaded)


def test_config_error_in_header(snap_compare: Any, demo_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A config.json that does not parse: the header names the problem; the list still loads.
    (The home is opened by a relative path, so the file named in the message is stable.)"""
    (demo_home / "config.json").write_text('{"sandbox_defaults": {"cpus": "two"}}')
    monkeypatch.chdir(demo_home.parent)
    assert snap_compare(make_app(Path(demo_home.name)), terminal_size=(120, 40), run_before=_loaded)


def test_home_that_cannot_be_opened(snap_compare: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """MSB_HOME is a file: an explicit error state instead of a crash (relative path, so it is stable)."""
    monkeypatch.chdir(tmp_path)
    Path("not-a-home").write_text("a file, not a folder")
    assert snap_compare(make_app(Path("not-a-home")), terminal_size=(80, 24), run_before=_loaded)
