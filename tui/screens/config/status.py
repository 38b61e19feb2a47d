"""The config editor's title line (which file, where it comes from, read-only) and status line
(unsaved changes, errors that block saving, warnings, undo offer)."""

from __future__ import annotations

import os
from pathlib import Path

from textual.content import Content
from textual.widgets import Static

from backend.config.changes import Change
from backend.config.document import Issue


def shown_path(path: Path) -> str:
    """``path`` with the user's home folder as ``~`` (short, and stable in snapshots)."""
    try:
        return "~/" + str(path.relative_to(Path.home()))
    except ValueError:
        return str(path)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


class ConfigTitleLine(Static):
    """``config.json ~/.microsandbox/config.json (MSB_CONFIG_PATH) · read-only``."""

    DEFAULT_CSS = """
    ConfigTitleLine { height: 1; width: 100%; padding: 0 1; background: $boost; }
    """

    def show(self, path: Path, *, exists: bool | None, read_only: bool) -> None:
        """Describe the file being edited."""
        parts: list[str | tuple[str, str]] = [("config.json ", "bold"), shown_path(path)]
        if os.environ.get("MSB_CONFIG_PATH") == str(path):
            parts.append((" (MSB_CONFIG_PATH)", "$text-muted"))
        if exists is False:
            parts.append((" · no file yet: defaults apply", "$text-muted"))
        if read_only:
            parts.append((" · read-only: nothing can be saved", "bold $text-warning"))
        self.update(Content.assemble(*parts))


class ConfigStatusLine(Static):
    """What saving would do now, and whether it is allowed."""

    DEFAULT_CSS = """
    ConfigStatusLine { height: 1; width: 100%; padding: 0 1; background: $boost; }
    """

    def show(self, view: str, changes: list[Change], issues: list[Issue], *, can_undo: bool) -> None:
        """Summarise the form (``view == "form"``) or name the raw/repair view."""
        parts: list[str | tuple[str, str]] = []
        if view == "form":
            if changes:
                parts.append(("● " + _plural(len(changes), "unsaved change"), "bold"))
            else:
                parts.append(("no unsaved changes", "$text-muted"))
            errors = [issue for issue in issues if issue.severity == "error"]
            warnings = len(issues) - len(errors)
            if errors:
                blocking = f"✗ {_plural(len(errors), 'error')} block saving: {errors[0].where}"
                parts += ["  ", (blocking, "bold $text-error")]
            if warnings:
                parts += ["  ", ("⚠ " + _plural(warnings, "warning"), "$text-warning")]
        elif view == "repair":
            parts.append(("repair view: the file on disk does not parse; fix it, then save", "bold $text-error"))
        elif view == "raw":
            parts.append(("raw JSON: Apply returns to the form", "$text-muted"))
        if can_undo:
            parts += ["  ", ("saved · u undoes the save", "$text-success")]
        self.update(Content.assemble(*parts))
