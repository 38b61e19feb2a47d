"""Read-only means read-only, in the UI: every action of every screen, on a live copy of a home.

The sweep (:mod:`tests.reliability.ui_sweep`) runs each action found on the screens and their widgets
in four contexts (sandbox list, volume list, inside a volume folder, config editor), accepting any
dialog it opens. Afterwards every file under the home is unchanged (bytes, mode, mtime; the catalog's
``-wal`` and ``-shm`` included), no backend write was reached, and every ``@mutating`` action was
refused with a "Read-only" message. :func:`test_the_sweep_catches_an_unguarded_action` shows the
sweep fails an action added without the guard, whether it writes through the backend or around it.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, ClassVar

import pytest
from textual import work
from textual.binding import Binding, BindingType
from textual.pilot import Pilot

from tests.reliability.conftest import live_copy
from tests.reliability.support import diff, snapshot
from tests.reliability.ui_support import goto, screen_text, until
from tests.reliability.ui_sweep import (
    SweepReport,
    install_spies,
    registered_descriptions,
    settle,
    sweep_context,
    watch_guard,
)
from tests.tui.support import make_app
from tests.tui.volume_browser_helpers import listed
from tui.app import MsbApp
from tui.screens.sandboxes.screen import SandboxListScreen
from tui.screens.sandboxes.table import SandboxTable

Prepare = Callable[[], Awaitable[None]]


def contexts(pilot: Pilot[Any]) -> list[tuple[str, Prepare]]:
    """Where the sweep runs every action, each with how to get (back) there."""
    app: MsbApp = pilot.app  # type: ignore[assignment]

    async def sandboxes() -> None:
        await goto(pilot, "sandboxes")
        table = app.screen.query_one(SandboxTable)
        names = [row.name for row in table.loaded_rows()]
        if "db-migrate" in names and table.cursor_row != names.index("db-migrate"):
            table.move_cursor(names.index("db-migrate"))  # a stopped, removable sandbox
            await settle(pilot, 1)

    async def volume_list() -> None:
        await goto(pilot, "volumes")
        screen: Any = app.screen_stack[0]
        if screen.view != "list":
            screen.action_back_to_list()
            await settle(pilot)
        for _ in range(300):  # the catalog read, not the usage scans
            if screen.loaded:
                break
            await settle(pilot, 1)
            await asyncio.sleep(0.02)
        selected = screen.selected()
        if selected is None or selected.name != "scratch":
            screen.table.move_cursor([row.name for row in screen.shown].index("scratch"))
            await settle(pilot)

    async def volume_folder() -> None:
        await goto(pilot, "volumes")
        screen: Any = app.screen_stack[0]
        browser = screen.browser
        if screen.view != "browse" or browser.volume is None or browser.volume.name != "project-data" \
                or browser.parts:
            if screen.view == "browse":
                screen.action_back_to_list()
                await settle(pilot)
            await volume_list()
            screen.table.move_cursor([row.name for row in screen.shown].index("project-data"))
            await settle(pilot)
            screen.open_selected_volume()
            browser = await listed(pilot)
        current = browser.current()
        if current is None or current.name != "README.md":
            browser.table.move_cursor([row.name for row in browser.shown].index("README.md"))
            await settle(pilot, 1)

    async def config_editor() -> None:
        await goto(pilot, "config")

    return [("sandbox list", sandboxes), ("volume list", volume_list), ("volume folder", volume_folder),
            ("config editor", config_editor)]


async def run_sweep(app: MsbApp, home: Path, monkeypatch: pytest.MonkeyPatch) -> SweepReport:
    report, current = SweepReport(), list[str]()
    install_spies(monkeypatch, report, current)
    before = [snapshot(home)]
    done: set[tuple[str, str, bool]] = set()
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        watch_guard(app, report)
        await settle(pilot)
        for _name, prepare in contexts(pilot):
            await sweep_context(pilot, report, current, home, before, prepare, done)
    report.changes += [f"after the session: {c}" for c in diff(before[0], snapshot(home))]
    return report


async def test_every_action_in_read_only_mode_is_refused_and_changes_nothing(
    live_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    guarded = registered_descriptions()
    assert len(guarded) >= 6, guarded
    app = make_app(live_home, read_only=True)
    report = await run_sweep(app, live_home, monkeypatch)
    assert report.problems() == []
    assert set(report.refused) == guarded, (
        f"mutating actions the sweep never reached: {sorted(guarded - set(report.refused))}")
    assert report.guarded == report.refused, "in read-only mode the guard must refuse every time"
    assert all(argv[0] != "sweep-editor" for argv in report.launched), "an editor ran in read-only mode"
    print(f"\n[reliability] read-only UI sweep: {len(report.actions)} action runs "
          f"({len(set(report.actions))} distinct) in 4 contexts; {len(guarded)} mutating actions, "
          f"{sum(report.refused.values())} refusals, all with a message; home unchanged")


class UnguardedScreen(SandboxListScreen):
    """The sandbox list with two actions someone forgot to guard."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("z", "purge_stopped", "Purge", id="probe.purge"),
        Binding("Z", "touch_log", "Touch", id="probe.touch"),
    ]

    def action_purge_stopped(self) -> None:
        """Through the backend (which refuses it in read-only mode, so only the spy sees it)."""
        self._purge()

    @work(exit_on_error=False)
    async def _purge(self) -> None:
        await self.app.backend.sandboxes().remove("db-migrate")

    def action_touch_log(self) -> None:
        """Around the backend, straight to a file."""
        home = self.app.backend.home()
        with open(home / "sandboxes" / "db-migrate" / "logs" / "exec.log", "ab") as log:
            log.write(b"oops\n")


class UnguardedApp(MsbApp):
    MODES: ClassVar[dict[str, Any]] = {**MsbApp.MODES, "sandboxes": UnguardedScreen}


async def test_the_sweep_catches_an_unguarded_action(live_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app(live_home, read_only=True, app_class=UnguardedApp)
    report = SweepReport()
    current: list[str] = []
    install_spies(monkeypatch, report, current)
    before = [snapshot(live_home)]
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        watch_guard(app, report)
        await settle(pilot)
        # Found by the same discovery as the full sweep; only the probe screen's actions are run.
        await sweep_context(pilot, report, current, live_home, before, contexts(pilot)[0][1],
                            only_classes=frozenset({"UnguardedScreen"}))
    problems = report.problems()
    assert report.actions, report
    assert any("reached a backend write: remove (during UnguardedScreen.purge_stopped)" in p for p in problems)
    assert any("UnguardedScreen.touch_log: changed: sandboxes/db-migrate/logs/exec.log" in p for p in problems)


async def test_a_newer_microsandbox_home_opens_read_only_with_a_banner_and_changes_nothing(
    live_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not asked for read-only: the catalog's unknown migration makes it so. Every guarded action of
    every screen is refused, and the live copy (WAL included) is left exactly as it was."""
    with sqlite3.connect(live_home / "db" / "msb.db") as conn:
        conn.execute("INSERT INTO seaql_migrations VALUES ('m20270301_000001_add_gpu_quota', 1800000000)")
        conn.execute("CREATE TABLE gpu_quota (id integer PRIMARY KEY, sandbox_id integer, slots integer)")
        conn.execute('ALTER TABLE "sandbox" ADD COLUMN "gpu_slots" integer')
        conn.execute('ALTER TABLE "volume" ADD COLUMN "encryption" text')
    conn.close()
    home = live_copy(live_home, tmp_path / "newer")
    report, current = SweepReport(), list[str]()
    install_spies(monkeypatch, report, current)
    before = [snapshot(home)]
    app = make_app(home)  # writable, as asked
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        watch_guard(app, report)
        await settle(pilot)
        assert "schema newer than supported: read-only" in screen_text(app)
        assert await until(pilot, lambda: app.screen.query_one(SandboxTable).total == 18)  # the rows still list
        for _name, prepare in contexts(pilot):
            await sweep_context(pilot, report, current, home, before, prepare, only_guarded=True)
    report.changes += [f"after the session: {c}" for c in diff(before[0], snapshot(home))]
    assert report.problems() == []
    assert set(report.refused) == registered_descriptions()
    assert all("newer microsandbox" in m for m in report.refusal_messages), report.refusal_messages
