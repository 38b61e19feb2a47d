"""``ConfigForm``: the config editor's form, one tab per section of ``LocalConfig``.

The form is built from the models (:func:`backend.config.document.form_sections`) and shows a
:class:`ConfigDocument`; it never edits the document itself. Edits leave as messages from its rows.
"""

from __future__ import annotations

from collections.abc import Mapping

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Static, TabbedContent, TabPane

from backend.config.document import SDK_KEYS, ConfigDocument, Issue, KeyPath, form_sections
from tui.screens.config.field import ConfigFieldRow
from tui.screens.config.hosts import ConfigHostsPane


class SectionScroll(VerticalScroll, can_focus=False):
    """A section's rows; not a focus stop itself, so Tab goes straight to the first field."""


def section_help(text: str) -> Content:
    """A section's doc with ``code`` spans in italics."""
    return Content.assemble(*((chunk, "italic") if index % 2 else chunk
                              for index, chunk in enumerate(text.split("``"))))


class ConfigForm(Vertical):
    """Tabs General, Database, Paths, Sandbox defaults, Registries (with hosts) and Metrics."""

    DEFAULT_CSS = """
    ConfigForm {
        height: 1fr;
        width: 100%;
        & TabbedContent { height: 1fr; }
        & TabPane { padding: 0; height: 1fr; }
        & .cfg-section-scroll { height: 1fr; }
        & .cfg-section-help { color: $text-muted; padding: 0 2 1 2; }
        & .cfg-section-notes { color: $text-warning; padding: 0 2 1 2; }
    }
    """

    def __init__(self, *, read_only: bool = False) -> None:
        super().__init__(id="cfg-form")
        self.read_only = read_only
        self._rows: list[ConfigFieldRow] | None = None

    def compose(self) -> ComposeResult:
        with TabbedContent(id="cfg-tabs"):
            for section in form_sections():
                with TabPane(section.title, id=f"cfg-pane-{section.key}"), \
                        SectionScroll(classes="cfg-section-scroll"):
                    yield Static(section_help(section.help), classes="cfg-section-help")
                    yield Static("", id=f"cfg-notes-{section.key}", classes="cfg-section-notes", markup=False)
                    for spec in section.fields:
                        yield ConfigFieldRow(spec, read_only=self.read_only)
                    if section.key == "registries":
                        yield ConfigHostsPane(read_only=self.read_only)

    @property
    def hosts_pane(self) -> ConfigHostsPane:
        """The registry hosts pane."""
        return self.query_one(ConfigHostsPane)

    def rows(self) -> list[ConfigFieldRow]:
        """Every field row of the fixed sections (not the host rows)."""
        if self._rows is None:
            self._rows = [row for row in self.query(ConfigFieldRow) if row.spec.path[:2] != ("registries", "hosts")]
        return self._rows

    async def sync(self, doc: ConfigDocument, issues: Mapping[KeyPath, Issue], *,
                   skip: KeyPath | None = None, select_host: str | None = None) -> None:
        """Show ``doc`` and its issues; ``skip`` is the key being typed into (its input stays as is)."""
        for row in self.rows():
            path = row.spec.path
            row.sync(doc.effective(path), doc.is_set(path), _issue_for(path, issues), update_editor=path != skip)
        for section in form_sections():
            lines = [f"{'⚠' if issue.severity == 'warning' else '✗'} {issue.where}: {issue.message}"
                     for path, issue in issues.items()
                     if _section_of(path) == section.key and not self._shown_on_a_row(path, issue)]
            if section.key == "general":
                sdk = [key for key in SDK_KEYS if key in doc.data]
                if sdk:
                    lines.insert(0, f"Kept as they are: {', '.join(sdk)} (the SDK's profile keys).")
            note = self.query_one(f"#cfg-notes-{section.key}", Static)
            note.update("\n".join(lines))
            note.display = bool(lines)
        await self.hosts_pane.sync(doc, issues, skip=skip, select=select_host)

    def _shown_on_a_row(self, path: KeyPath, issue: Issue) -> bool:
        """True when a field row (or the hosts table) already shows this issue."""
        if issue.severity == "warning":
            return False
        if path[:2] == ("registries", "hosts") and len(path) >= 3:
            return True
        return any(row.spec.path[:len(path)] == path for row in self.rows())

    def show_path(self, path: KeyPath) -> None:
        """Switch to the tab holding ``path`` and focus its input."""
        tabs = self.query_one(TabbedContent)
        section = _section_of(path)
        if section in {s.key for s in form_sections()}:
            tabs.active = f"cfg-pane-{section}"
        for row in self.query(ConfigFieldRow):
            if row.spec.path == path and row.display:
                row.editor.focus()
                row.scroll_visible()
                return


def _section_of(path: KeyPath) -> str:
    return path[0] if len(path) > 1 and path[0] in {s.key for s in form_sections()} else "general"


def _issue_for(path: KeyPath, issues: Mapping[KeyPath, Issue]) -> Issue | None:
    """The issue of ``path``, or of its section when the section itself is wrong (not an object)."""
    if path in issues:
        return issues[path]
    for end in range(len(path) - 1, 0, -1):
        issue = issues.get(path[:end])
        if issue is not None and issue.severity == "error":
            return Issue(path, f"{issue.where}: {issue.message}")
    return None
