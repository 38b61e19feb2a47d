"""``ConfigRawEditor``: config.json as raw JSON text, checked as you type.

It is the repair view for a file that does not parse (the cursor starts on the error's line and
column), and the raw-JSON view of the form. Saving or applying is offered only once the text parses
and matches microsandbox's schema.
"""

from __future__ import annotations

from typing import Literal

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Button, Static, TextArea

from backend.config.changes import TextCheck, check_text

RawMode = Literal["repair", "raw"]


class ConfigRawEditor(Vertical):
    """A JSON text area with a live check line and Save (repair) or Apply (raw) buttons."""

    DEFAULT_CSS = """
    ConfigRawEditor {
        height: 1fr;
        width: 100%;
        & > #cfg-raw-intro { padding: 0 1; width: 100%; }
        & > #cfg-raw-intro.-problem { color: $text-error; }
        & > #cfg-raw-text { height: 1fr; }
        & > #cfg-raw-status { height: auto; padding: 0 1; }
        & > #cfg-raw-status.-bad { color: $text-error; text-style: bold; }
        & > #cfg-raw-status.-good { color: $text-success; }
        & > #cfg-raw-buttons { height: 1; padding: 0 1; }
        & > #cfg-raw-buttons Button { margin-right: 2; }
    }
    """

    class SaveRequested(Message):
        """Save this text as config.json (repair mode)."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class ApplyRequested(Message):
        """Take this text back into the form (raw mode)."""

        def __init__(self, text: str, check: TextCheck) -> None:
            super().__init__()
            self.text = text
            self.check = check

    class LeaveRequested(Message):
        """Back to the form without applying (raw mode), or reload from disk (repair mode)."""

    def __init__(self, text: str, *, mode: RawMode, intro: str, read_only: bool = False) -> None:
        super().__init__(id="cfg-raw")
        self.initial_text = text
        self.mode: RawMode = mode
        self.intro = intro
        self.read_only = read_only
        self.check = check_text(text)

    def compose(self) -> ComposeResult:
        yield Static(self.intro, id="cfg-raw-intro", markup=False, classes="-problem" if self.mode == "repair"
                     else "")
        yield TextArea(self.initial_text, language="json", show_line_numbers=True, id="cfg-raw-text",
                       read_only=self.read_only, tab_behavior="indent")
        yield Static("", id="cfg-raw-status")
        with Horizontal(id="cfg-raw-buttons"):
            if self.mode == "repair":
                yield Button("Save repaired file", id="cfg-raw-save", compact=True, variant="primary",
                             disabled=True)
                yield Button("Reload from disk", id="cfg-raw-leave", compact=True)
            else:
                yield Button("Apply to form", id="cfg-raw-apply", compact=True, variant="primary",
                             disabled=True)
                yield Button("Back to form", id="cfg-raw-leave", compact=True)
            yield Button("Go to problem", id="cfg-raw-goto", compact=True)

    def on_mount(self) -> None:
        self._show_check()
        self.go_to_problem()

    @property
    def text_area(self) -> TextArea:
        """The JSON text area."""
        return self.query_one("#cfg-raw-text", TextArea)

    @property
    def text(self) -> str:
        """The text as edited."""
        return self.text_area.text

    @property
    def modified(self) -> bool:
        """True when the text differs from what the view opened with."""
        return self.text != self.initial_text

    def go_to_problem(self) -> None:
        """Put the cursor on the line and column of the first problem, if there is one."""
        check = self.check
        if check.line is None:
            return
        area = self.text_area
        row = max(0, min(check.line - 1, area.document.line_count - 1))
        column = max(0, min((check.column or 1) - 1, len(area.document.get_line(row))))
        area.move_cursor((row, column), center=True)
        area.focus()

    def _show_check(self) -> None:
        check = self.check
        status = self.query_one("#cfg-raw-status", Static)
        warnings = [issue for issue in check.issues if issue.severity == "warning"]
        if check.ok:
            tail = f" ({len(warnings)} warning{'s' if len(warnings) != 1 else ''}: " \
                   f"{warnings[0].where}: {warnings[0].message})" if warnings else ""
            status.update(Content.assemble(("✓ " + check.summary, ""), tail))
        else:
            status.update(Content("✗ " + check.summary))
        status.set_class(not check.ok, "-bad")
        status.set_class(check.ok, "-good")
        allowed = check.ok and not self.read_only
        for button in self.query("#cfg-raw-save, #cfg-raw-apply").results(Button):
            button.disabled = not allowed
        self.query_one("#cfg-raw-goto", Button).display = check.line is not None

    @on(TextArea.Changed, "#cfg-raw-text")
    def _text_changed(self, event: TextArea.Changed) -> None:
        event.stop()
        self.check = check_text(self.text)
        self._show_check()

    @on(Button.Pressed, "#cfg-raw-save")
    def _save(self, event: Button.Pressed) -> None:
        event.stop()
        if self.check.ok:
            self.post_message(self.SaveRequested(self.text))

    @on(Button.Pressed, "#cfg-raw-apply")
    def _apply(self, event: Button.Pressed) -> None:
        event.stop()
        if self.check.ok:
            self.post_message(self.ApplyRequested(self.text, self.check))

    @on(Button.Pressed, "#cfg-raw-leave")
    def _leave(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.LeaveRequested())

    @on(Button.Pressed, "#cfg-raw-goto")
    def _goto(self, event: Button.Pressed) -> None:
        event.stop()
        self.go_to_problem()
