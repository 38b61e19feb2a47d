"""Damaged homes in the app: each damage is explained on the screen it concerns, nothing crashes, no raw
control character reaches the terminal, and no file changes.

The cases are those of :mod:`tests.reliability.badfiles`, grouped so that damages that do not hide each
other share one home (and one app session). The two permission cases need another user, which a Pilot
test inside this process cannot be; the backend test runs them for real.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import RichLog

from backend.sandboxes.service import Sandboxes
from tests.reliability.badfiles import (
    BAD_UTF8,
    CASES,
    HUGE_LINE,
    NO_FOLDER,
    log_two_gigabyte_line,
    log_two_gigabyte_unterminated,
)
from tests.reliability.support import assert_unchanged, copy_home, snapshot
from tests.reliability.ui_support import goto, raw_controls, screen_text, show_sandbox
from tests.reliability.ui_sweep import settle
from tests.tui.support import make_app
from tui.app import MsbApp
from tui.screens.sandboxes import log_tail
from tui.screens.sandboxes.log_tail import LogTail

#: Where each damage must be explained: (screen, sandbox whose logs to show or None, pattern).
SHOWN: dict[str, list[tuple[str, str | None, str]]] = {
    "db-not-sqlite": [("sandboxes", None, r"is not a SQLite database.*Move it"),
                      ("volumes", None, r"is not a SQLite database")],
    "db-truncated": [("sandboxes", None, r"database disk image is malformed"),
                     ("volumes", None, r"database disk image is malformed")],
    # (The header names a config error too, after any catalog error, which these groups also have.)
    "config-invalid-json": [("config", None, r"line 4, column 1: invalid JSON")],
    "config-wrong-types": [("config", None, r"errors? block saving: database\.max_connections")],
    "volume-folder-is-a-file": [("volumes", None, r"scratch dir ✖ missing")],
    "sandbox-folder-missing": [("sandboxes", NO_FOLDER, r"no log files")],
    "log-invalid-utf8": [("sandboxes", BAD_UTF8, r"latin-1 caf\ufffd and a cut \ufffd"),
                         ("sandboxes", BAD_UTF8, r"␛\[31mred␛\[0m ␀ nul")],
    "log-2gb-single-line": [("sandboxes", HUGE_LINE, r"exec\.log \(2,147,483,665 B\)"),
                            ("sandboxes", HUGE_LINE, r"start of line not shown")],
}
GROUPS = [
    ("catalog not SQLite, config not JSON", ["db-not-sqlite", "config-invalid-json"]),
    ("catalog truncated, config of wrong types", ["db-truncated", "config-wrong-types"]),
    ("folders and logs", ["volume-folder-is-a-file", "sandbox-folder-missing", "log-invalid-utf8",
                          "log-2gb-single-line"]),
]
BY_NAME = {case.name: case for case in CASES}


async def look_for(pilot: object, screen: str, sandbox: str | None, pattern: str) -> tuple[bool, str]:
    """Go to ``screen`` (and ``sandbox``'s logs) and wait until ``pattern`` shows, for up to 5 s."""
    app: MsbApp = pilot.app  # type: ignore[attr-defined]
    if sandbox is not None:
        await show_sandbox(pilot, sandbox, logs=True)  # type: ignore[arg-type]
    else:
        await goto(pilot, screen)  # type: ignore[arg-type]
    for _ in range(100):
        text = screen_text(app)
        if re.search(pattern, " ".join(text.split())):  # wrapped lines joined
            return True, text
        await asyncio.sleep(0.05)
        await settle(pilot, 1)  # type: ignore[arg-type]
    return False, text


def test_every_case_is_shown_somewhere() -> None:
    assert set(SHOWN) == {c.name for c in CASES if not c.needs_unprivileged}
    assert sorted(n for _, names in GROUPS for n in names) == sorted(SHOWN)


@pytest.mark.parametrize(("names"), [pytest.param(names, id=title) for title, names in GROUPS])
async def test_damage_is_explained_on_its_screen_and_nothing_changes(
    names: list[str], demo_template: Path, tmp_path: Path
) -> None:
    home = copy_home(demo_template, tmp_path / "home")
    for name in names:
        BY_NAME[name].damage(home)
    before = snapshot(home)
    app = make_app(home)
    missing: list[str] = []
    async with app.run_test(size=(160, 45), notifications=True) as pilot:
        await settle(pilot)
        for name in names:
            for screen, sandbox, pattern in SHOWN[name]:
                found, text = await look_for(pilot, screen, sandbox, pattern)
                if not found:
                    missing.append(f"{name}: {pattern!r} not on the {screen} screen:\n{text}")
                leaked = raw_controls(app)
                assert not leaked, f"{name}: raw control characters on the {screen} screen: {leaked}"
        assert app.is_running and app._exception is None
    assert app._exception is None
    assert not missing, "\n".join(missing)
    assert_unchanged(home, before, files_only=True)


@pytest.mark.parametrize("damage", [log_two_gigabyte_line, log_two_gigabyte_unterminated],
                         ids=["ends-with-newline", "no-newline"])
async def test_a_two_gigabyte_line_shows_its_cut_line_as_soon_as_the_tail_is_read(
    damage: Callable[[Path], None], demo_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = copy_home(demo_template, tmp_path / "home")
    damage(home)
    size = (home / "sandboxes" / HUGE_LINE / "logs" / "exec.log").stat().st_size
    # Follow polls fall due while the tail is still reading (as on a loaded machine or a cold cache).
    monkeypatch.setattr(log_tail, "FOLLOW_INTERVAL", 0.05)
    tails_done: list[str] = []
    follow_offsets: list[int] = []
    real_tail, real_read_from = Sandboxes.tail, Sandboxes.read_from

    async def slow_tail(self: Sandboxes, name: str, file: str, lines: int = 200) -> Any:
        await asyncio.sleep(0.5)
        chunk = await real_tail(self, name, file, lines)
        tails_done.append(name)
        return chunk

    async def spied_read_from(self: Sandboxes, name: str, file: str, offset: int, max_bytes: int = 1 << 20) -> Any:
        if name == HUGE_LINE:
            follow_offsets.append(offset)
        return await real_read_from(self, name, file, offset, max_bytes)

    monkeypatch.setattr(Sandboxes, "tail", slow_tail)
    monkeypatch.setattr(Sandboxes, "read_from", spied_read_from)
    app = make_app(home)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        panel = await show_sandbox(pilot, HUGE_LINE, logs=True)
        tail = panel.query_one(LogTail)
        for _ in range(100):
            if HUGE_LINE in tails_done:
                break
            await asyncio.sleep(0.05)
        assert HUGE_LINE in tails_done
        for _ in range(3):
            await pilot.pause()
        lines = [line.text for line in tail.query_one(RichLog).lines]
        assert len(lines) == 1 and lines[0].startswith("… [start of line not shown] ␀␀␀"), lines[:3]
        assert tail.read_offset == size
        assert all(offset == size for offset in follow_offsets), follow_offsets[:5]
    assert app._exception is None
