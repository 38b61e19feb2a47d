"""Pilot tests at scale: a folder of 100,000 entries, and cancelling a long scan while using the keys."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import pytest

from backend.volumes import usage_find
from backend.volumes.usage import _Scanner
from backend.volumes.usage_find import _Stream
from backend.volumes.models import VolumeConfig
from tests.tui.support import backend_for, make_app, settle, static_text
from tests.tui.volume_browser_helpers import browser_screen, enter_folder, listed, loaded, open_volume, select

ENTRIES = 100_000
LINKS_PER_FILE = 50_000


async def _make_volume(home: Path, name: str) -> Path:
    backend = backend_for(home)
    try:
        await backend.volumes().create(VolumeConfig.directory(name))
    finally:
        await backend.close()
    return home / "volumes" / name


async def test_a_folder_with_100000_entries_opens_and_scrolls(demo_home: Path) -> None:
    folder = await _make_volume(demo_home, "huge") / "many"
    folder.mkdir()
    # Hard links to two empty files (ext4 allows 65,000 links per file): 100,000 directory entries,
    # made three times faster than as many new files.
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for i in range(ENTRIES - 1):
            source = f"f{i - i % LINKS_PER_FILE:06d}"
            if i % LINKS_PER_FILE == 0:
                os.close(os.open(source, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644, dir_fd=fd))
            else:
                os.link(source, f"f{i:06d}", src_dir_fd=fd, dst_dir_fd=fd)
    finally:
        os.close(fd)
    (folder / f"f{ENTRIES - 1:06d}").write_bytes(b"x" * 5000)  # the largest: first by size
    app = make_app(demo_home, initial_screen="volumes")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await loaded(pilot)
        usage = screen.usages["huge"].usage
        assert usage is not None and usage.complete and usage.files == 3  # a hard-linked file counts once
        browser = await open_volume(pilot, "huge")
        assert [r.name for r in browser.shown] == ["many"]
        await enter_folder(pilot, browser, "many")
        table = browser.table
        assert table.total == ENTRIES and browser.shown[0].name == "f099999"
        assert len(table.loaded_rows()) < 2_000, "only the pages around the viewport are fetched"
        await pilot.press("end")
        await settle(pilot)
        assert table.cursor_row == ENTRIES - 1 and table.selected_row is not None
        await pilot.press("pageup", "pageup", "up")
        await settle(pilot)
        assert table.cursor_row == ENTRIES - 1 - 2 * (table.body_height - 1) - 1
        selected = table.selected_row
        assert selected is not None and selected.name == browser.shown[table.cursor_row].name
        await pilot.press("s", "s")  # size -> apparent -> name: sorted in a worker, the keys stay live
        await listed(pilot)
        assert browser.sort_key == "name" and browser.shown[0].name == "f000000"


@pytest.fixture
def slow_scans(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Make every folder of a scan take 20 ms, as on a slow disk, so a scan can be caught running
    (in either walk: the Python one lists each folder, find's stream has a record per folder)."""
    control: dict[str, Any] = {"delay": 0.02}
    original = _Scanner.list_folder
    original_record = _Stream.record

    def slow(self: _Scanner, frame: Any) -> bool:
        time.sleep(control["delay"])
        return original(self, frame)

    def slow_record(self: _Stream, record: bytes) -> None:
        if record[:1] == b"D" and self.top is None:  # a folder walked (not the root's quick listing)
            time.sleep(control["delay"])
        original_record(self, record)

    monkeypatch.setattr(_Scanner, "list_folder", slow)
    monkeypatch.setattr(_Stream, "record", slow_record)
    monkeypatch.setattr(usage_find, "SLICE", 256)  # cancel checked every few folders: output trickles
    return control


async def _wait_for(predicate: Any, pilot: Any, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await pilot.pause(0.02)


async def test_cancel_keeps_the_partial_scan_and_the_keys_keep_working(demo_home: Path,
                                                                       slow_scans: dict[str, Any]) -> None:
    root = await _make_volume(demo_home, "zzz-slow")
    for i in range(400):
        sub = root / f"d{i:03d}"
        sub.mkdir()
        (sub / "data").write_bytes(b"y" * 100)
    app = make_app(demo_home, initial_screen="volumes")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        screen = browser_screen(app)
        await _wait_for(lambda: screen.scans.running == "zzz-slow"
                        and screen.usages.get("zzz-slow") is not None
                        and screen.usages["zzz-slow"].progress is not None, pilot)
        before = screen.table.cursor_row
        await pilot.press("down")  # the list answers while the scan runs
        assert screen.table.cursor_row == before + 1
        await pilot.press("c")
        await _wait_for(lambda: screen.scans.running is None, pilot)
        state = screen.usages["zzz-slow"]
        assert state.usage is not None and not state.usage.complete and state.partial
        assert 0 < state.usage.files < 400, "what was counted is kept"
        row = next(r for r in screen.rows if r.name == "zzz-slow")
        assert "~" in screen.table.used_cell(row).plain
        await select(pilot, "zzz-slow")
        assert "partial: the scan was cancelled" in static_text(screen.query_one("#volume-detail-body"))
        # Browsing the partial result, then re-running the scan from inside the volume.
        browser = await open_volume(pilot, "zzz-slow")
        assert "partial (scan cancelled)" in static_text(browser.query_one("#scan-line"))
        assert any(r.allocated is None or not r.complete for r in browser.shown), \
            "folders the scan did not reach have no size"
        slow_scans["delay"] = 0.0
        await pilot.press("r")
        await _wait_for(lambda: screen.scans.running is None and not screen.usages["zzz-slow"].scanning,
                        pilot)
        await listed(pilot)
        usage = screen.usages["zzz-slow"].usage
        assert usage is not None and usage.complete and usage.files == 400
        assert all(r.complete and r.allocated is not None for r in browser.shown)


async def test_cancel_inside_a_volume_stops_only_its_scan(demo_home: Path,
                                                          slow_scans: dict[str, Any]) -> None:
    root = await _make_volume(demo_home, "aaa-slow")
    for i in range(300):
        (root / f"d{i:03d}").mkdir()
    app = make_app(demo_home, initial_screen="volumes")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = browser_screen(app)
        await _wait_for(lambda: screen.loaded and screen.scans.running == "aaa-slow", pilot)
        screen.table.move_cursor([r.name for r in screen.shown].index("aaa-slow"))
        await pilot.press("enter")
        await _wait_for(lambda: screen.browser.listed, pilot)
        assert screen.view == "browse" and screen.scans.running == "aaa-slow"
        await asyncio.sleep(0.2)
        await pilot.press("c")
        await _wait_for(lambda: not screen.usages["aaa-slow"].scanning, pilot)
        assert screen.usages["aaa-slow"].partial
        slow_scans["delay"] = 0.0
        await loaded(pilot)
        others = [s for name, s in screen.usages.items() if name != "aaa-slow"]
        assert others and all(s.usage is not None and s.usage.complete for s in others), \
            "the other volumes' scans went on"
