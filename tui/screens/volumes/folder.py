"""``FolderBrowser``: inside one volume. Breadcrumbs, the scan state, an ncdu-like listing, a preview.

Listing, sorting, filtering and previews run in thread workers (exclusive per group, so a newer
request replaces an older one) that post messages; widgets are only touched in the handlers. Every
result carries the token of the request, and a stale one is dropped. The file actions (pager,
editor, new folder, delete, copy) live in :class:`tui.screens.volumes.file_actions.FileActions`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Container
from textual.timer import Timer
from textual.widgets import Input, Static
from textual.worker import get_current_worker

from backend.errors import BackendError
from backend.volumes.fs import VolumeRoot
from backend.volumes.usage import DirUsage
from tui.screens.volumes.file_actions import FileActions
from tui.screens.volumes.file_preview import FilePreviewPane
from tui.screens.volumes.listing import (
    FILE_DEFAULT_DESCENDING,
    FILE_SORT_KEYS,
    FILE_SORT_LABELS,
    FileRow,
    FileTable,
    FolderListed,
    filter_files,
    list_folder,
    list_image_folder,
    sort_files,
)
from tui.screens.volumes.names import display_name, display_path, entry_label
from tui.screens.volumes.preview import PreviewReady, entry_preview, folder_preview
from tui.screens.volumes.summary import scan_line_text
from tui.screens.volumes.table import UsageState, VolumeRow
from tui.widgets.virtual_table import VirtualTable

PREVIEW_DELAY_SECS = 0.12


class FolderBrowser(FileActions):
    """One volume's folders. :meth:`open_volume` starts it; the screen forwards usage updates."""

    DEFAULT_CSS = """
    FolderBrowser {
        height: 1fr;
        & > #crumbs, & > #scan-line { height: 1; padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis; }
        & > #crumbs { text-style: bold; }
        & > #scan-line { color: $text-muted; }
        & > #writer-banner { height: auto; padding: 0 1; color: $warning; text-style: bold reverse; }
        & > #folder-filter { height: 1; margin: 0 1; }
        & > #panes { height: 1fr; layout: vertical; }
        & > #panes > FileTable { height: 1fr; min-height: 5; }
        & > #panes > FilePreviewPane { height: 40%; min-height: 4; }
        &.-wide > #panes { layout: horizontal; }
        &.-wide > #panes > FilePreviewPane {
            height: 1fr; width: 45%; border-top: none; border-left: solid $primary;
        }
        &.-no-preview > #panes > FilePreviewPane { display: none; }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.volume: VolumeRow | None = None
        self.root: VolumeRoot | None = None
        self.image: Path | None = None
        self.parts: tuple[str, ...] = ()
        self.usage_tree: DirUsage | None = None
        self.state: UsageState | None = None
        self.rows: list[FileRow] = []
        self.shown: list[FileRow] = []
        self.sort_key = "size"
        self.descending = True
        self.filter_text = ""
        self.token = 0
        self.listed = False
        self._remembered: dict[tuple[str, ...], str] = {}
        self._preview_timer: Timer | None = None
        self._preview_key: tuple[Any, ...] | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="crumbs", markup=False)
        yield Static("", id="scan-line", markup=False)
        yield Static("", id="writer-banner", markup=False)
        yield Input(placeholder="filter this folder by name", id="folder-filter", compact=True)
        with Container(id="panes"):
            yield FileTable(id="files")
            yield FilePreviewPane(id="preview")

    def on_mount(self) -> None:
        self.query_one("#folder-filter").display = False
        self.query_one("#writer-banner").display = False

    @property
    def table(self) -> FileTable:
        """The listing."""
        return self.query_one(FileTable)

    # -- opening and navigating -----------------------------------------------------------------

    def open_volume(self, row: VolumeRow, root: VolumeRoot | None, image: Path | None,
                    state: UsageState | None) -> None:
        """Show the top folder of ``row`` (``root`` for a directory volume, ``image`` for a disk one)."""
        self.volume, self.root, self.image = row, root, image
        self.parts = ()
        self.filter_text = ""
        self._remembered.clear()
        box = self.query_one("#folder-filter", Input)
        box.value = ""
        box.display = False
        self.sort_key, self.descending = ("size", True) if image is None else ("name", False)
        self.table.sort_key, self.table.sort_descending = self.sort_key, self.descending
        writers = row.ref.running_writers if row.ref is not None else ()
        banner = self.query_one("#writer-banner", Static)
        banner.display = bool(writers)
        if writers:
            names = ", ".join(f"{m.sandbox} ({m.status.lower()})" for m in writers)
            banner.update(f"! running writer: {display_name(names)} mount{'s' if len(writers) == 1 else ''} "
                          "this volume read-write")
        self.usage_tree = None
        self.set_usage(state, relist=False)
        self.go((), keep_position=False)
        self.table.focus()

    def go(self, parts: tuple[str, ...], *, select: str | None = None, keep_position: bool = False) -> None:
        """List the folder ``parts`` (selecting ``select`` when given)."""
        if self.volume is None:
            return
        if parts != self.parts and self.table.total:
            current = self.current()
            if current is not None:
                self._remembered[self.parts] = current.name
        self.parts = parts
        self.token += 1
        self.listed = False
        self._update_crumbs()
        if not keep_position:
            self.table.set_message(f"Reading {display_path(parts)}…")
        self.query_one(FilePreviewPane).show_message("", "")
        select = select or (None if keep_position else self._remembered.get(parts))
        self._list_worker(self.token, parts, self.root, self.image, self.usage_tree, self.sort_key,
                          self.descending, self.filter_text, select, keep_position)

    def reload(self) -> None:
        """List the current folder again, keeping the selection."""
        self.go(self.parts, keep_position=True)

    def current(self) -> FileRow | None:
        """The entry under the cursor."""
        index = self.table.cursor_row
        return self.shown[index] if 0 <= index < len(self.shown) else None

    def entry_parts(self, row: FileRow) -> tuple[str, ...]:
        """The volume path components of ``row``."""
        return (*self.parts, row.name)

    def up(self) -> bool:
        """Go to the parent folder; False at the top (the caller then leaves the volume)."""
        if not self.parts:
            return False
        self.go(self.parts[:-1], select=self.parts[-1])
        return True

    def enter(self) -> None:
        """Open the folder under the cursor; for a file, open the pager; explain anything else."""
        row = self.current()
        if row is None:
            return
        if row.kind == "directory":
            self.go(self.entry_parts(row))
        elif row.kind == "file":
            self.action_pager()
        elif row.kind == "symlink":
            self.notify("Symlinks are never followed here (they may point outside the volume); "
                        "the preview shows where it points.", timeout=4)
        else:
            label = entry_label(row.name, row.kind, row.mode)
            self.notify(f"{label} is not a regular file: it is not opened.", timeout=4, markup=False)

    def _update_crumbs(self) -> None:
        if self.volume is None:
            return
        crumbs = Text()
        crumbs.append(display_name(self.volume.name), style="bold")
        if self.image is not None:
            crumbs.append(" (inside disk.raw, read-only)", style="dim")
        for part in self.parts:
            crumbs.append(" › ", style="dim")
            crumbs.append(display_name(part))
        if self.filter_text:
            crumbs.append(f"   filter: {display_name(self.filter_text)}", style="italic")
        self.query_one("#crumbs", Static).update(crumbs)

    # -- listing --------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="folder-list", exit_on_error=False)
    def _list_worker(self, token: int, parts: tuple[str, ...], root: VolumeRoot | None, image: Path | None,
                     tree: DirUsage | None, key: str, descending: bool, needle: str, select: str | None,
                     keep_position: bool) -> None:
        worker = get_current_worker()
        try:
            if image is not None:
                rows: list[FileRow] | None = list_image_folder(image, parts)
            else:
                assert root is not None
                rows = list_folder(root, parts, tree.find(parts) if tree is not None else None,
                                   lambda: worker.is_cancelled)
        except BackendError as exc:
            self.post_message(FolderListed(token, None, None, exc.message, select, keep_position))
            return
        except OSError as exc:
            message = f"cannot list {display_path(parts)}: {exc.strerror or exc}"
            self.post_message(FolderListed(token, None, None, message, select, keep_position))
            return
        if rows is None or worker.is_cancelled:
            return
        shown = sort_files(filter_files(rows, needle) if needle else rows, key, descending)
        self.post_message(FolderListed(token, rows, shown, None, select, keep_position))

    @work(thread=True, exclusive=True, group="folder-list", exit_on_error=False)
    def _arrange_worker(self, token: int, rows: list[FileRow], key: str, descending: bool, needle: str,
                        select: str | None) -> None:
        shown = sort_files(filter_files(rows, needle) if needle else rows, key, descending)
        if not get_current_worker().is_cancelled:
            self.post_message(FolderListed(token, rows, shown, None, select, False))

    @on(FolderListed)
    def _listed(self, event: FolderListed) -> None:
        event.stop()
        if event.token != self.token:
            return
        table = self.table
        if event.error is not None or event.rows is None or event.shown is None:
            self.rows, self.shown = [], []
            table.set_message(f"✖ {event.error}")
            table.reset(0, self._loader)
            self.query_one(FilePreviewPane).show_message("", "")
            return
        self.listed = True
        self.rows, self.shown = event.rows, event.shown
        table.in_image = self.image is not None
        table.size_index = 2 if self.image is not None else 3
        sizes = (r.apparent if table.size_index == 2 else r.allocated for r in event.shown)
        table.largest = max((size or 0 for size in sizes), default=0)
        table.scanning = self.state is not None and self.state.scanning
        if not event.shown:
            table.set_message("No entries match the filter." if self.filter_text else "This folder is empty.")
        else:
            table.set_message(None)
        # A row to select overrides the table's own "keep the selected key" behaviour.
        keep = event.keep_position and event.select is None
        table.reset(len(event.shown), self._loader, keep_position=keep)
        if event.select is not None:
            for index, row in enumerate(event.shown):
                if row.name == event.select:
                    table.move_cursor(index)
                    break
        self._schedule_preview()
        self._update_scan_line()

    async def _loader(self, offset: int, limit: int) -> Sequence[FileRow]:
        return self.shown[offset:offset + limit]

    def rearrange(self, *, select: str | None = None) -> None:
        """Sort and filter the rows again (in a worker), keeping ``select`` or the current entry."""
        current = self.current()
        self.token += 1
        self.table.sort_key, self.table.sort_descending = self.sort_key, self.descending
        self._update_crumbs()
        self._arrange_worker(self.token, self.rows, self.sort_key, self.descending, self.filter_text,
                             select or (current.name if current is not None else None))

    def cycle_sort(self) -> str:
        """Sort by the next key; returns its label."""
        keys = FILE_SORT_KEYS if self.image is None else ("apparent", "name")
        index = keys.index(self.sort_key) if self.sort_key in keys else -1
        self.sort_key = keys[(index + 1) % len(keys)]
        self.descending = FILE_DEFAULT_DESCENDING[self.sort_key]
        self.rearrange()
        return FILE_SORT_LABELS[self.sort_key]

    def sort_by(self, key: str) -> None:
        """Sort by ``key`` (reversing when it is already the key)."""
        if key == self.sort_key:
            self.descending = not self.descending
        else:
            self.sort_key, self.descending = key, FILE_DEFAULT_DESCENDING[key]
        self.rearrange()

    def reverse_sort(self) -> None:
        """Reverse the order."""
        self.descending = not self.descending
        self.rearrange()

    def show_filter(self) -> None:
        """Show and focus the name filter."""
        box = self.query_one("#folder-filter", Input)
        box.display = True
        box.focus()

    @on(Input.Changed, "#folder-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.filter_text = event.value
        self.rearrange()

    @on(Input.Submitted, "#folder-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if not event.value:
            event.input.display = False
        self.table.focus()

    def clear_filter(self) -> bool:
        """Empty and hide the filter; False when there was nothing to clear."""
        box = self.query_one("#folder-filter", Input)
        if not box.display and not self.filter_text:
            return False
        box.value = ""
        box.display = False
        self.filter_text = ""
        self.rearrange()
        self.table.focus()
        return True

    @on(VirtualTable.HeaderClicked, "#files")
    def _header_clicked(self, event: VirtualTable.HeaderClicked) -> None:
        event.stop()
        if event.column.sort_key is not None:
            self.sort_by(event.column.sort_key)

    @on(VirtualTable.Activated, "#files")
    def _activated(self, event: VirtualTable.Activated) -> None:
        event.stop()
        self.enter()

    # -- usage ----------------------------------------------------------------------------------

    def set_usage(self, state: UsageState | None, *, relist: bool = True) -> None:
        """A scan of this volume progressed or ended; a new tree refreshes the sizes in the listing."""
        self.state = state
        tree = state.usage.tree if state is not None and state.usage is not None else None
        self.table.scanning = state is not None and state.scanning
        if tree is not None and tree is not self.usage_tree:
            self.usage_tree = tree
            if relist and self.volume is not None:
                self.reload()
        self.table.refresh()
        self._update_scan_line()

    def _update_scan_line(self) -> None:
        entries = len(self.rows) if self.listed else None
        shown = len(self.shown) if self.filter_text else None
        line = scan_line_text(self.volume, self.image is not None, self.state, entries, shown)
        self.query_one("#scan-line", Static).update(line)

    # -- preview --------------------------------------------------------------------------------

    @on(VirtualTable.CursorMoved, "#files")
    def _cursor_moved(self, event: VirtualTable.CursorMoved) -> None:
        event.stop()
        self._schedule_preview()

    def _schedule_preview(self) -> None:
        if self._preview_timer is not None:
            self._preview_timer.stop()
        self._preview_timer = self.set_timer(PREVIEW_DELAY_SECS, self.refresh_preview)

    def refresh_preview(self) -> None:
        """Preview the entry under the cursor (folders from the listing, files in a worker)."""
        row = self.current()
        pane = self.query_one(FilePreviewPane)
        if row is None or self.volume is None:
            pane.show_message("", "")
            return
        key = (self.volume.name, self.parts, row)
        if key == self._preview_key:
            return
        self._preview_key = key
        if row.kind == "directory":
            pane.show(folder_preview(row, in_image=self.image is not None))
            return
        pane.show_message(f"{entry_label(row.name, row.kind, row.mode)} · reading…")
        self._preview_worker(key, self.root, self.image, self.entry_parts(row), row, pane.size.width - 2)

    @work(thread=True, exclusive=True, group="folder-preview", exit_on_error=False)
    def _preview_worker(self, key: tuple[Any, ...], root: VolumeRoot | None, image: Path | None,
                        parts: tuple[str, ...], row: FileRow, width: int) -> None:
        content = entry_preview(root, image, parts, row, width)
        if not get_current_worker().is_cancelled:
            self.post_message(PreviewReady(key, content))

    @on(PreviewReady)
    def _preview_ready(self, event: PreviewReady) -> None:
        event.stop()
        if event.key == self._preview_key:
            self.query_one(FilePreviewPane).show(event.content)

