"""Config editor, file flows: conflicts, repair of a malformed file, undo, read-only, leaving, raw JSON."""

from __future__ import annotations

import json
from pathlib import Path

from textual.widgets import Input, TextArea

from tests.tui.config_editor_helpers import (
    SAMPLE,
    editor,
    make_app,
    read_json,
    row,
    settle,
    top,
    type_into,
    view_of,
)
from tui.modals.confirm import ConfirmModal
from tui.screens.config.modals import ConfigConflictModal, ConfigDiffModal
from tui.screens.config.repair import ConfigRawEditor

ON_DISK_EDIT = SAMPLE.replace('"active_profile": "dev"', '"active_profile": "prod"')


async def _edit_then_save_into_conflict(pilot, screen, config: Path) -> ConfigConflictModal:  # type: ignore[no-untyped-def]
    await type_into(pilot, screen, ("database", "max_connections"), "9")
    config.write_text(ON_DISK_EDIT)  # someone else edits the file meanwhile
    await pilot.press("ctrl+s")
    await settle(pilot)
    await pilot.click("#confirm")
    await settle(pilot)
    modal = pilot.app.screen
    assert isinstance(modal, ConfigConflictModal)
    assert '-  "active_profile": "prod",' in modal.diff and '+  "active_profile": "dev",' in modal.diff
    assert modal.focused is not None and modal.focused.id == "cancel"
    return modal


async def test_conflict_overwrite_writes_ours(home: Path) -> None:
    config = home / "config.json"
    config.write_text(SAMPLE)
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await editor(pilot)
        await _edit_then_save_into_conflict(pilot, screen, config)
        await pilot.click("#overwrite")
        await settle(pilot)
    saved = read_json(config)
    assert saved["database"] == {"max_connections": 9}
    assert saved["active_profile"] == "dev"
    assert (home / "config.json.bak").read_text() == ON_DISK_EDIT


async def test_conflict_reload_takes_the_file_on_disk(home: Path) -> None:
    config = home / "config.json"
    config.write_text(SAMPLE)
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await editor(pilot)
        await _edit_then_save_into_conflict(pilot, screen, config)
        await pilot.click("#reload")
        await settle(pilot)
        assert screen.doc is not None and not screen.doc.dirty
        assert screen.doc.get(("active_profile",)) == "prod"
        assert not screen.doc.is_set(("database", "max_connections"))
    assert config.read_text() == ON_DISK_EDIT


async def test_conflict_cancel_keeps_editing_and_writes_nothing(home: Path) -> None:
    config = home / "config.json"
    config.write_text(SAMPLE)
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await editor(pilot)
        await _edit_then_save_into_conflict(pilot, screen, config)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen and screen.unsaved
    assert config.read_text() == ON_DISK_EDIT


async def test_a_malformed_file_opens_in_the_repair_view_and_saves_once_valid(home: Path) -> None:
    config = home / "config.json"
    broken = '{\n  "metrics": {\n    "capacity": 10\n  },,\n  "keep": 1\n}\n'
    config.write_text(broken)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await editor(pilot)
        assert screen.view == "repair"
        raw = screen.query_one(ConfigRawEditor)
        area = raw.query_one(TextArea)
        assert area.language == "json"
        assert area.cursor_location == (3, 4), "the cursor starts on the error's line and column"
        assert "line 4, column 5" in str(raw.query_one("#cfg-raw-status").render())
        assert raw.query_one("#cfg-raw-save").disabled
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen and config.read_text() == broken
        area.text = broken.replace(",,", ",").replace("10", "300000000000")
        await settle(pilot)
        assert "capacity" in str(raw.query_one("#cfg-raw-status").render()), "schema errors block too"
        assert raw.query_one("#cfg-raw-save").disabled
        area.text = broken.replace(",,", ",")
        await settle(pilot)
        assert not raw.query_one("#cfg-raw-save").disabled
        await pilot.click("#cfg-raw-save")
        await settle(pilot)
        assert isinstance(app.screen, ConfigDiffModal)
        await pilot.click("#confirm")
        await settle(pilot)
        assert view_of(screen) == "form"
    assert read_json(config) == {"metrics": {"capacity": 10}, "keep": 1}
    assert (home / "config.json.bak").read_text() == broken


async def test_undo_puts_back_the_file_before_the_save(home: Path) -> None:
    config = home / "config.json"
    config.write_text(SAMPLE)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await editor(pilot)
        assert screen.check_action("undo_save", ()) is None, "nothing to undo yet"
        await type_into(pilot, screen, ("sandbox_defaults", "memory_mib"), "64")
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.click("#confirm")
        await settle(pilot)
        saved_text = config.read_text()
        assert read_json(config)["sandbox_defaults"]["memory_mib"] == 64
        screen.query_one("#cfg-tabs Tabs").focus()
        await pilot.press("u")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        await pilot.click("#confirm")
        await settle(pilot)
        assert screen.last_save is None
        assert screen.doc is not None and screen.doc.get(("sandbox_defaults", "memory_mib")) == 1024
    assert config.read_text() == SAMPLE
    assert (home / "config.json.bak").read_text() == saved_text


async def test_undo_of_a_save_that_created_the_file_removes_it(home: Path) -> None:
    config = home / "config.json"
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await editor(pilot)
        await type_into(pilot, screen, ("metrics", "capacity"), "5")
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.click("#confirm")
        await settle(pilot)
        assert config.exists()
        screen.action_undo_save()
        await settle(pilot)
        await pilot.click("#confirm")
        await settle(pilot)
    assert not config.exists()
    assert read_json(home / "config.json.bak") == {"metrics": {"capacity": 5}}


async def test_read_only_shows_everything_and_saves_nothing(home: Path) -> None:
    config = home / "config.json"
    config.write_text(SAMPLE)
    app = make_app(read_only=True)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        screen = await editor(pilot)
        assert screen.view == "form"
        memory = row(screen, "sandbox_defaults", "memory_mib")
        field = memory.editor
        assert isinstance(field, Input) and field.value == "1024" and field.disabled
        assert not memory.query_one(".cfg-reset").display
        assert "read-only" in str(screen.query_one("#cfg-title").render())
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen
        assert any("cannot save config" in n.message for n in app._notifications)
        assert screen.doc is not None
        screen.doc.set(("metrics", "capacity"), 3)  # even an edit that got through is never written
        screen.action_save()
        await settle(pilot)
        assert app.screen is screen
    assert config.read_text() == SAMPLE
    assert not (home / "config.json.bak").exists()


async def test_quitting_with_unsaved_changes_asks_first(home: Path) -> None:
    config = home / "config.json"
    config.write_text(SAMPLE)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await editor(pilot)
        await type_into(pilot, screen, ("database", "busy_timeout_secs"), "7")
        await app.run_action("quit")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        assert any("busy_timeout_secs" in line for line in app.screen.lines)
        await pilot.click("#cancel")
        await settle(pilot)
        assert app.is_running and top(app) is screen and screen.unsaved
        await app.run_action("quit")
        await settle(pilot)
        await pilot.click("#confirm")
        await settle(pilot)
        assert not app.is_running
    assert config.read_text() == SAMPLE


async def test_raw_json_view_applies_back_to_the_form(home: Path) -> None:
    config = home / "config.json"
    config.write_text(SAMPLE)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await editor(pilot)
        await pilot.press("f2")
        await settle(pilot)
        assert screen.view == "raw"
        area = screen.query_one(TextArea)
        document = json.loads(area.text)
        document["log_level"] = "loud"
        area.text = json.dumps(document, indent=2)
        await settle(pilot)
        assert screen.query_one("#cfg-raw-apply").disabled, "an invalid log_level cannot be applied"
        document["log_level"] = "debug"
        area.text = json.dumps(document, indent=2)
        await settle(pilot)
        await pilot.click("#cfg-raw-apply")
        await settle(pilot)
        assert view_of(screen) == "form"
        assert screen.doc is not None and screen.doc.get(("log_level",)) == "debug"
        assert screen.unsaved


async def test_an_unreadable_file_is_explained_and_nothing_is_written(home: Path) -> None:
    (home / "config.json").mkdir()
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await editor(pilot)
        assert view_of(screen) == "error"
        assert "readable file" in str(screen.query_one("#cfg-error").render())
        screen.action_save()
        await settle(pilot)
        assert top(app) is screen
    assert (home / "config.json").is_dir() and not (home / "config.json.bak").exists()
