"""``VolumeListView``: the volume browser's first view. Summary, ``/`` filter, the table and the detail.

It only arranges and shows what the screen gives it (rows from the catalog, usage states from the
scans); the screen owns the workers and the actions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input, Static

from backend.volumes.models import VolumeInfo
from backend.volumes.xref import VolumeCrossRefs
from tui.screens.volumes.actions import VolumeActions
from tui.screens.volumes.detail import VolumeDetail, detail_renderable
from tui.screens.volumes.summary import summary_text
from tui.screens.volumes.table import (
    DEFAULT_DESCENDING,
    SORT_KEYS,
    UsageState,
    VolumeFilter,
    VolumeRow,
    VolumeTable,
    build_rows,
    sort_rows,
)
from tui.widgets.virtual_table import VirtualTable


class VolumeListView(VolumeActions):
    """Every volume and orphan folder; ``usages`` is the screen's dict, shared and updated in place."""

    DEFAULT_CSS = """
    VolumeListView {
        height: 1fr;
        & > #volume-summary {
            height: 1;
            padding: 0 1;
            & > #summary-counts { width: 1fr; text-wrap: nowrap; text-overflow: ellipsis; }
            & > #summary-info { width: auto; color: $text-muted; padding-left: 1; }
        }
        & > #filter { height: 1; margin: 0 1; &.-invalid { color: $error; text-style: bold; } }
        & > VolumeTable { height: 1fr; min-height: 5; }
    }
    """

    def __init__(self, usages: Mapping[str, UsageState], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.usages = usages
        self.rows: list[VolumeRow] = []
        self.shown: list[VolumeRow] = []
        self.refs: VolumeCrossRefs | None = None
        self.fs_total: int | None = None
        self.home: Path | None = None
        self.volume_filter = VolumeFilter()
        self.sort_key = "name"
        self.descending = False
        self.scan_note = ""

    def compose(self) -> ComposeResult:
        with Horizontal(id="volume-summary"):
            yield Static("", id="summary-counts", markup=False)
            yield Static("", id="summary-info", markup=False)
        yield Input(placeholder="filter: name kind:disk label:k=v by:sandbox flag:writer", id="filter",
                    compact=True)
        yield VolumeTable(id="volume-table")
        yield VolumeDetail(id="volume-detail")

    def on_mount(self) -> None:
        table = self.table
        table.sort_key, table.sort_descending = self.sort_key, self.descending
        table.usages = self.usages
        table.set_message("Opening the catalog…")
        self.query_one("#filter").display = False

    @property
    def table(self) -> VolumeTable:
        """The table."""
        return self.query_one(VolumeTable)

    # -- rows -----------------------------------------------------------------------------------

    def show_volumes(self, infos: Sequence[VolumeInfo], refs: VolumeCrossRefs | None, fs_total: int | None, *,
                     keep_position: bool) -> list[VolumeRow]:
        """Show a fresh read of the catalog; returns the rows (volumes, then orphan folders)."""
        self.refs, self.fs_total = refs, fs_total
        self.rows = build_rows(infos, refs)
        self.table.fs_total = fs_total
        self.show_rows(keep_position=keep_position)
        return self.rows

    def show_rows(self, *, keep_position: bool = True) -> None:
        """Filter and sort the rows again and redraw."""
        shown = sort_rows([r for r in self.rows if self.volume_filter.matches(r)], self.sort_key,
                          self.descending, self.usages)
        self.shown = shown

        async def loader(offset: int, limit: int) -> Sequence[VolumeRow]:
            return shown[offset:offset + limit]

        table = self.table
        if not shown:
            table.set_message(f"No volume matches “{self.volume_filter.text}”. Esc clears the filter."
                              if self.volume_filter.active else
                              "No volumes in this home yet. n creates one (or msb volume create NAME).")
        else:
            table.set_message(None)
        table.reset(len(shown), loader, keep_position=keep_position)
        self.update_summary()
        self.show_detail()

    def update_summary(self) -> None:
        """Redraw the summary line (counts, flags, sort, :attr:`scan_note`)."""
        shown = len(self.shown) if self.volume_filter.active else None
        counts = summary_text(self.rows, self.usages, self.refs, shown)
        self.query_one("#summary-counts", Static).update(counts)
        arrow = "▼" if self.descending else "▲"
        self.query_one("#summary-info", Static).update(f"sort:{self.sort_key}{arrow}{self.scan_note}")

    def selected(self) -> VolumeRow | None:
        """The row under the cursor."""
        index = self.table.cursor_row
        return self.shown[index] if 0 <= index < len(self.shown) else None

    def show_detail(self) -> None:
        """Describe the selected row under the table."""
        row = self.selected()
        detail = self.query_one(VolumeDetail)
        if row is None:
            detail.show("No volume selected.")
        else:
            detail.show(detail_renderable(row, self.usages.get(row.name), self.home, self.fs_total))

    def usage_changed(self, name: str) -> None:
        """The usage of ``name`` changed: redraw it (and re-sort when sorted by usage)."""
        if self.sort_key in ("used", "files"):
            self.show_rows()
            return
        self.table.refresh()
        row = self.selected()
        if row is not None and row.name == name:
            self.show_detail()
        self.update_summary()

    def select(self, name: str) -> bool:
        """Put the cursor on ``name`` (clearing a filter that hides it); False when there is no such row."""
        if self.volume_filter.active and name not in {row.name for row in self.shown}:
            self.clear_filter()
        for index, row in enumerate(self.shown):
            if row.name == name:
                self.table.move_cursor(index)
                self.show_detail()
                return True
        return False

    @on(VirtualTable.CursorMoved, "#volume-table")
    def _cursor_moved(self, event: VirtualTable.CursorMoved) -> None:
        event.stop()
        self.show_detail()

    # -- filter and sort ------------------------------------------------------------------------

    def show_filter(self) -> None:
        """Show and focus the filter box."""
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        box = event.input
        try:
            parsed = VolumeFilter.parse(event.value)
        except ValueError as exc:
            box.set_class(True, "-invalid")
            box.tooltip = str(exc)
            return
        box.set_class(False, "-invalid")
        box.tooltip = None
        self.volume_filter = parsed
        self.show_rows(keep_position=False)

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if not event.value:
            event.input.display = False
        self.table.focus()

    def clear_filter(self) -> bool:
        """Empty and hide the filter box; False when there was nothing to clear."""
        box = self.query_one("#filter", Input)
        if not box.display and not self.volume_filter.active:
            return False
        box.value = ""
        box.display = False
        self.volume_filter = VolumeFilter()
        self.show_rows(keep_position=False)
        self.table.focus()
        return True

    def set_sort(self, key: str, descending: bool) -> None:
        """Sort by ``key``."""
        self.sort_key, self.descending = key, descending
        self.table.sort_key, self.table.sort_descending = key, descending
        self.show_rows(keep_position=True)

    def cycle_sort(self) -> None:
        """Sort by the next column."""
        key = SORT_KEYS[(SORT_KEYS.index(self.sort_key) + 1) % len(SORT_KEYS)]
        self.set_sort(key, DEFAULT_DESCENDING.get(key, False))

    def reverse_sort(self) -> None:
        """Reverse the order."""
        self.set_sort(self.sort_key, not self.descending)

    @on(VirtualTable.HeaderClicked, "#volume-table")
    def _header_clicked(self, event: VirtualTable.HeaderClicked) -> None:
        event.stop()
        key = event.column.sort_key
        if key is not None:
            same = key == self.sort_key
            self.set_sort(key, not self.descending if same else DEFAULT_DESCENDING.get(key, False))
