"""Dialogs of the config editor: the diff to confirm before saving, the on-disk conflict, a host name.

Every dialog focuses its harmless choice first (Cancel) and cancels on Esc.
"""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from backend.config.changes import Change, ImpactNote
from tui.modals.dialog import Dialog


def fit_diff_height(screen: ModalScreen[Any], diff: str) -> None:
    """Size the diff box to its lines, up to 45% of the screen (auto height overshoots in a dialog)."""
    box = screen.query_one(".cfg-diff")
    lines = sum(1 + len(line) // 90 for line in diff.splitlines()) or 1
    box.styles.height = max(3, min(lines + 2, int(screen.app.size.height * 0.45)))


def diff_content(diff: str) -> Content:
    """A unified diff with added lines green, removed lines red and hunk headers dim."""
    parts: list[tuple[str, str]] = []
    for line in diff.splitlines(keepends=True):
        if line.startswith(("+++", "---")):
            style = "bold"
        elif line.startswith("+"):
            style = "$text-success"
        elif line.startswith("-"):
            style = "$text-error"
        elif line.startswith("@@"):
            style = "$text-accent"
        else:
            style = ""
        parts.append((line, style))
    return Content.assemble(*parts) if parts else Content("(no difference)")


_DIALOG_CSS = """
    & > .cfg-dialog { width: 96; }
    & .cfg-dialog-title { text-style: bold; width: 100%; }
    & .cfg-dialog-text { width: 100%; }
    & .cfg-diff { height: auto; max-height: 45vh; min-height: 3; border: round $border; }
    & .cfg-notes { height: auto; max-height: 6; }
    & .cfg-buttons { height: 2; align-horizontal: right; padding-top: 1; }
    & .cfg-buttons Button { margin-left: 2; min-width: 10; height: 1; }
"""


class ConfigDiffModal(Dialog[bool]):
    """The changes, their impact, and the unified diff; True to save."""

    DEFAULT_CSS = "ConfigDiffModal {" + _DIALOG_CSS + "}"

    def __init__(self, changes: list[Change], notes: list[ImpactNote], diff: str, *,
                 title: str = "Save config.json?", confirm_label: str = "Save") -> None:
        super().__init__(cancel_result=False)
        self.changes = changes
        self.notes = notes
        self.diff = diff
        self.title_text = title
        self.confirm_label = confirm_label

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-frame cfg-dialog"):
            yield Label(self.title_text, classes="cfg-dialog-title", markup=False)
            with VerticalScroll(classes="cfg-notes"):
                for change in self.changes:
                    yield Static("• " + change.describe(), classes="cfg-dialog-text", markup=False)
                for note in self.notes:
                    yield Static(Content.assemble(("  ↳ ", "$text-accent"), note.describe()),
                                 classes="cfg-dialog-text")
            with VerticalScroll(classes="cfg-diff", id="cfg-diff-view"):
                yield Static(diff_content(self.diff), classes="cfg-dialog-text")
            yield Static("The previous file is kept as config.json.bak; u undoes the save.",
                         classes="cfg-dialog-text", markup=False)
            with Horizontal(classes="cfg-buttons"):
                yield Button("Cancel", id="cancel", compact=True)
                yield Button(self.confirm_label, id="confirm", variant="primary", compact=True)

    def on_mount(self) -> None:
        fit_diff_height(self, self.diff)
        self.query_one("#cancel", Button).focus()

    @on(Button.Pressed, "#confirm")
    def _confirm(self) -> None:
        self.dismiss(True)


class ConfigConflictModal(Dialog[str]):
    """config.json changed on disk: show how it differs from ours; "reload", "overwrite" or "cancel"."""

    DEFAULT_CSS = "ConfigConflictModal {" + _DIALOG_CSS + "& > .cfg-dialog { border: thick $warning; } }"

    def __init__(self, diff: str) -> None:
        super().__init__(cancel_result="cancel")
        self.diff = diff

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-frame cfg-dialog"):
            yield Label("config.json changed on disk since it was loaded", classes="cfg-dialog-title")
            yield Static(
                "Lines with - are in the file on disk now, lines with + are in your version.\n"
                "Reload: take the file on disk and drop your edits. Overwrite: replace it with yours "
                "(the other edit is kept only in config.json.bak). Cancel: keep editing.",
                classes="cfg-dialog-text", markup=False,
            )
            with VerticalScroll(classes="cfg-diff", id="cfg-conflict-diff"):
                yield Static(diff_content(self.diff), classes="cfg-dialog-text")
            with Horizontal(classes="cfg-buttons"):
                yield Button("Reload", id="reload", compact=True)
                yield Button("Overwrite", id="overwrite", variant="warning", compact=True)
                yield Button("Cancel", id="cancel", variant="primary", compact=True)

    def on_mount(self) -> None:
        fit_diff_height(self, self.diff)
        self.query_one("#cancel", Button).focus()

    @on(Button.Pressed, "#reload, #overwrite")
    def _chosen(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id or "cancel")


class HostNameModal(Dialog[str | None]):
    """Ask for a registry host name (new or renamed); refuses empty and duplicate names."""

    DEFAULT_CSS = "HostNameModal {" + _DIALOG_CSS.replace("width: 96", "width: 60") + """
        & #cfg-host-error { color: $text-error; height: auto; }
    }"""

    def __init__(self, title: str, existing: list[str], initial: str = "") -> None:
        super().__init__(cancel_result=None)
        self.title_text = title
        self.existing = existing
        self.initial = initial

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-frame cfg-dialog"):
            yield Label(self.title_text, classes="cfg-dialog-title", markup=False)
            yield Input(self.initial, placeholder="registry host, for example ghcr.io", id="cfg-host-name")
            yield Static("", id="cfg-host-error", markup=False)
            with Horizontal(classes="cfg-buttons"):
                yield Button("Cancel", id="cancel", compact=True)
                yield Button("OK", id="confirm", variant="primary", disabled=True, compact=True)

    def on_mount(self) -> None:
        self.query_one(Input).focus()
        self._check(self.initial)

    def problem(self, name: str) -> str | None:
        """Why ``name`` cannot be used, or None."""
        if not name:
            return "enter a host name"
        if name != name.strip() or any(char.isspace() for char in name):
            return "a host name has no spaces"
        if name != self.initial and name in self.existing:
            return f"{name} is already in the list"
        return None

    def _check(self, name: str) -> None:
        problem = self.problem(name)
        self.query_one("#cfg-host-error", Static).update(problem if name and problem else "")
        self.query_one("#confirm", Button).disabled = problem is not None or name == self.initial

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        self._check(event.value)

    @on(Input.Submitted)
    @on(Button.Pressed, "#confirm")
    def _confirm(self) -> None:
        name = self.query_one(Input).value
        if self.problem(name) is None and name != self.initial:
            self.dismiss(name)
