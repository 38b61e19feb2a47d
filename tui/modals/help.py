"""``HelpModal``: the keys of the screen it was opened from, plus that screen's own help text."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Label, Static

from tui.modals.dialog import Dialog

GLOBAL_HELP = """\
Keys work everywhere unless a text box has the focus (then Esc leaves it first).
Mouse: click tabs, rows and column headers; hold Shift (Option on macOS) to select text
in most terminals. Copy (y/Y) uses OSC 52, which works over SSH; inside tmux it needs
`set -g set-clipboard on` or `set -g allow-passthrough on`.
NO_COLOR=1 turns colour off; the default theme uses your terminal's own colours."""


class HelpModal(Dialog[None]):
    """A scrollable list of ``(key, description)`` rows and a paragraph of help."""

    DEFAULT_CSS = """
    HelpModal {
        & > #help-dialog { width: 90; border: round $primary; }
        & #help-title { text-style: bold; padding-bottom: 1; }
        & #help-body { height: auto; max-height: 1fr; }
        & .help-text { padding-top: 1; color: $text-muted; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "close", "Close", id="help.close"),
    ]

    def __init__(self, title: str, keys: list[tuple[str, str]], text: str = "") -> None:
        super().__init__(cancel_result=None)
        self.title_text = title
        self.keys = keys
        self.text = text

    def compose(self) -> ComposeResult:
        width = max((len(key) for key, _ in self.keys), default=4)
        table = Text()
        for index, (key, description) in enumerate(self.keys):
            if index:
                table.append("\n")
            table.append(key.ljust(width + 2), style="bold")
            table.append(description)
        with Vertical(id="help-dialog", classes="dialog-frame"):
            yield Label(self.title_text, id="help-title", markup=False)
            with VerticalScroll(id="help-body"):
                yield Static(table, id="help-keys")
                if self.text:
                    yield Static(self.text, classes="help-text", markup=False)
                yield Static(GLOBAL_HELP, classes="help-text", markup=False)

    def action_close(self) -> None:
        """Close the help."""
        self.action_cancel()
