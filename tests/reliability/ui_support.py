"""Helpers of the reliability suite's Pilot tests: what the terminal shows, and getting somewhere."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Callable
from typing import Any

from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import TabbedContent

from tests.reliability.ui_sweep import settle
from tui.app import MsbApp
from tui.modals.confirm import ConfirmModal
from tui.screens.sandboxes.detail import SandboxDetailPanel
from tui.screens.sandboxes.table import SandboxTable

#: C0 controls (but newline), DEL and C1 controls: none may reach the terminal as text.
RAW_CONTROLS = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def screen_text(app: MsbApp) -> str:
    """The current screen exactly as drawn (every character of every cell, no styles)."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True,
                      color_system="truecolor", record=True, legacy_windows=False, safe_box=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text(styles=False)


def raw_controls(app: MsbApp) -> list[str]:
    """Control characters found in the text cells of the screen (an escape sequence from a file name
    or a log would be one)."""
    return sorted({repr(c) for c in RAW_CONTROLS.findall(screen_text(app))})


async def until(pilot: Pilot[Any], condition: Callable[[], object], timeout: float = 15) -> bool:
    """Let the app run (workers included, without waiting for them) until ``condition()`` holds; False
    after ``timeout`` seconds. For what a loaded machine may take a while to show."""
    for _ in range(int(timeout / 0.05)):
        await pilot.pause(0)
        if condition():
            return True
        await asyncio.sleep(0.05)
    return False


async def goto(pilot: Pilot[Any], mode: str) -> None:
    """Switch to ``mode`` as the number keys do."""
    app: MsbApp = pilot.app  # type: ignore[assignment]
    if app.current_mode != mode:
        await app.run_action(f"goto('{mode}')")
        for _ in range(100):
            await settle(pilot, 1)
            if app.current_mode == mode:
                break
            if isinstance(app.screen, ConfirmModal) and "Discard" in app.screen.confirm_label:
                app.screen.dismiss(True)  # leaving the config editor with edits: drop them
            await asyncio.sleep(0.02)
    assert app.current_mode == mode, (f"still on {app.current_mode} ({app.screen}); workers "
                                      f"{[(w.name, w.state.name) for w in app.workers]}")


async def show_sandbox(pilot: Pilot[Any], name: str, *, logs: bool = False) -> SandboxDetailPanel:
    """Select sandbox ``name`` in the list and wait for its detail (and its log tab)."""
    app: MsbApp = pilot.app  # type: ignore[assignment]
    await goto(pilot, "sandboxes")
    table = app.screen.query_one(SandboxTable)
    for _ in range(100):  # the rows arrive from a worker after the first frame
        names = [row.name for row in table.loaded_rows()]
        if name in names:
            break
        await asyncio.sleep(0.03)
        await settle(pilot, 1)
    table.move_cursor(names.index(name))
    panel = app.screen.query_one(SandboxDetailPanel)
    for _ in range(100):
        await settle(pilot, 1)
        if panel.detail is not None and panel.detail.row.name == name:
            break
        await asyncio.sleep(0.03)
    if logs:
        panel.query_one(TabbedContent).active = "tab-logs"
        await settle(pilot)
    return panel
