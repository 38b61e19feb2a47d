"""Regenerate ``screenshots/*.svg`` (and ``*.png`` when ``rsvg-convert`` exists) from the demo home.

Every picture uses the demo home built for :data:`backend.demo.DEMO_NOW`, with the UI clock fixed at
that instant and the home shown as ``~/.microsandbox``, so the pictures change only when the UI does.
Run ``python -m screenshots`` (or ``python screenshots/generate.py``) from the repository root.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from textual.pilot import Pilot
from textual.widgets import Input, TabbedContent

from backend import LocalBackend
from backend.demo import DEMO_NOW, build_demo_home
from tui import clock
from tui.app import MsbApp

OUT = Path(__file__).resolve().parent
DISPLAY_HOME = "~/.microsandbox"

Steps = Callable[[Pilot[Any]], Awaitable[None]]


@dataclass(frozen=True)
class Shot:
    """One picture: a file stem, a terminal size, the screen to start on and what to do first."""

    name: str
    size: tuple[int, int]
    screen: str = "sandboxes"
    steps: Steps | None = None
    needs: str | None = None


async def settle(pilot: Pilot[Any]) -> None:
    """Let workers and the detail debounce finish."""
    for _ in range(3):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    await asyncio.sleep(0.3)
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def _select(pilot: Pilot[Any], name: str) -> None:
    from tui.screens.sandboxes.table import SandboxTable

    await settle(pilot)
    table = pilot.app.screen.query_one(SandboxTable)
    table.move_cursor([row.name for row in table.loaded_rows()].index(name))
    await settle(pilot)


def _tab(sandbox: str, tab: str) -> Steps:
    async def steps(pilot: Pilot[Any]) -> None:
        await _select(pilot, sandbox)
        pilot.app.screen.query_one(TabbedContent).active = tab
        await settle(pilot)

    return steps


async def _filter(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press("slash")
    pilot.app.screen.query_one("#filter", Input).cursor_blink = False
    await pilot.press(*"status:running,draining label:team=web")
    await settle(pilot)


async def _remove(pilot: Pilot[Any]) -> None:
    await _select(pilot, "etl-nightly")
    await pilot.press("x")
    await settle(pilot)
    pilot.app.screen.query_one(Input).cursor_blink = False


async def _volume_files(pilot: Pilot[Any]) -> None:
    from tests.tui.volume_browser_helpers import cursor_to, enter_folder, open_volume

    await settle(pilot)
    browser = await open_volume(pilot, "project-data")
    await enter_folder(pilot, browser, "api", "uploads", "2026", "11")
    await cursor_to(pilot, browser, "report.csv")
    await settle(pilot)


def copy_home(template: Path, target: Path) -> None:
    """Copy the demo home keeping sparse files sparse (disk.raw must not look fully allocated)."""
    subprocess.run(["cp", "-a", "--sparse=always", str(template), str(target)], check=True)


async def _help(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press("question_mark")
    await settle(pilot)


SHOTS: tuple[Shot, ...] = (
    Shot("sandboxes-80x24", (80, 24)),
    Shot("sandboxes-120x40", (120, 40)),
    Shot("sandbox-config-120x40", (120, 40), steps=_tab("api-server", "tab-config")),
    Shot("sandbox-logs-120x40", (120, 40), steps=_tab("web-frontend", "tab-logs")),
    Shot("sandbox-runs-120x40", (120, 40), steps=_tab("etl-nightly", "tab-runs")),
    Shot("sandboxes-filter-80x24", (80, 24), steps=_filter),
    Shot("sandbox-remove-80x24", (80, 24), steps=_remove),
    Shot("sandboxes-help-80x24", (80, 24), steps=_help),
    Shot("volumes-80x24", (80, 24), screen="volumes", needs="tui.screens.volumes.screen"),
    Shot("volumes-120x40", (120, 40), screen="volumes", needs="tui.screens.volumes.screen"),
    Shot("volume-files-80x24", (80, 24), screen="volumes", steps=_volume_files),
    Shot("volume-files-120x40", (120, 40), screen="volumes", steps=_volume_files),
    Shot("config-80x24", (80, 24), screen="config", needs="tui.screens.config.screen"),
    Shot("config-120x40", (120, 40), screen="config", needs="tui.screens.config.screen"),
)


async def take(shot: Shot, template: Path, workdir: Path) -> Path:
    """Run the app headless on a fresh copy of the demo home and save ``<name>.svg``."""
    # A relative ".microsandbox" inside a per-shot folder: every path on screen reads like a real home.
    folder = workdir / shot.name
    folder.mkdir()
    copy_home(template, folder / ".microsandbox")
    os.chdir(folder)
    home = Path(".microsandbox")
    backend = LocalBackend.builder().home(home).config_file(home / "config.json").build_lazy()
    app = MsbApp(backend, initial_screen=shot.screen, display_home=DISPLAY_HOME)
    async with app.run_test(size=shot.size) as pilot:
        await settle(pilot)
        if shot.steps is not None:
            await shot.steps(pilot)
        await settle(pilot)
        app.title = "msb-tui"
        path = Path(app.save_screenshot(filename=f"{shot.name}.svg", path=str(OUT)))
    return path


def to_png(svg: Path) -> Path | None:
    """Convert with ``rsvg-convert`` (Debian: librsvg2-bin) when it is installed."""
    tool = shutil.which("rsvg-convert")
    if tool is None:
        return None
    png = svg.with_suffix(".png")
    subprocess.run([tool, str(svg), "-o", str(png)], check=True)
    return png


async def generate(only: str | None) -> int:
    """Take every shot (or those whose name contains ``only``); returns how many were skipped."""
    clock.now = lambda: DEMO_NOW
    os.environ["MSB_TUI_REFRESH_SECS"] = "600"
    for name in ("TMUX", "STY", "NO_COLOR", "MSB_CONFIG_PATH"):
        os.environ.pop(name, None)
    skipped = 0
    cwd = Path.cwd()
    with tempfile.TemporaryDirectory(prefix="msb-screenshots-") as tmp:
        template = Path(tmp) / "template"
        await build_demo_home(template, now=DEMO_NOW)
        for shot in SHOTS:
            if only and only not in shot.name:
                continue
            if shot.needs and importlib.util.find_spec(shot.needs) is None:
                print(f"skip {shot.name}: {shot.needs} does not exist yet", file=sys.stderr)
                skipped += 1
                continue
            svg = await take(shot, template, Path(tmp))
            os.chdir(cwd)
            png = to_png(svg)
            print(f"wrote {svg.name}" + (f" and {png.name}" if png else " (no rsvg-convert: SVG only)"))
    return skipped


def main(argv: list[str] | None = None) -> int:
    """Command line: ``[--only TEXT]``."""
    parser = argparse.ArgumentParser(prog="python -m screenshots", description=__doc__)
    parser.add_argument("--only", help="only shots whose name contains this text")
    args = parser.parse_args(argv)
    asyncio.run(generate(args.only))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
