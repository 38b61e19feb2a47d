"""Pilot tests of the sandbox list: navigation, filter, sort, detail, refresh, copy and remove."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from textual.widgets import Button, DataTable, Input, OptionList, RichLog, Static, TabbedContent

from backend.demo import add_bulk_sandboxes
from tests.reliability.ui_support import screen_text
from tests.tui.support import FIXED_NOW, make_app, settle, static_text
from tui.app import MsbApp
from tui.modals.confirm import ConfirmModal
from tui.screens.sandboxes import log_tail
from tui.screens.sandboxes.detail import SandboxDetailPanel
from tui.screens.sandboxes.screen import SandboxListScreen
from tui.screens.sandboxes.table import SandboxTable
from tui.widgets.virtual_table import PAGE_SIZE


def screen_of(app: MsbApp) -> SandboxListScreen:
    screen = app.screen
    assert isinstance(screen, SandboxListScreen)
    return screen


def names(app: MsbApp) -> list[str]:
    table = app.screen.query_one(SandboxTable)
    return [row.name for row in table.loaded_rows()]


def notifications(app: MsbApp) -> list[str]:
    return [n.message for n in app._notifications]


async def select(pilot: Any, name: str) -> None:
    """Move the cursor to the row called ``name`` (it must be on a loaded page)."""
    table = pilot.app.screen.query_one(SandboxTable)
    index = names(pilot.app).index(name)
    table.move_cursor(index)
    await settle(pilot)
    await asyncio.sleep(0.2)  # the detail is loaded after a short debounce
    await settle(pilot)


async def test_lists_every_demo_row_newest_first(demo_home: Path) -> None:
    app = make_app(demo_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(SandboxTable)
        assert table.total == 18
        listed = names(app)
        assert listed[0] == "ci-runner-7"  # created 30 s before FIXED_NOW
        assert listed[-1] == "legacy-alpine"  # created 30 days before
        summary = static_text(app.screen.query_one("#summary-counts", Static))
        assert "18 sandboxes" in summary and "5 running" in summary and "1 hibernating" in summary


async def test_keyboard_navigation_moves_the_cursor_and_loads_the_detail(demo_home: Path) -> None:
    app = make_app(demo_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("down", "down", "down")
        await settle(pilot)
        await asyncio.sleep(0.2)
        await settle(pilot)
        table = app.screen.query_one(SandboxTable)
        assert table.cursor_row == 3
        assert table.selected_row is not None and table.selected_row.name == names(app)[3]
        panel = app.screen.query_one(SandboxDetailPanel)
        assert panel.detail is not None and panel.detail.row.name == names(app)[3]
        await pilot.press("end")
        await settle(pilot)
        assert table.cursor_row == 17
        await pilot.press("home")
        assert table.cursor_row == 0


async def test_filter_by_status_label_and_name_as_you_type(demo_home: Path) -> None:
    app = make_app(demo_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(SandboxTable)
        await pilot.press("slash")
        assert isinstance(app.focused, Input)
        await pilot.press(*"status:crashed")
        await settle(pilot)
        assert table.total == 1 and names(app) == ["builder-x86"]
        box = app.screen.query_one("#filter", Input)
        box.value = "label:team=ml"
        await settle(pilot)
        assert sorted(names(app)) == ["notebook-ana", "trainer-gpu"]
        box.value = "preview"
        await settle(pilot)
        assert sorted(names(app)) == ["preview-pr-412", "preview-pr-413"]
        box.value = "label:"  # incomplete token: flagged, previous filter kept
        await settle(pilot)
        assert box.has_class("-invalid")
        assert sorted(names(app)) == ["preview-pr-412", "preview-pr-413"]
        box.value = "status:running label:team=web"
        await settle(pilot)
        assert sorted(names(app)) == ["api-server", "web-frontend"]
        box.value = "no-such-sandbox"
        await settle(pilot)
        assert table.total == 0 and table.message is not None and "No sandbox matches" in table.message
        await pilot.press("escape")
        await settle(pilot)
        assert table.total == 18 and not box.display
        focused: Any = app.focused
        assert focused is app.screen.query_one(SandboxTable)


async def test_sort_by_keys_and_header_clicks(demo_home: Path) -> None:
    app = make_app(demo_home)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("s")  # age -> name, ascending
        await settle(pilot)
        assert names(app)[:3] == ["agent-sbx", "api-server", "broken-row"]
        await pilot.press("S")
        await settle(pilot)
        assert names(app)[0] == "web-frontend"
        table = app.screen.query_one(SandboxTable)
        status_x = sum(w + 1 for w in table._column_widths()[:1]) + 2
        await pilot.click(SandboxTable, offset=(status_x, 0))
        await settle(pilot)
        assert screen_of(app).query_filter.sort == "status"
        statuses = [row.status for row in table.loaded_rows()]
        assert statuses == sorted(statuses)
        await pilot.click(SandboxTable, offset=(status_x, 0))  # same header again: reversed
        await settle(pilot)
        assert screen_of(app).query_filter.descending


async def test_detail_panel_shows_config_mounts_runs_and_masks_secrets(demo_home: Path) -> None:
    app = make_app(demo_home)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await select(pilot, "api-server")
        panel = app.screen.query_one(SandboxDetailPanel)
        assert panel.detail is not None
        overview = static_text(panel.query_one("#overview-body", Static))
        assert "API_TOKEN=********" in overview and "demo-not-a-secret" not in overview
        assert "127.0.0.1:8000->8000/tcp" in overview
        mounts = panel.query_one("#mount-list", OptionList)
        labels = [str(mounts.get_option_at_index(i).prompt) for i in range(mounts.option_count)]
        assert any("volume:project-data" in label for label in labels)
        runs = panel.query_one("#run-table")
        assert runs.row_count == 2  # type: ignore[attr-defined]
        panel.query_one(TabbedContent).active = "tab-logs"
        await settle(pilot)
        await asyncio.sleep(0.3)
        await settle(pilot)
        log = panel.query_one(RichLog)
        assert any("request 039 handled" in line.text for line in log.lines)


async def test_log_tail_follows_new_lines(demo_home: Path) -> None:
    app = make_app(demo_home)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await select(pilot, "web-frontend")
        panel = app.screen.query_one(SandboxDetailPanel)
        panel.query_one(TabbedContent).active = "tab-logs"
        await asyncio.sleep(0.3)
        await settle(pilot)
        log_file = demo_home / "sandboxes" / "web-frontend" / "logs" / "exec.log"
        entry = {"t": "2026-11-28T12:00:01.000Z", "s": "stdout", "d": "freshly appended line\n", "id": 1}
        with log_file.open("a") as handle:
            handle.write(json.dumps(entry) + "\n")
        await asyncio.sleep(1.3)  # one follow interval
        await settle(pilot)
        log = panel.query_one(RichLog)
        assert "freshly appended line" in log.lines[-1].text


async def open_logs(pilot: Any, home: Path, name: str) -> tuple[SandboxDetailPanel, Path]:
    """Select ``name``, open its Logs tab and wait for the tail; the panel and its exec.log."""
    await settle(pilot)
    await select(pilot, name)
    panel = pilot.app.screen.query_one(SandboxDetailPanel)
    panel.query_one(TabbedContent).active = "tab-logs"
    await asyncio.sleep(0.3)
    await settle(pilot)
    return panel, home / "sandboxes" / name / "logs" / "exec.log"


async def polls_pass(pilot: Any, seconds: float = 0.6) -> None:
    """Let several follow polls (FOLLOW_INTERVAL patched to 0.05 s) read the file."""
    await asyncio.sleep(seconds)
    await settle(pilot)


def screen_rows(app: MsbApp, text: str) -> list[int]:
    """The screen rows, as drawn, that show ``text``."""
    return [i for i, row in enumerate(screen_text(app).splitlines()) if text in row]


def log_texts(panel: SandboxDetailPanel) -> list[str]:
    return [line.text for line in panel.query_one(RichLog).lines]


async def test_log_tail_shows_an_unfinished_line_once_and_replaces_it(
    demo_home: Path, monkeypatch: Any
) -> None:
    monkeypatch.setattr(log_tail, "FOLLOW_INTERVAL", 0.05)
    app = make_app(demo_home)
    async with app.run_test(size=(120, 40)) as pilot:
        panel, log_file = await open_logs(pilot, demo_home, "web-frontend")
        last_complete = log_texts(panel)[-1][:40]
        with log_file.open("a") as handle:
            handle.write("partial")
        await polls_pass(pilot)
        assert len(screen_rows(app, "partial")) == 1, screen_text(app)
        # The unfinished line is the newest: right under the last complete one, which stays in view.
        assert screen_rows(app, last_complete) == [screen_rows(app, "partial")[0] - 1]
        with log_file.open("a") as handle:
            handle.write(" now")
        await polls_pass(pilot)
        assert len(screen_rows(app, "partial")) == 1 and len(screen_rows(app, "partial now")) == 1
        with log_file.open("a") as handle:
            handle.write(" complete\n")
        await polls_pass(pilot)
        assert len(screen_rows(app, "partial")) == 1 and len(screen_rows(app, "partial now complete")) == 1
        with log_file.open("a") as handle:
            handle.write("the next line\n")
        await polls_pass(pilot)
        *_, before, completed, after = log_texts(panel)
        assert (completed, after) == ("partial now complete", "the next line")
        assert not before.startswith("partial")
        complete_row = screen_rows(app, "partial now complete")
        assert len(complete_row) == 1 and screen_rows(app, "the next line") == [complete_row[0] + 1]


async def test_log_tail_shows_an_unfinished_line_longer_than_one_read_once(
    demo_home: Path, monkeypatch: Any
) -> None:
    monkeypatch.setattr(log_tail, "FOLLOW_INTERVAL", 0.05)
    app = make_app(demo_home)
    async with app.run_test(size=(120, 40)) as pilot:
        panel, log_file = await open_logs(pilot, demo_home, "web-frontend")
        before = len(log_texts(panel))
        # One read takes 1 MiB: the line's first MiB is shown cut, its rest follows as it grows.
        with log_file.open("a") as handle:
            handle.write("A" * (1 << 20) + "B" * 100)
        await polls_pass(pilot)
        assert len(screen_rows(app, "BBBB")) == 1, screen_text(app)
        with log_file.open("a") as handle:
            handle.write("C\nthe next line\n")
        await polls_pass(pilot)
        added = log_texts(panel)[before:]
        assert len(added) == 3, [text[:30] for text in added]
        assert added[0].startswith("AAAA") and added[0].endswith("… [line continues]")
        assert added[1:] == ["B" * 100 + "C", "the next line"]
        assert len(screen_rows(app, "BBBB")) == 1


async def test_refresh_keeps_the_selection_when_rows_are_added_above(demo_home: Path) -> None:
    app = make_app(demo_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await select(pilot, "etl-nightly")
        table = app.screen.query_one(SandboxTable)
        before = table.cursor_row
        top_before = table.scroll_offset.y
        # Three sandboxes appear, newer than every demo row, so they sort above the selection.
        await add_bulk_sandboxes(demo_home, 3, now=FIXED_NOW.replace(hour=13), prefix="new")
        screen_of(app).action_refresh_now()
        await settle(pilot)
        assert table.total == 21
        assert table.selected_row is not None and table.selected_row.name == "etl-nightly"
        assert table.cursor_row == before + 3
        # The selected row stays on the same screen line.
        assert table.cursor_row - table.scroll_offset.y == before - top_before


async def test_remove_needs_the_typed_name_and_cancel_is_the_default(demo_home: Path) -> None:
    app = make_app(demo_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await select(pilot, "db-migrate")
        await pilot.press("x")
        await settle(pilot)
        modal: Any = app.screen
        assert isinstance(modal, ConfirmModal)
        assert isinstance(app.focused, Button) and app.focused.id == "cancel"
        assert any("sandboxes/db-migrate/" in line for line in modal.lines)
        confirm = modal.query_one("#confirm", Button)
        assert confirm.disabled
        await pilot.press("enter")  # Cancel has the focus
        await settle(pilot)
        assert isinstance(app.screen, SandboxListScreen)
        assert (demo_home / "sandboxes" / "db-migrate").exists()

        await pilot.press("x")
        await settle(pilot)
        second: Any = app.screen
        assert isinstance(second, ConfirmModal)
        modal = second
        second.query_one(Input).focus()
        await pilot.press(*"db-migrat")
        assert modal.query_one("#confirm", Button).disabled
        await pilot.press("enter")  # wrong name: nothing happens
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("e")
        assert not modal.query_one("#confirm", Button).disabled
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, SandboxListScreen)
        assert "db-migrate" not in names(app)
        assert app.screen.query_one(SandboxTable).total == 17
        assert not (demo_home / "sandboxes" / "db-migrate").exists()


async def test_escape_cancels_the_remove_dialog(demo_home: Path) -> None:
    app = make_app(demo_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await select(pilot, "agent-sbx")
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("escape")
        await settle(pilot)
        assert "agent-sbx" in names(app)


async def test_remove_is_refused_for_a_running_sandbox(demo_home: Path) -> None:
    app = make_app(demo_home)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        await select(pilot, "queue-drain")
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, SandboxListScreen)
        assert any("cannot remove sandbox 'queue-drain'" in m for m in notifications(app))
        assert "queue-drain" in names(app)


async def test_remove_is_refused_in_read_only_mode(demo_home: Path) -> None:
    app = make_app(demo_home, read_only=True)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        await select(pilot, "db-migrate")
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, SandboxListScreen)  # no dialog at all
        assert any("cannot remove sandbox: the backend was opened read-only" in m for m in notifications(app))
        assert "db-migrate" in names(app)
        assert app.header_state.read_only


async def test_copy_name_and_json(demo_home: Path) -> None:
    app = make_app(demo_home)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        await select(pilot, "api-server")
        await pilot.press("y")
        assert app.clipboard == "api-server"
        assert any("Copied name 'api-server'" in m for m in notifications(app))
        await pilot.press("Y")
        document = json.loads(app.clipboard)
        assert document["name"] == "api-server" and document["status"] == "Running"
        assert document["config"]["resources"] == {"cpus": 4, "memory_mib": 2048}
        assert {"key": "API_TOKEN", "value": "********"} in document["config"]["env"]


async def test_auto_refresh_can_be_paused_and_retuned(demo_home: Path) -> None:
    app = make_app(demo_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = screen_of(app)
        await pilot.press("p")
        assert screen.paused
        await pilot.press("minus")
        assert screen.refresh_interval == 60.0
        await pilot.press("p")
        assert not screen.paused
        info = static_text(screen.query_one("#summary-info", Static))
        assert "⟳60s" in info


async def test_only_pages_near_the_viewport_are_fetched(home: Path) -> None:
    await add_bulk_sandboxes(home, 5_000, now=FIXED_NOW)
    app = make_app(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(SandboxTable)
        assert table.total == 5_000
        assert len(table.loaded_rows()) <= 2 * PAGE_SIZE
        await pilot.press("end")
        await settle(pilot)
        assert table.selected_row is not None and table.selected_row.name == "bulk-000001"
        for _ in range(30):
            await pilot.press("pageup")
        await settle(pilot)
        assert table.selected_row is not None
        assert len(table.loaded_rows()) <= 12 * PAGE_SIZE


async def test_an_empty_home_says_so(home: Path) -> None:
    app = make_app(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(SandboxTable)
        assert table.total == 0
        assert table.message is not None and "No sandboxes in this home yet" in table.message


async def test_runs_table_columns_fit_the_selected_sandbox_not_the_previous_one(demo_home: Path) -> None:
    app = make_app(demo_home)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        panel = app.screen.query_one(SandboxDetailPanel)

        def status_width() -> int:
            runs = panel.query_one("#run-table", DataTable)
            return [c.get_render_width(runs) for c in runs.columns.values()][1]

        await select(pilot, "ci-runner-7")  # no runs: a wide "no runs recorded" row
        assert panel.detail is not None and not panel.detail.runs
        wide = status_width()
        await select(pilot, "trainer-gpu")
        assert panel.detail is not None and panel.detail.row.name == "trainer-gpu"
        assert status_width() < wide
        assert status_width() == len("running") + 2  # the widest cell, plus DataTable's cell padding
