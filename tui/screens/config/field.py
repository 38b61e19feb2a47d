"""``ConfigFieldRow``: one key of config.json in the config editor.

A row shows the key, an input that fits its type (switch, choice, number, path or text), whether the
key is set in the file or falls back to its default, a reset button, the key's help (from the model's
field docs, including whether microsandbox reads it) and, under it, the key's error or warning.
"""

from __future__ import annotations

import re
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, Input, Select, Static, Switch

from backend.config.document import FieldSpec, Issue, KeyPath

#: The Select value standing for JSON ``null``.
NULL_CHOICE = "\x00null"
_NOT_READ = re.compile(r"\s*(Not read by microsandbox 0\.5\.x[^.]*\.|Ignored by microsandbox[:.]\s*)")


def field_dom_id(path: KeyPath) -> str:
    """A DOM id for the row of ``path`` (host names may hold characters ids do not allow)."""
    return "cfg-" + "-".join(re.sub(r"[^A-Za-z0-9_]", lambda m: f"_{ord(m.group()):x}_", part)
                             for part in path)


def help_content(spec: FieldSpec) -> Content:
    """The help line: a "not read" tag when microsandbox ignores the key, the doc, and the range."""
    doc = spec.help
    parts: list[str | tuple[str, str]] = []
    if not spec.read_by_microsandbox:
        parts.append(("not read by microsandbox 0.5.x", "bold $text-warning"))
        parts.append(" · ")
        doc = _NOT_READ.sub(" ", doc).strip()
        doc = doc[:1].upper() + doc[1:]
    for index, chunk in enumerate(doc.split("``")):
        parts.append((chunk, "italic") if index % 2 else chunk)
    if spec.kind == "number" and spec.minimum is not None:
        if spec.maximum is not None and spec.maximum < 2**40:
            if f"{spec.minimum}-{spec.maximum}" not in doc:
                parts.append(f" Range {spec.minimum}–{spec.maximum:,}.")
        else:
            parts.append(f" A whole number, {spec.minimum} or more.")
    return Content.assemble(*parts)


def display_value(value: Any) -> str:
    """How a value shows in a text input (``null`` is an empty input)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else repr(value)


class ConfigFieldRow(Vertical):
    """One editable key: label, input, set/default marker, reset button, help and error."""

    DEFAULT_CSS = """
    ConfigFieldRow {
        height: auto;
        width: 100%;
        padding: 0 1 1 1;
        & > .cfg-row-line { height: 1; width: 100%; }
        & .cfg-label { width: 26; height: 1; text-style: bold; }
        & .cfg-editor { width: 1fr; height: 1; }
        & Input.cfg-editor { border: none; padding: 0 1; background: $boost; }
        & Input.cfg-editor:focus { background: $surface-lighten-1; }
        & Select.cfg-editor { height: 1; }
        & Switch.cfg-editor { border: none; height: 1; width: 6; padding: 0 1; }
        & .cfg-switch-label { width: auto; height: 1; padding: 0 1; }
        & .cfg-spacer { width: 1fr; height: 1; }
        & .cfg-marker { width: 9; height: 1; padding: 0 1; color: $text-muted; }
        & .cfg-marker.-set { color: $text-accent; text-style: bold; }
        & .cfg-reset { width: 7; min-width: 7; height: 1; }
        & .cfg-help { color: $text-muted; width: 100%; padding-left: 2; }
        & .cfg-issue { width: 100%; padding-left: 2; display: none; }
        & .cfg-issue.-error { display: block; color: $text-error; text-style: bold; }
        & .cfg-issue.-warning { display: block; color: $text-warning; }
        &.-invalid .cfg-label { color: $text-error; }
        &.-invalid Input.cfg-editor { background: $error 20%; }
    }
    """

    class ValueEdited(Message):
        """The user changed the value of ``path`` in the form."""

        def __init__(self, row: ConfigFieldRow, path: KeyPath, value: Any) -> None:
            super().__init__()
            self.row = row
            self.path = path
            self.value = value

    class ResetRequested(Message):
        """The user asked to remove ``path`` from the file so its default applies."""

        def __init__(self, row: ConfigFieldRow, path: KeyPath) -> None:
            super().__init__()
            self.row = row
            self.path = path

    def __init__(self, spec: FieldSpec, *, read_only: bool = False, label: str | None = None) -> None:
        super().__init__(id=field_dom_id(spec.path))
        self.spec = spec
        self.read_only = read_only
        self.label = label or spec.name
        self._value: Any = None
        self._shown: tuple[str, bool, Issue | None] | None = None

    def compose(self) -> ComposeResult:
        spec = self.spec
        with Horizontal(classes="cfg-row-line"):
            yield Static(self.label, classes="cfg-label", markup=False)
            yield self._make_editor()
            if spec.kind in ("switch", "toggle"):
                yield Static(classes="cfg-switch-label", markup=False)
                yield Static(classes="cfg-spacer")
            yield Static("default", classes="cfg-marker")
            yield Button("reset", classes="cfg-reset", compact=True, disabled=True,
                         tooltip="Remove the key from the file so the default applies")
        yield Static(help_content(spec), classes="cfg-help")
        yield Static(classes="cfg-issue", markup=False)

    def _make_editor(self) -> Widget:
        spec = self.spec
        if spec.kind in ("switch", "toggle"):
            return Switch(classes="cfg-editor", disabled=self.read_only)
        if spec.kind == "choice":
            return Select(self._choice_options(None), allow_blank=False, compact=True,
                          classes="cfg-editor", disabled=self.read_only)
        placeholder = "null" if spec.nullable else ""
        if spec.kind == "number":
            placeholder = "null: the built-in value" if spec.nullable else "a whole number"
        elif spec.path[0] == "paths":
            placeholder = "null: the default location"
        elif spec.path == ("home",):
            placeholder = "null: MSB_HOME or ~/.microsandbox"
        return Input(placeholder=placeholder, compact=True, classes="cfg-editor", disabled=self.read_only,
                     select_on_focus=False)

    def _choice_options(self, current: Any) -> list[tuple[str, str]]:
        options = [(choice, choice) for choice in self.spec.choices]
        if self.spec.nullable:
            options.insert(0, ("null", NULL_CHOICE))
        if current is not None and current not in self.spec.choices:
            options.append((f"{current!r} (invalid)", repr(current)))
        return options

    @property
    def editor(self) -> Widget:
        """The input widget of this row."""
        return self.query_one(".cfg-editor", Widget)

    def sync(self, value: Any, is_set: bool, issue: Issue | None, *, update_editor: bool = True) -> None:
        """Show ``value`` (the effective value), the set/default marker and the key's issue."""
        shown = (repr(value), is_set, issue)
        if shown == self._shown:
            return  # nothing changed: typing elsewhere must not cost a relayout here
        self._shown = shown
        self._value = value
        marker = self.query_one(".cfg-marker", Static)
        marker.update("set" if is_set else "default")
        marker.set_class(is_set, "-set")
        reset = self.query_one(".cfg-reset", Button)
        reset.disabled = self.read_only or not is_set
        reset.display = not self.read_only
        line = self.query_one(".cfg-issue", Static)
        line.set_class(issue is not None and issue.severity == "error", "-error")
        line.set_class(issue is not None and issue.severity == "warning", "-warning")
        line.update(("✗ " if issue.severity == "error" else "⚠ ") + issue.message if issue else "")
        self.set_class(issue is not None and issue.severity == "error", "-invalid")
        if update_editor:
            self._show_value(value)

    def _show_value(self, value: Any) -> None:
        editor = self.editor
        with editor.prevent(Input.Changed, Select.Changed, Switch.Changed):
            if isinstance(editor, Switch):
                editor.value = bool(value) if self.spec.kind == "switch" else isinstance(value, dict)
                label = ("true" if editor.value else "false") if self.spec.kind == "switch" else (
                    "credentials below" if editor.value else "null: no credentials in the file")
                self.query_one(".cfg-switch-label", Static).update(label)
            elif isinstance(editor, Select):
                editor.set_options(self._choice_options(value))
                if value is None:
                    editor.value = NULL_CHOICE if self.spec.nullable else Select.BLANK
                else:
                    editor.value = value if value in self.spec.choices else repr(value)
            elif isinstance(editor, Input):
                shown = self._parse(editor.value)
                if shown != value or type(shown) is not type(value):
                    editor.value = display_value(value)

    def _parse(self, text: str) -> Any:
        """The JSON value typed text stands for; text that is no number stays text (and fails)."""
        spec = self.spec
        if spec.kind == "number":
            stripped = text.strip()
            if not stripped:
                return None if spec.nullable else text
            return int(stripped) if re.fullmatch(r"[-+]?\d+", stripped) else text
        if not text and spec.nullable:
            return None
        return text

    def _edited(self, value: Any) -> None:
        """Report ``value`` unless it is what the row already shows (an echo of :meth:`sync`)."""
        shown = self._value
        if self.spec.kind == "toggle":
            shown = isinstance(shown, dict)
        if value == shown and type(value) is type(shown):
            return
        self._value = value if self.spec.kind != "toggle" else self._value
        self.post_message(self.ValueEdited(self, self.spec.path, value))

    @on(Input.Changed, ".cfg-editor")
    def _input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._edited(self._parse(event.value))

    @on(Select.Changed, ".cfg-editor")
    def _select_changed(self, event: Select.Changed) -> None:
        event.stop()
        if event.value is Select.BLANK or event.value != event.select.value:
            return  # a stale change from before the row showed its value
        chosen: Any = None if event.value == NULL_CHOICE else event.value
        if chosen not in self.spec.choices and chosen is not None:
            return  # the invalid value from the file, chosen again: nothing to change
        self._edited(chosen)

    @on(Switch.Changed, ".cfg-editor")
    def _switch_changed(self, event: Switch.Changed) -> None:
        event.stop()
        if event.value != event.switch.value:
            return
        self._edited(event.value)

    @on(Button.Pressed, ".cfg-reset")
    def _reset_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.ResetRequested(self, self.spec.path))
