"""Pilot tests of the app shell: modes, the leave-protocol, help, palette, header states, busy DB."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any, ClassVar

import pytest
from textual.app import ComposeResult
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Label, Static, Tooltip

from backend.errors import DatabaseBusyError
from backend.local import LocalBackend
from backend.sandboxes.service import Sandboxes
from tests.tui.support import copy_home, make_app, settle, static_text
from tui.app import BackendStatusChanged, MsbApp
from tui.commands import palette_commands
from tui.header_state import BackendState
from tui.modals.help import HelpModal
from tui.screens.sandboxes.screen import SandboxListScreen
from tui.screens.sandboxes.table import SandboxTable
from tui.widgets.app_header import AppHeader


class ProbeScreen(Screen[None]):
    """A stand-in mode screen that records what the shell asked it."""

    allow_leave = True

    def __init__(self) -> None:
        super().__init__()
        self.asked = 0
        self.selected: list[str] = []

    def compose(self) -> ComposeResult:
        yield Label("probe")

    async def confirm_leave(self) -> bool:
        self.asked += 1
        return self.allow_leave

    def select_volume(self, name: str) -> None:
        self.selected.append(name)


class ProbeApp(MsbApp):
    """The shell with probe screens for volumes and config, so these tests stand alone."""

    MODES: ClassVar[dict[str, Any]] = {**MsbApp.MODES, "volumes": ProbeScreen, "config": ProbeScreen}


def header_status(app: MsbApp) -> str:
    return static_text(app.screen.query_one(AppHeader).query_one("#header-status"))


async def test_number_keys_switch_modes_and_each_keeps_its_state(demo_home: Path) -> None:
    app = make_app(demo_home, app_class=ProbeApp)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("down", "down", "down", "down")
        await pilot.press("2")
        await settle(pilot)
        assert app.current_mode == "volumes" and isinstance(app.screen, ProbeScreen)
        assert app.screen.query(AppHeader), "the shell adds its header to screens without one"
        app.screen.allow_leave = True
        await pilot.press("1")
        await settle(pilot)
        assert app.current_mode == "sandboxes"
        assert app.screen.query_one(SandboxTable).cursor_row == 4


async def test_leave_protocol_can_refuse_a_mode_switch_and_quitting(demo_home: Path) -> None:
    app = make_app(demo_home, app_class=ProbeApp)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        probe = app.screen
        assert isinstance(probe, ProbeScreen)
        probe.allow_leave = False
        await pilot.press("1")
        await settle(pilot)
        assert app.current_mode == "config" and probe.asked == 1
        await pilot.press("q")
        await settle(pilot)
        assert app.is_running and probe.asked == 2
        probe.allow_leave = True
        await pilot.press("1")
        await settle(pilot)
        assert app.current_mode == "sandboxes"
        # Quitting from another mode still asks the config screen (switching to it first).
        await pilot.press("q")
        await settle(pilot)
        assert probe.asked == 4
    assert app.return_code == 0


async def test_show_volume_switches_mode_and_selects(demo_home: Path) -> None:
    app = make_app(demo_home, app_class=ProbeApp)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.show_volume("project-data")
        await settle(pilot)
        assert app.current_mode == "volumes"
        assert isinstance(app.screen, ProbeScreen) and app.screen.selected == ["project-data"]


async def test_enter_on_a_named_mount_opens_the_volume(demo_home: Path) -> None:
    import asyncio

    from textual.widgets import OptionList, TabbedContent

    from tui.screens.sandboxes.detail import SandboxDetailPanel

    app = make_app(demo_home, app_class=ProbeApp)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(SandboxTable)
        table.move_cursor([r.name for r in table.loaded_rows()].index("trainer-gpu"))
        await asyncio.sleep(0.3)
        await settle(pilot)
        panel = app.screen.query_one(SandboxDetailPanel)
        panel.query_one(TabbedContent).active = "tab-mounts"
        mounts = panel.query_one("#mount-list", OptionList)
        mounts.focus()
        await settle(pilot)
        mounts.highlighted = 1  # 0 is the automatic /tmp tmpfs, 1 is volume:ml-models
        await pilot.press("enter")
        await settle(pilot)
        assert app.current_mode == "volumes"
        assert app.screen.selected == ["ml-models"]  # type: ignore[attr-defined]


async def test_help_lists_the_keys_of_the_current_screen(demo_home: Path) -> None:
    app = make_app(demo_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpModal)
        descriptions = [d for _, d in app.screen.keys]
        assert any("Filter by name" in d for d in descriptions)
        assert any("Remove the selected sandbox" in d for d in descriptions)
        await pilot.press("escape")
        assert isinstance(app.screen, SandboxListScreen)


async def test_palette_offers_the_screens_and_the_screen_actions(demo_home: Path) -> None:
    app = make_app(demo_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        titles = [c.title for c in palette_commands(app, app.screen)]
        assert {"Go to Sandboxes", "Go to Volumes", "Go to Config", "Filter", "Remove", "Help"} <= set(titles)


async def test_header_shows_home_schema_and_read_only(demo_home: Path) -> None:
    app = make_app(demo_home, read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        status = header_status(app)
        assert status.startswith("~/.microsandbox")
        assert "schema current" in status
        badges = static_text(app.screen.query_one("#header-badges"))
        assert "READ-ONLY" in badges


async def test_header_shows_a_config_error_and_the_list_still_loads(demo_home: Path) -> None:
    (demo_home / "config.json").write_text('{"sandbox_defaults": {"cpus": "two"}}')
    app = make_app(demo_home)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert "⚠ config.json: fix sandbox_defaults.cpus" in header_status(app)
        tooltip = str(app.screen.query_one(AppHeader).query_one("#header-status").tooltip)
        assert "config.json: failed to parse config" in tooltip
        assert app.screen.query_one(SandboxTable).total == 18


@pytest.mark.parametrize("width", [80, 120, 60])
async def test_header_shows_a_broken_catalog_and_a_broken_config_together(demo_home: Path, width: int) -> None:
    (demo_home / "db" / "msb.db").write_bytes(b"PK\x03\x04 a zip file, not a catalog\n" * 300)
    (demo_home / "config.json").write_text('{\n  "log_level": "info",\n  "database": {\n')
    app = make_app(demo_home)
    async with app.run_test(size=(width, 24)) as pilot:
        await settle(pilot)
        assert app.backend_state is BackendState.ERROR
        status = app.screen.query_one(AppHeader).query_one("#header-status", Static)
        shown = status.content
        assert isinstance(shown, Content), shown
        assert shown.cell_length <= status.content_size.width, shown.plain
        catalog, config = shown.plain.split(" · ")[-2:]
        assert catalog.startswith("✖ db/msb.db") and config.startswith("⚠ config.json")
        if width >= 80:  # each part says what to do
            assert catalog == "✖ db/msb.db is not SQLite: move it aside"
            assert config == "⚠ config.json line 4: fix the JSON"
        if width >= 120:
            assert shown.plain.startswith("~/.microsandbox · ")
        tooltip = str(status.tooltip)
        assert "is not a SQLite database" in tooltip and "Move it aside" in tooltip
        assert "invalid JSON" in tooltip and "line 4 column 1" in tooltip


async def test_the_header_tooltip_shows_a_path_with_brackets_as_typed(demo_template: Path, tmp_path: Path) -> None:
    home = copy_home(demo_template, tmp_path / "[red]h")
    (home / "db" / "msb.db").write_bytes(b"PK\x03\x04 a zip file, not a catalog\n" * 300)
    app = make_app(home)
    async with app.run_test(size=(120, 30), tooltips=True) as pilot:
        await settle(pilot)
        await pilot.hover("#header-status")
        tooltip = app.screen.query_one(Tooltip)
        for _ in range(50):  # the tooltip shows after a short hover delay
            if tooltip.display:
                break
            await asyncio.sleep(0.05)
        assert tooltip.display
        shown = tooltip.visual
        assert isinstance(shown, Content) and "[red]h/db/msb.db` is not a" in shown.plain


async def test_a_newer_schema_is_read_only_and_says_so(demo_home: Path) -> None:
    with sqlite3.connect(demo_home / "db" / "msb.db") as conn:
        conn.execute("INSERT INTO seaql_migrations (version, applied_at) VALUES ('m20270101_000001_future', 0)")
    app = make_app(demo_home)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        assert "schema newer than supported: read-only" in header_status(app)
        assert app.header_state.read_only
        assert not app.guard_write("remove sandbox")


async def test_a_bad_home_shows_an_error_and_keeps_running(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "home"
    not_a_folder.write_text("this is a file, not a microsandbox home")
    app = make_app(not_a_folder)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.backend_state is BackendState.ERROR
        table = app.screen.query_one(SandboxTable)
        assert table.message is not None and "Cannot open this home" in table.message
        await pilot.press("question_mark")  # still responsive
        assert isinstance(app.screen, HelpModal)


async def test_a_busy_database_is_retried_without_blocking_input(demo_home: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    attempts = 0
    real_db = LocalBackend.db

    async def flaky_db(self: LocalBackend) -> Any:
        nonlocal attempts
        attempts += 1
        if attempts <= 2:
            raise DatabaseBusyError("database busy: locked by another process")
        return await real_db(self)

    monkeypatch.setattr(LocalBackend, "db", flaky_db)
    monkeypatch.setattr("tui.app.BUSY_FIRST_DELAY", 0.05)
    app = make_app(demo_home)
    seen: list[BackendState] = []

    def record(message: Any) -> None:
        if isinstance(message, BackendStatusChanged):
            seen.append(message.state)

    async with app.run_test(size=(80, 24), message_hook=record) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpModal)
        await pilot.press("escape")
        import asyncio

        await asyncio.sleep(0.5)
        await settle(pilot)
        assert seen.count(BackendState.BUSY) == 2 and seen[-1] is BackendState.READY
        assert app.backend_state is BackendState.READY
        assert app.screen.query_one(SandboxTable).total == 18


async def test_a_busy_list_query_retries(demo_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0
    real_count = Sandboxes.count

    async def flaky_count(self: Sandboxes, query: Any = None) -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise DatabaseBusyError("database busy")
        return await real_count(self, query)

    monkeypatch.setattr(Sandboxes, "count", flaky_count)
    monkeypatch.setattr("tui.screens.sandboxes.screen.BUSY_RETRY_SECS", 0.05)
    app = make_app(demo_home)
    async with app.run_test(size=(80, 24)) as pilot:
        import asyncio

        await settle(pilot)
        await asyncio.sleep(0.3)
        await settle(pilot)
        assert calls >= 2
        assert app.screen.query_one(SandboxTable).total == 18


async def test_the_palette_lists_the_shell_commands_through_its_provider(demo_home: Path) -> None:
    """The app's entries come from ShellCommands (a command Provider), Textual's from its own."""
    from textual.command import DiscoveryHit

    from tui.commands import ShellCommands

    app = make_app(demo_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert ShellCommands in app.COMMANDS
        provider = ShellCommands(app.screen)
        hits = [hit async for hit in provider.discover()]
        titles = [hit.text or "" for hit in hits if isinstance(hit, DiscoveryHit)]
        assert titles == sorted(titles) and {"Go to Volumes", "Switch home", "Help"} <= set(titles)
        assert "Go to Volumes" not in {c.title for c in app.get_system_commands(app.screen)}
        found = [hit async for hit in provider.search("go to vol")]
        assert found
        await found[0].command()
        await settle(pilot)
        assert app.current_mode == "volumes"
