"""Pilot tests inside a volume: navigation, sizes, previews, hostile names, pager/editor, folders, delete."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from rich.text import Text
from textual.widgets import Button, Input, Static

from tests.tui.support import make_app, settle, static_text
from tests.tui.volume_browser_helpers import (
    cursor_to,
    enter_folder,
    file_names,
    listed,
    loaded,
    notifications,
    open_volume,
    preview_text,
    write_into_image,
)
from tui.modals.confirm import ConfirmModal
from tui.screens.volumes import external
from tui.screens.volumes.modals import NewFolderModal


class Launches:
    """Stands in for the terminal hand-over: records what would run and reads a pager's descriptor."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], bytes | None]] = []

    def __call__(self, app: Any, argv: Sequence[str], *, pass_fds: Sequence[int] = (),
                 input_bytes: bytes | None = None) -> int:
        data = input_bytes
        if pass_fds:
            assert argv[-1] == f"/dev/fd/{pass_fds[0]}"
            data = os.pread(pass_fds[0], 1 << 20, 0)
        self.calls.append((list(argv), data))
        return 0


@pytest.fixture
def launches(monkeypatch: pytest.MonkeyPatch) -> Launches:
    recorder = Launches()
    monkeypatch.setattr(external, "run_suspended", recorder)
    monkeypatch.setenv("PAGER", "mypager -X")
    monkeypatch.setenv("EDITOR", "myeditor --wait")
    monkeypatch.delenv("VISUAL", raising=False)
    return recorder


async def test_navigate_folders_with_breadcrumbs_and_back(demo_home: Path) -> None:
    app = make_app(demo_home, initial_screen="volumes")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await loaded(pilot)
        browser = await open_volume(pilot, "project-data")
        assert screen.view == "browse"
        assert file_names(browser)[0] == "logs"  # the largest first (access.log, ~2 MB)
        assert set(file_names(browser)) == {"logs", "api", "site", "README.md"}
        await enter_folder(pilot, browser, "api", "uploads", "2026", "11")
        assert static_text(browser.query_one("#crumbs")) == "project-data › api › uploads › 2026 › 11"
        assert file_names(browser) == ["blob.bin", "report.csv"]
        await pilot.press("backspace")
        await listed(pilot)
        assert browser.parts == ("api", "uploads", "2026")
        current = browser.current()
        assert current is not None and current.name == "11", "going up selects the folder we came from"
        await pilot.press("left", "h")
        await listed(pilot)
        assert list(browser.parts) == ["api"]
        await pilot.press("escape")
        await settle(pilot)
        assert screen.view == "list"
        selected = screen.selected()
        assert selected is not None and selected.name == "project-data"


async def test_sizes_counts_and_sorting(demo_home: Path) -> None:
    app = make_app(demo_home, initial_screen="volumes")
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await loaded(pilot)
        browser = await open_volume(pilot, "project-data")
        rows = {r.name: r for r in browser.shown}
        assert rows["api"].items == 6  # uploads, 2026, 11, report.csv, blob.bin, settings.json
        assert rows["api"].apparent is not None and rows["api"].apparent > 65_536
        assert rows["README.md"].apparent == 58 and rows["README.md"].items is None
        await enter_folder(pilot, browser, "api", "uploads", "2026", "11")
        blob = next(r for r in browser.shown if r.name == "blob.bin")
        assert blob.apparent == 65_536 and blob.allocated is not None and blob.allocated >= 65_536
        assert browser.table.render_cell(blob, browser.table.columns[6]).plain == "-rw-r--r--"
        await pilot.press("s")  # size on disk -> apparent
        await listed(pilot)
        assert browser.sort_key == "apparent"
        await pilot.press("s")  # -> name
        await listed(pilot)
        assert browser.sort_key == "name" and file_names(browser) == ["blob.bin", "report.csv"]
        await pilot.press("S")
        await listed(pilot)
        assert file_names(browser) == ["report.csv", "blob.bin"]
        await pilot.press("slash")
        await pilot.press(*"rep")
        await listed(pilot)
        assert file_names(browser) == ["report.csv"]
        await pilot.press("escape")
        await listed(pilot)
        assert len(file_names(browser)) == 2


async def test_previews_text_json_binary_and_large_files(demo_home: Path) -> None:
    (demo_home / "volumes" / "project-data" / "compact.json").write_text('{"a":[1,2],"b":{"c":null}}')
    app = make_app(demo_home, initial_screen="volumes")
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        browser = await open_volume(pilot, "project-data")
        await cursor_to(pilot, browser, "compact.json")
        text = preview_text(browser)
        assert "JSON, pretty-printed" in text and '  "a": [\n    1,' in text
        await enter_folder(pilot, browser, "site", "assets")
        await cursor_to(pilot, browser, "app.js")
        body = browser.query_one("#preview-body", Static).content
        assert "text (javascript)" in preview_text(browser) and isinstance(body, Text) and body.spans, \
            "highlighted by its name"
        await cursor_to(pilot, browser, "logo.png")
        assert "binary" in preview_text(browser) and "89 50 4e 47 0d 0a 1a 0a" in preview_text(browser)
        await pilot.press("escape")
        await settle(pilot)
        browser = await open_volume(pilot, "project-data")
        await enter_folder(pilot, browser, "logs")
        await cursor_to(pilot, browser, "access.log")
        text = preview_text(browser)
        assert "first 16.0 KiB and last 4.0 KiB" in text and "bytes in the middle not read" in text
        assert "GET /items/0 200" in text and "GET /items/59999 200" in text
        assert "GET /items/30000 200" not in text


async def test_hostile_names_are_escaped_and_special_files_are_not_opened(demo_home: Path,
                                                                          launches: Launches) -> None:
    scratch = demo_home / "volumes" / "scratch"
    (scratch / "new\nline.txt").write_text("two\nlines\n")
    (scratch / "\x1b[31mred.txt").write_text("\x1b[2Jwipe\x07\n")
    (scratch / os.fsdecode(b"bad-\xff.txt")).write_bytes(b"latin")
    (scratch / "\u202eevil.txt").write_text("bidi\n")
    os.mkfifo(scratch / "a-fifo")
    os.symlink("/etc/passwd", scratch / "escape-link")
    app = make_app(demo_home, initial_screen="volumes")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await loaded(pilot)
        browser = await open_volume(pilot, "scratch")
        name_column = browser.table.columns[0]
        labels = {row.name: browser.table.render_cell(row, name_column).plain for row in browser.shown}
        assert labels["new\nline.txt"] == "new\\nline.txt"
        assert labels["\x1b[31mred.txt"] == "\\x1b[31mred.txt"
        assert labels[os.fsdecode(b"bad-\xff.txt")] == "bad-\\xff.txt"
        assert labels["\u202eevil.txt"] == "\\u202eevil.txt"
        assert labels["a-fifo"] == "a-fifo|" and labels["escape-link"] == "escape-link@"
        screenshot = app.export_screenshot()
        assert "\x1b[31m" not in screenshot and "\\x1b[31mred.txt" in screenshot
        await cursor_to(pilot, browser, "\x1b[31mred.txt")
        assert "␛[2Jwipe␇" in preview_text(browser)
        await cursor_to(pilot, browser, "a-fifo")
        assert "FIFO" in preview_text(browser) and "not opened" in preview_text(browser)
        await pilot.press("v")
        await settle(pilot)
        assert launches.calls == [], "a FIFO is never handed to the pager"
        await cursor_to(pilot, browser, "escape-link")
        assert "→ /etc/passwd" in preview_text(browser)
        await pilot.press("enter")
        await settle(pilot)
        assert browser.parts == () and any("never followed" in m for m in notifications(app))
        await cursor_to(pilot, browser, "new\nline.txt")
        await pilot.press("y")
        assert app.clipboard == "$'" + str(scratch) + "/new\\x0aline.txt'"


async def test_pager_reads_a_safe_descriptor_in_the_same_terminal(demo_home: Path,
                                                                  launches: Launches) -> None:
    app = make_app(demo_home, read_only=True, initial_screen="volumes")
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        browser = await open_volume(pilot, "project-data")
        await cursor_to(pilot, browser, "README.md")
        await pilot.press("v")
        await settle(pilot)
        argv, data = launches.calls[-1]
        assert argv[:2] == ["mypager", "-X"] and argv[2].startswith("/dev/fd/")
        assert data == b"# project-data\n\nShared web content and the API's uploads.\n"
        await pilot.press("enter")  # Enter on a file opens the pager too
        await settle(pilot)
        assert len(launches.calls) == 2


async def test_editor_runs_only_when_writable(demo_home: Path, launches: Launches) -> None:
    app = make_app(demo_home, read_only=True, initial_screen="volumes")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await loaded(pilot)
        browser = await open_volume(pilot, "project-data")
        await cursor_to(pilot, browser, "README.md")
        await pilot.press("e")
        await settle(pilot)
        assert launches.calls == [] and any("read-only" in m.lower() for m in notifications(app))
    app = make_app(demo_home, initial_screen="volumes")
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        browser = await open_volume(pilot, "project-data")
        await cursor_to(pilot, browser, "README.md")
        await pilot.press("e")
        await settle(pilot)
        readme = str(demo_home / "volumes" / "project-data" / "README.md")
        assert launches.calls[-1] == (["myeditor", "--wait", readme], None)


async def test_make_folder_validates_and_creates(demo_home: Path) -> None:
    app = make_app(demo_home, initial_screen="volumes")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        screen = await loaded(pilot)
        browser = await open_volume(pilot, "project-data")
        await enter_folder(pilot, browser, "api")
        await pilot.press("n")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, NewFolderModal)
        box = modal.query_one("#folder-name", Input)
        for bad, message in (("../../x", "outside"), ("uploads", "already exists"), ("/abs", "relative")):
            box.value = bad
            await settle(pilot)
            assert modal.query_one("#create", Button).disabled
            assert message in static_text(modal.query_one("#folder-error")), bad
        box.value = "new/deeper"
        await settle(pilot)
        await pilot.press("enter")
        await listed(pilot)
        assert (demo_home / "volumes" / "project-data" / "api" / "new" / "deeper").is_dir()
        current = browser.current()
        assert current is not None and current.name == "new"
        assert screen.usages["project-data"].stale


async def test_delete_lists_what_goes_and_needs_confirmation(demo_home: Path) -> None:
    site = demo_home / "volumes" / "project-data" / "site"
    app = make_app(demo_home, initial_screen="volumes")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await loaded(pilot)
        browser = await open_volume(pilot, "project-data")
        await cursor_to(pilot, browser, "site")
        await pilot.press("x")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, ConfirmModal) and modal.typed_name == "site"
        text = "\n".join(modal.lines)
        assert "delete the folder /site/ and everything in it: 3 files and 1 folder," in text
        assert "assets/, index.html" in text
        await pilot.press("escape")
        await settle(pilot)
        assert site.is_dir()
        await enter_folder(pilot, browser, "site")
        await cursor_to(pilot, browser, "index.html")
        await pilot.press("x")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, ConfirmModal) and modal.typed_name is None
        assert modal.lines[0] == "• delete the file /site/index.html (52 B)"
        await pilot.click("#confirm")
        await listed(pilot)
        assert not (site / "index.html").exists() and file_names(browser) == ["assets"]
        await pilot.press("backspace")
        await listed(pilot)
        await cursor_to(pilot, browser, "site")
        await pilot.press("x")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, ConfirmModal)
        modal.query_one("#confirm-input", Input).value = "site"
        await settle(pilot)
        await pilot.click("#confirm")
        await listed(pilot)
        assert not site.exists() and "site" not in file_names(browser), notifications(app)


async def test_read_only_refuses_new_folder_and_delete(demo_home: Path) -> None:
    app = make_app(demo_home, read_only=True, initial_screen="volumes")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        screen = await loaded(pilot)
        browser = await open_volume(pilot, "project-data")
        await cursor_to(pilot, browser, "README.md")
        for key in ("n", "x", "delete"):
            await pilot.press(key)
            await settle(pilot)
            assert app.screen is screen, key
        assert len([m for m in notifications(app) if "read-only" in m.lower()]) == 3
        assert (demo_home / "volumes" / "project-data" / "README.md").exists()


def _has_disk_volume(home: Path) -> bool:
    return (home / "volumes" / "pg-disk" / "disk.raw").exists()


async def test_disk_volume_is_browsed_read_only_with_debugfs(demo_home: Path, launches: Launches) -> None:
    from backend.errors import ToolMissingError
    from backend.volumes.disk_image import find_tool

    try:
        find_tool("debugfs", "test")
    except ToolMissingError:
        pytest.skip("debugfs is not installed")
    if not _has_disk_volume(demo_home):
        pytest.skip("the demo home has no disk volume (no mkfs.ext4)")
    version = b"17\n"
    big = b"".join(b"%06d a row of the table\n" % i for i in range(2000))
    write_into_image(demo_home / "volumes" / "pg-disk" / "disk.raw", ["base"],
                     {"PG_VERSION": version, "base/1234": big})
    app = make_app(demo_home, initial_screen="volumes")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await loaded(pilot)
        browser = await open_volume(pilot, "pg-disk")
        assert file_names(browser) == ["base", "lost+found", "PG_VERSION"]
        assert "debugfs -c (read-only)" in static_text(browser.query_one("#scan-line"))
        await cursor_to(pilot, browser, "PG_VERSION")
        assert "whole file" in preview_text(browser) and "17" in preview_text(browser)
        await pilot.press("v")
        await settle(pilot)
        assert launches.calls[-1] == (["mypager", "-X"], version), "piped to the pager's stdin"
        await enter_folder(pilot, browser, "base")
        await cursor_to(pilot, browser, "1234")
        text = preview_text(browser)
        assert "first 16.0 KiB (the end is not read)" in text and "000000 a row" in text
        assert "001999 a row" not in text
        for key in ("n", "x", "e"):
            await pilot.press(key)
            await settle(pilot)
        assert len([m for m in notifications(app) if "read-only here" in m]) == 3


async def test_disk_volume_without_debugfs_says_so(demo_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from backend.errors import ToolMissingError
    from backend.volumes import disk_image

    if not _has_disk_volume(demo_home):
        pytest.skip("the demo home has no disk volume (no mkfs.ext4)")

    def missing(name: str, purpose: str) -> str:
        raise ToolMissingError(f"`{name}` is not installed, so {purpose}; install e2fsprogs")

    monkeypatch.setattr(disk_image, "find_tool", missing)
    app = make_app(demo_home, initial_screen="volumes")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await loaded(pilot)
        assert "debugfs" in (screen.usages["pg-disk"].ext4_error or "")
        browser = await open_volume(pilot, "pg-disk")
        message = browser.table.message or ""
        assert "`debugfs` is not installed" in message and "install e2fsprogs" in message
        assert json.dumps(file_names(browser)) == "[]"
