"""Several homes: the switcher, per-home isolation of the backend and screens, the header, the CLI."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import OptionList

from backend import LocalBackend
from backend.demo import add_bulk_sandboxes
from backend.volumes.models import VolumeConfig
from tests.tui.support import FIXED_NOW, backend_for, settle, static_text
from tests.tui.volume_browser_helpers import loaded, shown_names
from tui.__main__ import build_parser, home_choices
from tui.app import MsbApp
from tui.commands import palette_commands
from tui.homes import HomeChoice
from tui.modals.home_switcher import ONE_HOME_TEXT, HomeSwitcher
from tui.screens.config.screen import ConfigEditorScreen
from tui.screens.sandboxes.screen import SandboxListScreen
from tui.screens.sandboxes.table import SandboxTable
from tui.widgets.app_header import AppHeader

B_SHELL = "/bin/only-in-b"


async def _build_home_b(path: Path) -> None:
    path.mkdir()
    (path / "config.json").write_text(json.dumps({"sandbox_defaults": {"shell": B_SHELL}}))
    await add_bulk_sandboxes(path, 2, now=FIXED_NOW, prefix="only-b")
    backend = LocalBackend.builder().home(path).config_file(path / "config.json").build_lazy()
    try:
        await backend.volumes().create(VolumeConfig.directory("vol-only-b"))
    finally:
        await backend.close()


@pytest.fixture
def home_b(tmp_path: Path) -> Path:
    """A second home: two sandboxes, one volume and a config that the demo home has none of."""
    path = tmp_path / "home-b"
    asyncio.run(_build_home_b(path))
    return path


def two_home_app(home_a: Path, home_b: Path, *, b_read_only: bool = False) -> MsbApp:
    homes = [HomeChoice(home_a, label="home A"), HomeChoice(home_b, read_only=b_read_only, label="home B")]
    return MsbApp(backend_for(home_a), homes=homes)


def sandbox_names(app: MsbApp) -> list[str]:
    screen = app.screen
    assert isinstance(screen, SandboxListScreen)
    return [row.name for row in screen.query_one(SandboxTable).loaded_rows()]


async def open_switcher(pilot: Any) -> HomeSwitcher:
    """Press h and wait for the switcher (its worker waits on it, so ``settle`` cannot be used)."""
    await pilot.press("h")
    for _ in range(3):
        await pilot.pause()
    switcher = pilot.app.screen
    assert isinstance(switcher, HomeSwitcher)
    return switcher


def header_status(app: MsbApp) -> str:
    return static_text(app.screen.query_one(AppHeader).query_one("#header-status"))


async def choose_home(pilot: Any, index: int) -> None:
    """Open the switcher with h and pick line ``index`` with the keyboard."""
    switcher = await open_switcher(pilot)
    switcher.query_one(OptionList).highlighted = index
    await pilot.press("enter")
    await settle(pilot, rounds=5)


async def test_switching_homes_shows_nothing_of_the_other_home(demo_home: Path, home_b: Path) -> None:
    app = two_home_app(demo_home, home_b)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        in_a = sandbox_names(app)
        assert "api-server" in in_a and not any(name.startswith("only-b") for name in in_a)
        await pilot.press("2")
        volumes_a = shown_names(await loaded(pilot))
        assert "ml-models" in volumes_a and "vol-only-b" not in volumes_a
        await pilot.press("3")
        await settle(pilot)
        editor = app.screen
        assert isinstance(editor, ConfigEditorScreen) and editor.loaded is not None
        assert B_SHELL not in (editor.loaded.text or "")
        await pilot.press("1")
        await settle(pilot)
        old_backend = app.backend
        old_screens = {mode: stack[0] for mode, stack in app._screen_stacks.items()}

        await choose_home(pilot, 1)
        assert app.home_index == 1 and app.backend is not old_backend
        assert app.backend.home() == home_b
        assert old_backend.database._writer is None and old_backend.database._reader is None, \
            "the old home's engines are disposed"
        assert app.current_mode == "sandboxes"
        assert sorted(sandbox_names(app)) == ["only-b-000001", "only-b-000002"]
        assert "home 2/2" in header_status(app) and "home B" in header_status(app)
        for mode, screen in old_screens.items():
            assert app._screen_stacks.get(mode, [None])[0] is not screen, f"{mode} screen was rebuilt"
        await pilot.press("2")
        assert shown_names(await loaded(pilot)) == ["vol-only-b"]
        await pilot.press("3")
        await settle(pilot)
        editor = app.screen
        assert isinstance(editor, ConfigEditorScreen) and editor.loaded is not None
        assert editor.loaded.path == home_b / "config.json" and B_SHELL in (editor.loaded.text or "")

        await choose_home(pilot, 0)
        assert app.current_mode == "config", "the switch comes back to the mode it left"
        editor = app.screen
        assert isinstance(editor, ConfigEditorScreen) and editor.loaded is not None
        assert editor.loaded.path == demo_home / "config.json" and B_SHELL not in (editor.loaded.text or "")
        await pilot.press("1")
        await settle(pilot)
        assert sandbox_names(app) == in_a
        assert "home 1/2" in header_status(app) and "home A" in header_status(app)


async def test_switcher_lists_read_only_state_and_the_open_home(demo_home: Path, home_b: Path) -> None:
    app = two_home_app(demo_home, home_b, b_read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        switcher = await open_switcher(pilot)
        options = switcher.query_one(OptionList)
        lines = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert "home A" in lines[0] and "writable" in lines[0] and "(open)" in lines[0]
        assert "home B" in lines[1] and "read-only" in lines[1] and "(open)" not in lines[1]
        await pilot.press("escape")
        await settle(pilot)
        assert app.home_index == 0 and not isinstance(app.screen, HomeSwitcher)
        await choose_home(pilot, 1)
        assert app.home_index == 1 and app.backend.read_only
        assert app.header_state.read_only and not app.guard_write("remove sandbox x")


async def test_clicking_a_home_switches(demo_home: Path, home_b: Path) -> None:
    app = two_home_app(demo_home, home_b)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        options = (await open_switcher(pilot)).query_one(OptionList)
        await pilot.click(options, offset=(4, 2))  # row 0 is the border
        await settle(pilot, rounds=5)
        assert app.home_index == 1
        assert sorted(sandbox_names(app)) == ["only-b-000001", "only-b-000002"]


async def test_unsaved_config_edits_can_stop_a_switch(demo_home: Path, home_b: Path) -> None:
    app = two_home_app(demo_home, home_b)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        editor = app.screen
        assert isinstance(editor, ConfigEditorScreen)
        asked: list[bool] = []

        async def refuse() -> bool:
            asked.append(True)
            return False

        editor.confirm_leave = refuse  # type: ignore[method-assign]
        await choose_home(pilot, 1)
        assert asked and app.home_index == 0 and app.screen is editor
        assert app.backend.home() == demo_home


async def test_one_home_says_so_and_palette_offers_the_switch(demo_home: Path) -> None:
    app = MsbApp(backend_for(demo_home), display_home="~/.microsandbox")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        commands = [command.title for command in palette_commands(app, app.screen)]
        assert "Switch home" in commands
        assert "home 1/" not in header_status(app)
        switcher = await open_switcher(pilot)
        assert ONE_HOME_TEXT in static_text(switcher.query_one("#homes-hint"))
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(app.screen, HomeSwitcher) and app.home_index == 0


def test_home_flag_can_be_repeated_in_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    args = build_parser().parse_args(["--home", "/srv/a", "--home-read-only", "/srv/b", "--home", "/srv/c"])
    assert args.home == "/srv/a"
    assert args.homes == [("/srv/a", False), ("/srv/b", True), ("/srv/c", False)]
    choices = home_choices(args.homes, read_only=False)
    assert [c.read_only for c in choices] == [False, True, False]
    assert choices[0].path == Path("/srv/a") and choices[0].environment, \
        "the first home is opened as MSB_HOME=/srv/a would be (MSB_CONFIG_PATH applies), passed explicitly"
    assert not choices[1].environment and not choices[2].environment
    assert choices[2].path == Path("/srv/c") and choices[2].label == "/srv/c"
    assert all(c.read_only for c in home_choices(args.homes, read_only=True))
    # MSB_CONFIG_PATH applies to the first home only; the others read their own config.json.
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.setenv("MSB_CONFIG_PATH", str(tmp_path / "elsewhere.json"))
    assert HomeChoice(other).build_backend().config_path == other / "config.json"
    assert HomeChoice(None).build_backend().config_path == tmp_path / "elsewhere.json"
    first = home_choices([(str(other), False)], read_only=False)[0].build_backend()
    assert first.config_path == tmp_path / "elsewhere.json"
    assert first.home() == other and "MSB_HOME" not in os.environ, "the home is an argument, not the environment"
    monkeypatch.delenv("MSB_CONFIG_PATH")
    assert home_choices([(str(other), False)], read_only=False)[0].build_backend().config_path == other / "config.json"
