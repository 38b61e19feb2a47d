"""Shared pieces for the Pilot and snapshot tests: the fixed clock, the demo home, the app factory."""

from __future__ import annotations

import asyncio
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from backend import LocalBackend
from backend.demo import DEMO_NOW, build_demo_home
from tui.app import MsbApp

#: The instant every test and picture is taken at.
FIXED_NOW = DEMO_NOW
#: What the header shows instead of the temporary folder.
DISPLAY_HOME = "~/.microsandbox"


def fixed_now() -> datetime:
    """The fixed clock (patched over ``tui.clock.now``)."""
    return FIXED_NOW


def pin_ui_environment(monkeypatch: Any) -> None:
    """Ages against one instant, no auto-refresh, no tmux/screen wrapping: what every UI test needs."""
    monkeypatch.setattr("tui.clock.now", fixed_now)
    monkeypatch.setenv("MSB_TUI_REFRESH_SECS", "600")
    monkeypatch.delenv("TMUX", raising=False)
    monkeypatch.delenv("STY", raising=False)


def build_template(folder: Path) -> Path:
    """Build the demo home once into ``folder/home`` (outside any running loop)."""
    home = folder / "home"
    asyncio.run(build_demo_home(home, now=FIXED_NOW))
    return home


def copy_home(template: Path, target: Path) -> Path:
    """A private copy of the demo home, so a test can change it (sparse files stay sparse)."""
    subprocess.run(["cp", "-a", "--sparse=always", str(template), str(target)], check=True)
    return target


def backend_for(home: Path, *, read_only: bool = False) -> LocalBackend:
    """A lazy backend on ``home`` (config at ``home/config.json``), opened later by the app."""
    builder = LocalBackend.builder().home(home).config_file(home / "config.json")
    if read_only:
        builder.read_only()
    return builder.build_lazy()


def make_app(home: Path, *, read_only: bool = False, app_class: type[MsbApp] = MsbApp, **kwargs: Any) -> MsbApp:
    """The app on ``home`` with the fixed display path."""
    return app_class(backend_for(home, read_only=read_only), read_only=read_only,
                     display_home=DISPLAY_HOME, **kwargs)


async def settle(pilot: Pilot[Any], rounds: int = 3) -> None:
    """Let messages, workers and refreshes finish (a few rounds, since results start new work)."""
    for _ in range(rounds):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def static_text(widget: Any) -> str:
    """The plain text of a Static's content (str, Content or any Rich renderable)."""
    from rich.console import Console

    content = widget.content
    if isinstance(content, str):
        return content
    plain = getattr(content, "plain", None)
    if isinstance(plain, str):
        return plain
    console = Console(width=200, record=True, color_system=None)
    with console.capture() as capture:
        console.print(content)
    return capture.get()
