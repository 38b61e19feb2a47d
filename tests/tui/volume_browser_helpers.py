"""Helpers shared by the volume browser's Pilot tests."""

from __future__ import annotations

import asyncio
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from tests.tui.support import settle
from tui.app import MsbApp
from tui.screens.volumes.file_preview import FilePreviewPane
from tui.screens.volumes.folder import FolderBrowser
from tui.screens.volumes.listing import FileRow
from tui.screens.volumes.screen import VolumeBrowserScreen


def browser_screen(app: MsbApp) -> VolumeBrowserScreen:
    """The volume browser (the bottom of the current mode's stack)."""
    screen = app.screen_stack[0]
    assert isinstance(screen, VolumeBrowserScreen)
    return screen


def notifications(app: MsbApp) -> list[str]:
    """Every toast message shown so far."""
    return [n.message for n in app._notifications]


async def loaded(pilot: Pilot[Any]) -> VolumeBrowserScreen:
    """Wait until the list is read and every queued scan has finished."""
    await settle(pilot)
    screen = browser_screen(pilot.app)  # type: ignore[arg-type]
    for _ in range(200):
        if screen.loaded and screen.scans.running is None and not screen.scans.waiting:
            break
        await asyncio.sleep(0.02)
    await settle(pilot)
    return screen


async def previewed(pilot: Pilot[Any]) -> None:
    """Let the preview debounce and its worker finish."""
    await settle(pilot)
    await asyncio.sleep(0.2)
    await settle(pilot)


def shown_names(screen: VolumeBrowserScreen) -> list[str]:
    """Volume names in table order."""
    return [row.name for row in screen.shown]


async def select(pilot: Pilot[Any], name: str) -> None:
    """Put the volume list's cursor on ``name``."""
    screen = browser_screen(pilot.app)  # type: ignore[arg-type]
    screen.table.move_cursor(shown_names(screen).index(name))
    await settle(pilot)


async def open_volume(pilot: Pilot[Any], name: str) -> FolderBrowser:
    """Select ``name`` and press Enter; returns the folder view once its top folder is listed."""
    await select(pilot, name)
    await pilot.press("enter")
    return await listed(pilot)


async def listed(pilot: Pilot[Any]) -> FolderBrowser:
    """Wait until the folder view has listed its current folder."""
    screen = browser_screen(pilot.app)  # type: ignore[arg-type]
    browser = screen.browser
    for _ in range(300):
        await settle(pilot)
        message = browser.table.message or ""
        if browser.listed or (message and not message.startswith("Reading")):
            break
        await asyncio.sleep(0.02)
    await previewed(pilot)
    return browser


def file_names(browser: FolderBrowser) -> list[str]:
    """Entry names in listing order."""
    return [row.name for row in browser.shown]


async def cursor_to(pilot: Pilot[Any], browser: FolderBrowser, name: str) -> FileRow:
    """Put the folder view's cursor on the entry ``name`` and wait for its preview."""
    browser.table.move_cursor(file_names(browser).index(name))
    await previewed(pilot)
    row = browser.current()
    assert row is not None and row.name == name
    return row


async def enter_folder(pilot: Pilot[Any], browser: FolderBrowser, *names: str) -> None:
    """Open the folders ``names`` one after the other with Enter."""
    for name in names:
        await cursor_to(pilot, browser, name)
        await pilot.press("enter")
        await listed(pilot)


def preview_text(browser: FolderBrowser) -> str:
    """The preview's title and body as plain text."""
    from tests.tui.support import static_text

    pane = browser.query_one(FilePreviewPane)
    return static_text(pane.query_one("#preview-title")) + "\n" + static_text(pane.query_one("#preview-body"))


def write_into_image(image: Path, folders: Sequence[str], files: dict[str, bytes]) -> None:
    """Put ``folders`` and ``files`` inside an ext4 image with ``debugfs -w`` (test data only)."""
    from backend.volumes.disk_image import find_tool

    with tempfile.TemporaryDirectory() as tmp:
        commands = [f"mkdir {folder}" for folder in folders]
        for index, (path, data) in enumerate(files.items()):
            source = Path(tmp) / f"f{index}"
            source.write_bytes(data)
            commands.append(f"write {source} {path}")
        # Fixed inode times (the tests' clock), so an AGE column does not depend on when the test ran.
        stamp = "20261128100000"
        commands += [f"set_inode_field {path} mtime {stamp}"
                     for path in ["/", "/lost+found", *folders, *files]]
        script = Path(tmp) / "commands"
        script.write_text("\n".join(commands) + "\n")
        debugfs = find_tool("debugfs", "test data cannot be written")
        subprocess.run([debugfs, "-w", "-f", str(script), str(image)], check=True, capture_output=True)
