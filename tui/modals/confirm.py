"""``ConfirmModal``: the one confirmation dialog for anything destructive.

It lists exactly what will happen, focuses Cancel, cancels on Esc, and with ``typed_name`` keeps the
confirm button disabled until the operator has typed that name.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Label, Static

from tui.format import printable
from tui.modals.dialog import Dialog


class ConfirmModal(Dialog[bool]):
    """Ask before acting. Dismisses with True only when the confirm button is pressed."""

    DEFAULT_CSS = """
    ConfirmModal {
        & > #confirm-dialog { border: thick $error; }
        & #confirm-title { text-style: bold; width: 100%; padding-bottom: 1; }
        & #confirm-lines { height: auto; max-height: 12; }
        & .confirm-line { width: 100%; }
        & #confirm-prompt { padding-top: 1; }
        & #confirm-input { margin: 0; }
        & #confirm-buttons { height: auto; align-horizontal: right; padding-top: 1; }
        & #confirm-buttons Button { margin-left: 2; min-width: 10; }
    }
    """

    def __init__(
        self,
        title: str,
        lines: list[str],
        confirm_label: str,
        typed_name: str | None = None,
    ) -> None:
        super().__init__(cancel_result=False)
        self.title_text = title
        self.lines = list(lines)
        self.confirm_label = confirm_label
        self.typed_name = typed_name

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-dialog", classes="dialog-frame"):
            yield Label(printable(self.title_text), id="confirm-title", markup=False)
            with VerticalScroll(id="confirm-lines"):
                for line in self.lines:
                    yield Static(printable(line), classes="confirm-line", markup=False)
            if self.typed_name is not None:
                yield Label(f"Type {self.typed_name!r} to confirm:", id="confirm-prompt", markup=False)
                yield Input(placeholder=self.typed_name, id="confirm-input")
            with Horizontal(id="confirm-buttons"):
                yield Button("Cancel", id="cancel", variant="default")
                yield Button(
                    self.confirm_label,
                    id="confirm",
                    variant="error",
                    disabled=self.typed_name is not None,
                )

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    @property
    def name_matches(self) -> bool:
        """True when no name is required or the typed text equals it exactly."""
        if self.typed_name is None:
            return True
        return self.query_one("#confirm-input", Input).value == self.typed_name

    @on(Input.Changed, "#confirm-input")
    def _enable_when_typed(self) -> None:
        self.query_one("#confirm", Button).disabled = not self.name_matches

    @on(Input.Submitted, "#confirm-input")
    def _submit_when_typed(self) -> None:
        if self.name_matches:
            self.dismiss(True)

    @on(Button.Pressed, "#confirm")
    def _confirm(self) -> None:
        if self.name_matches:
            self.dismiss(True)
