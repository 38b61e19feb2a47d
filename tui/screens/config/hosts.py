"""``ConfigHostsPane``: the registry hosts of config.json as a table, with the selected host's settings.

Adding and renaming ask for the name here; the result, like removing, is a message the screen carries
out on its document;
the selected host's keys are ordinary :class:`ConfigFieldRow` rows, so they validate as you type.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, DataTable, Static

from backend.config.document import (
    AUTH_SOURCES,
    HOSTS_PATH,
    ConfigDocument,
    Issue,
    KeyPath,
    host_field_specs,
)
from tui.screens.config.field import ConfigFieldRow
from tui.screens.config.modals import HostNameModal


def auth_summary(entry: Any) -> tuple[str, str]:
    """(username, credential source) for the table, as ``msb registry list`` names sources."""
    auth = entry.get("auth") if isinstance(entry, dict) else None
    if not isinstance(auth, dict):
        return "", "none"
    sources = [name for name in AUTH_SOURCES if auth.get(name) is not None]
    source = {0: "unset", 1: sources[0] if sources else ""}.get(len(sources), "multiple")
    return str(auth.get("username", "")), "keyring" if source == "store" else source


class ConfigHostsPane(Vertical):
    """The ``registries.hosts`` table, its buttons, and the fields of the highlighted host."""

    DEFAULT_CSS = """
    ConfigHostsPane {
        height: auto;
        width: 100%;
        padding: 0 1;
        & > #cfg-hosts-title { text-style: bold; padding: 0 1; }
        & > #cfg-hosts-table { height: 2; margin: 0 1; }
        & > #cfg-hosts-empty { color: $text-muted; padding: 0 2; }
        & > #cfg-hosts-buttons { height: 1; margin: 1 1 0 1; }
        & > #cfg-hosts-buttons Button { margin-right: 2; }
        & > #cfg-host-detail { height: auto; margin-top: 1; }
        & > #cfg-host-heading { text-style: bold; padding: 0 1; margin-top: 1; }
    }
    """

    class HostNamed(Message):
        """The user named a new host (``old`` is None) or renamed ``old`` to ``name``."""

        def __init__(self, name: str, old: str | None = None) -> None:
            super().__init__()
            self.name = name
            self.old = old

    class RemoveRequested(Message):
        """The user wants to remove ``host``."""

        def __init__(self, host: str) -> None:
            super().__init__()
            self.host = host

    def __init__(self, *, read_only: bool = False) -> None:
        super().__init__(id="cfg-hosts")
        self.read_only = read_only
        self.selected_host: str | None = None
        self._table_rows: tuple[tuple[str, ...], ...] | None = None
        self._detail_host: str | None = None

    def compose(self) -> ComposeResult:
        yield Static("Hosts (registries.hosts)", id="cfg-hosts-title")
        table: DataTable[Text] = DataTable(id="cfg-hosts-table", cursor_type="row", zebra_stripes=True)
        self._columns = table.add_columns("host", "username", "source", "insecure", "check")
        yield table
        yield Static("No registry hosts in the file: pulls use the keyring, Docker helpers or no auth.",
                     id="cfg-hosts-empty")
        with Horizontal(id="cfg-hosts-buttons"):
            yield Button("Add host", id="cfg-host-add", compact=True, disabled=self.read_only)
            yield Button("Rename", id="cfg-host-rename", compact=True, disabled=True)
            yield Button("Remove", id="cfg-host-remove", compact=True, disabled=True)
        yield Static("", id="cfg-host-heading", markup=False)
        yield Vertical(id="cfg-host-detail")

    @property
    def table(self) -> DataTable[Text]:
        """The hosts table."""
        return self.query_one("#cfg-hosts-table", DataTable)

    async def sync(self, doc: ConfigDocument, issues: Mapping[KeyPath, Issue], *,
                   skip: KeyPath | None = None, select: str | None = None) -> None:
        """Show the document's hosts; keep (or move to ``select``) the highlighted host."""
        hosts = doc.hosts()
        if select is not None:
            self.selected_host = select
        if self.selected_host not in hosts:
            self.selected_host = hosts[0] if hosts else None
        rows = tuple(self._row(doc, host, issues) for host in hosts)
        table = self.table
        previous, self._table_rows = self._table_rows, rows
        if previous is not None and [row[0] for row in previous] == hosts:
            for old, new in zip(previous, rows, strict=True):
                for column, before, after in zip(self._columns, old, new, strict=True):
                    if before != after:
                        table.update_cell(new[0], column, Text(after))
        elif rows != previous:
            table.clear()
            for row in rows:
                # Text cells: a str cell is read as markup, and host names come from the file.
                table.add_row(*(Text(cell) for cell in row), key=row[0])
        if self.selected_host is not None:
            index = hosts.index(self.selected_host)
            if table.cursor_row != index:
                table.move_cursor(row=index)
        table.display = bool(hosts)
        table.styles.height = min(len(hosts) + 1, 8)
        self.query_one("#cfg-hosts-empty").display = not hosts
        self.query_one("#cfg-host-rename", Button).disabled = self.read_only or not hosts
        self.query_one("#cfg-host-remove", Button).disabled = self.read_only or not hosts
        await self._sync_detail(doc, issues, skip)

    def _row(self, doc: ConfigDocument, host: str, issues: Mapping[KeyPath, Issue]) -> tuple[str, ...]:
        entry = doc.get((*HOSTS_PATH, host))
        username, source = auth_summary(entry)
        insecure = "yes" if isinstance(entry, dict) and entry.get("insecure") is True else ""
        prefix = (*HOSTS_PATH, host)
        bad = any(path[:len(prefix)] == prefix and issue.severity == "error" for path, issue in issues.items())
        return host, username, source, insecure, "✗ fix" if bad else "ok"

    async def _sync_detail(self, doc: ConfigDocument, issues: Mapping[KeyPath, Issue],
                           skip: KeyPath | None) -> None:
        detail = self.query_one("#cfg-host-detail", Vertical)
        host = self.selected_host
        heading = self.query_one("#cfg-host-heading", Static)
        heading.update(f"Settings of {host}" if host else "")
        heading.display = host is not None
        if host != self._detail_host:
            self._detail_host = host
            await detail.remove_children()
            if host is not None:
                await detail.mount_all(
                    ConfigFieldRow(spec, read_only=self.read_only, label=".".join(spec.path[3:]))
                    for spec in host_field_specs(host)
                )
            skip = None
        auth_on = host is not None and isinstance(doc.get((*HOSTS_PATH, host, "auth")), dict)
        for row in detail.query(ConfigFieldRow):
            path = row.spec.path
            row.display = len(path) <= 4 or auth_on
            row.sync(doc.effective(path), doc.is_set(path), issues.get(path), update_editor=path != skip)

    @on(DataTable.RowHighlighted, "#cfg-hosts-table")
    def _host_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        if event.cursor_row != event.data_table.cursor_row:
            return  # stale: the table was rebuilt and the cursor moved on since
        host = event.row_key.value if event.row_key is not None else None
        if host is not None and host != self.selected_host:
            self.selected_host = host
            self.post_message(self.SelectionChanged(host))

    class SelectionChanged(Message):
        """Another host was highlighted; the screen re-syncs the detail rows."""

        def __init__(self, host: str) -> None:
            super().__init__()
            self.host = host

    def _hosts(self) -> list[str]:
        return [row[0] for row in self._table_rows or ()]

    @on(Button.Pressed, "#cfg-host-add")
    def _add(self, event: Button.Pressed) -> None:
        event.stop()

        def named(name: str | None) -> None:
            if name:
                self.post_message(self.HostNamed(name))

        self.app.push_screen(HostNameModal("Add a registry host", self._hosts()), named)

    @on(Button.Pressed, "#cfg-host-rename")
    def _rename(self, event: Button.Pressed) -> None:
        event.stop()
        old = self.selected_host
        if old is None:
            return

        def named(name: str | None) -> None:
            if name:
                self.post_message(self.HostNamed(name, old))

        self.app.push_screen(HostNameModal(f"Rename {old}", self._hosts(), initial=old), named)

    @on(Button.Pressed, "#cfg-host-remove")
    def _remove(self, event: Button.Pressed) -> None:
        event.stop()
        if self.selected_host is not None:
            self.post_message(self.RemoveRequested(self.selected_host))
