"""Unit and small Pilot tests of the shared pieces: clipboard, guard, formatting, layout, confirm."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

from tui import clipboard
from tui.format import age, memory, status_kind, status_label
from tui.guard import MUTATING_ACTIONS, action_key, is_mutating, mutating
from tui.modals.confirm import ConfirmModal
from tui.modals.dialog import Dialog
from tui.modals.help import HelpModal
from tui.screens.config.modals import ConfigConflictModal, ConfigDiffModal, HostNameModal
from tui.screens.sandboxes.screen import SandboxListScreen
from tui.widgets.virtual_table import Column, layout_columns

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


# -- clipboard ----------------------------------------------------------------------------------


def _payload(sequence: str) -> str:
    start = sequence.index("]52;c;") + len("]52;c;")
    return base64.b64decode(sequence[start:sequence.index("\x07", start)]).decode()


def test_plain_terminal_gets_one_bare_osc52() -> None:
    plan = clipboard.plan_copy("héllo", env={})
    assert plan.ok and len(plan.sequences) == 1
    assert plan.sequences[0].startswith("\x1b]52;c;") and _payload(plan.sequences[0]) == "héllo"
    assert plan.size == len("héllo".encode())


def test_tmux_gets_the_bare_and_the_passthrough_form() -> None:
    plan = clipboard.plan_copy("name", env={"TMUX": "/tmp/tmux-0/default,1,0"})
    bare, wrapped = plan.sequences
    assert bare == clipboard.osc52("name")
    assert wrapped.startswith("\x1bPtmux;\x1b\x1b]52;c;") and wrapped.endswith("\x1b\\")
    # Inside the passthrough every ESC is doubled.
    inner = wrapped[len("\x1bPtmux;"):-2]
    assert inner.replace("\x1b\x1b", "\x1b") == bare


def test_screen_gets_chunked_dcs() -> None:
    text = "x" * 500
    (sequence,) = clipboard.plan_copy(text, env={"STY": "1234.pts-0.host"}).sequences
    chunks = sequence.split("\x1b\\")[:-1]
    assert all(chunk.startswith("\x1bP") for chunk in chunks)
    assert all(len(chunk) - 2 <= 76 for chunk in chunks)
    assert "".join(chunk[2:] for chunk in chunks) == clipboard.osc52(text)


def test_oversized_text_is_refused_with_a_reason() -> None:
    plan = clipboard.plan_copy("a" * (clipboard.MAX_COPY_BYTES + 1), env={})
    assert not plan.ok and plan.sequences == ()
    assert plan.error is not None and "not copied" in plan.error


# -- guard --------------------------------------------------------------------------------------


class _FakeApp:
    def __init__(self, allow: bool) -> None:
        self.allow = allow
        self.asked: list[str] = []

    def guard_write(self, action: str) -> bool:
        self.asked.append(action)
        return self.allow


class _Widget:
    def __init__(self, allow: bool) -> None:
        self.app = _FakeApp(allow)
        self.done = 0

    @mutating("do a test thing")
    def action_sync(self) -> str:
        self.done += 1
        return "ran"

    @mutating("do an async test thing")
    async def action_async(self) -> str:
        self.done += 1
        return "ran"


async def test_mutating_runs_only_when_the_guard_allows() -> None:
    allowed, refused = _Widget(True), _Widget(False)
    assert allowed.action_sync() == "ran" and await allowed.action_async() == "ran"
    assert refused.action_sync() is None and await refused.action_async() is None
    assert allowed.done == 2 and refused.done == 0
    assert refused.app.asked == ["do a test thing", "do an async test thing"]


def test_mutating_actions_are_registered() -> None:
    assert MUTATING_ACTIONS[action_key(_Widget.action_sync.__wrapped__)] == "do a test thing"  # type: ignore[attr-defined]
    assert is_mutating(SandboxListScreen.action_remove)
    assert "remove sandbox" in MUTATING_ACTIONS.values()
    assert not is_mutating(SandboxListScreen.action_copy_name)


# -- formatting and layout ----------------------------------------------------------------------


@pytest.mark.parametrize(("delta", "expected"), [
    (timedelta(seconds=5), "5s"), (timedelta(minutes=12), "12m"), (timedelta(hours=3), "3h"),
    (timedelta(days=5), "5d"), (timedelta(days=240), "8mo"), (timedelta(days=800), "2y"),
    (timedelta(seconds=-30), "future"),
])
def test_age(delta: timedelta, expected: str) -> None:
    assert age(NOW - delta, NOW) == expected


def test_age_of_unknown_and_naive_times() -> None:
    assert age(None, NOW) == "-"
    assert age(datetime(2026, 11, 28, 11, 0), NOW) == "1h"


def test_memory_and_status() -> None:
    assert [memory(m) for m in (None, 256, 1024, 1536, 16384)] == ["-", "256M", "1G", "1.5G", "16G"]
    assert status_label("Running") == "● running" and status_kind("Running") == "running"
    assert status_label("Crashed") == "✖ crashed" and status_kind("Crashed") == "crashed"
    assert status_label("Hibernating") == "? hibernating" and status_kind("Hibernating") == "unknown"
    symbols = {status_label(s).split()[0] for s in ("Running", "Stopped", "Crashed", "Paused", "Draining")}
    assert len(symbols) == 5, "every status has its own symbol, never colour alone"


def test_layout_fills_the_width_and_keeps_minimums() -> None:
    columns = [Column("a", "A", weight=3, min_width=5), Column("b", "B", width=10), Column("c", "C", weight=1)]
    widths = layout_columns(columns, 80)
    assert widths[1] == 10 and sum(widths) + 2 == 80
    assert widths[0] > widths[2]
    narrow = layout_columns(columns, 12)
    assert narrow[0] >= 5 and narrow[2] >= 4


# -- confirm modal ------------------------------------------------------------------------------


class _ConfirmHost(App[None]):
    def __init__(self, typed_name: str | None) -> None:
        super().__init__()
        self.typed_name = typed_name
        self.results: list[bool | None] = []

    def compose(self) -> ComposeResult:
        yield Label("host")

    def on_mount(self) -> None:
        self.push_screen(ConfirmModal("Delete thing?", ["• one", "• two"], "Delete", self.typed_name),
                         self.results.append)


async def test_confirm_without_a_name_defaults_to_cancel() -> None:
    app = _ConfirmHost(None)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.focused, Button) and app.focused.id == "cancel"
        assert not app.screen.query_one("#confirm", Button).disabled
        await pilot.press("enter")
        await pilot.pause()
    assert app.results == [False]


async def test_confirm_button_press_confirms() -> None:
    app = _ConfirmHost(None)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.click("#confirm")
        await pilot.pause()
    assert app.results == [True]


async def test_typed_name_must_match_exactly() -> None:
    app = _ConfirmHost("web-1")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        modal: Any = app.screen
        box = modal.query_one(Input)
        box.value = "WEB-1"
        await pilot.pause()
        assert modal.query_one("#confirm", Button).disabled
        await pilot.click("#confirm")
        assert isinstance(app.screen, ConfirmModal)
        box.value = "web-1"
        await pilot.pause()
        assert not modal.query_one("#confirm", Button).disabled
        await pilot.press("escape")
        await pilot.pause()
    assert app.results == [False]



class _DialogHost(App[None]):
    def __init__(self, dialog: ModalScreen[Any]) -> None:
        super().__init__()
        self.dialog = dialog
        self.results: list[object] = []

    def compose(self) -> ComposeResult:
        yield Label("host")

    def on_mount(self) -> None:
        self.push_screen(self.dialog, self.results.append)


DIALOGS: list[tuple[Callable[[], ModalScreen[Any]], object]] = [
    (lambda: ConfirmModal("Delete?", ["• x"], "Delete"), False),
    (lambda: ConfigDiffModal([], [], "+a\n"), False),
    (lambda: ConfigConflictModal("-a\n+b\n"), "cancel"),
    (lambda: HostNameModal("Add a host", ["ghcr.io"]), None),
    (lambda: HelpModal("Help", [("q", "Quit")]), None),
]


@pytest.mark.parametrize("how", ["escape", "cancel button"])
@pytest.mark.parametrize(("make", "expected"), DIALOGS)
async def test_every_dialog_cancels_with_its_harmless_answer(
    make: Callable[[], ModalScreen[Any]], expected: object, how: str
) -> None:
    """The ``Dialog`` base owns Esc and the Cancel button; each dialog says what cancel means."""
    dialog = make()
    assert isinstance(dialog, Dialog)
    app = _DialogHost(dialog)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        if how == "escape":
            await pilot.press("escape")
        elif dialog.query("#cancel"):
            await pilot.click("#cancel")
        else:
            pytest.skip("no Cancel button (Esc closes it)")
        await pilot.pause()
        assert app.results == [expected]
