"""The volume browser: every volume with its usage, mounts and flags; inside a volume, an ncdu-like
listing with previews. Scans run one at a time in the background, can be cancelled (keeping what
they counted) and re-run, and never block the keys.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import ContentSwitcher, Footer

from backend.errors import BackendError
from backend.volumes.models import VolumeInfo
from backend.volumes.xref import VolumeCrossRefs
from tui.first_frame import first_data_shown
from tui.header_state import BackendState
from tui.screens.mode import ModeScreen
from tui.screens.volumes.actions import VolumesChanged
from tui.screens.volumes.file_actions import EntryChanged
from tui.screens.volumes.folder import FolderBrowser
from tui.screens.volumes.list_view import VolumeListView
from tui.screens.volumes.scans import ScanQueue, ScanRunner, UsageChanged
from tui.screens.volumes.table import FILTER_HELP, UsageState, VolumeRow, VolumeTable
from tui.widgets.app_header import AppHeader
from tui.widgets.virtual_table import VirtualTable

WIDE = 140
LIST_ONLY = {"create_volume", "remove_volume"}
BROWSE_ONLY = {"up", "open_entry", "make_folder", "delete_entry", "pager", "editor", "toggle_preview"}

HELP = f"""\
Volumes: ↑/↓ move, Enter opens a volume, / filters ({FILTER_HELP}),
s cycles the sort column (or click a header), S reverses. USED is the space on disk from a scan, with a
bar against the quota, the image capacity, or the whole disk; ~ marks a cancelled (partial) scan.
FLAG: ✖ folder or image missing · ? folder with no catalog row · ! a running sandbox writes to it.
Scans run one at a time in the background: c cancels (what was counted is kept), r re-runs.
Inside a volume: Enter or → opens a folder (a file opens in $PAGER), Backspace or ← goes up, Esc returns to
the list; s sorts by size on disk / apparent size / name / items / age; / filters names; p hides the preview.
v (F3) opens the file in $PAGER and e (F4) in $EDITOR, in this terminal; n makes a folder, x deletes (asks
first, listing what goes); y copies the host path, Y the path inside the volume (OSC 52).
Disk volumes are browsed read-only inside disk.raw with debugfs -c (e2fsprogs). Names with control
characters or bytes that are not UTF-8 are shown with escapes such as \\n and \\xff.
Read-only mode refuses n, x and e."""


class VolumesLoaded(Message):
    """The list worker read the catalog (``error`` when it could not)."""

    def __init__(self, infos: list[VolumeInfo], refs: VolumeCrossRefs | None, fs_total: int | None,
                 error: BackendError | None, keep_position: bool) -> None:
        super().__init__()
        self.infos = infos
        self.refs = refs
        self.fs_total = fs_total
        self.error = error
        self.keep_position = keep_position


def _fs_total(folder: Path) -> int | None:
    try:
        return shutil.disk_usage(folder).total
    except OSError:
        return None


class VolumeBrowserScreen(ModeScreen):
    """Volumes, their usage and who mounts them; their folders, files and previews."""

    CSS_PATH = Path(__file__).with_name("screen.tcss")
    HELP_TITLE = "Volumes: keys"
    HELP = HELP

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter", id="volumes.filter", tooltip="Filter the list (or this folder)"),
        Binding("s", "cycle_sort", "Sort", id="volumes.sort", tooltip="Sort by the next column"),
        Binding("S", "reverse_sort", "Reverse", show=False, id="volumes.reverse",
                tooltip="Reverse the order"),
        Binding("r", "rescan", "Rescan", id="volumes.rescan",
                tooltip="Read the catalog and scan usage again"),
        Binding("c", "cancel_scan", "Cancel scan", id="volumes.cancel",
                tooltip="Stop the running scan, keeping what it counted"),
        Binding("n", "create_volume", "New", id="volumes.create", tooltip="Create a volume"),
        Binding("n", "make_folder", "New folder", id="volumes.mkdir", tooltip="Create a folder here"),
        Binding("x,delete", "remove_volume", "Remove", id="volumes.remove",
                tooltip="Remove the selected volume (asks first)"),
        Binding("x,delete", "delete_entry", "Delete", id="volumes.delete",
                tooltip="Delete the selected file or folder (asks first)"),
        Binding("v,f3", "pager", "Pager", id="volumes.pager", tooltip="Open the file in $PAGER"),
        Binding("e,f4", "editor", "Edit", show=False, id="volumes.editor",
                tooltip="Open the file in $EDITOR"),
        Binding("backspace,left,h", "up", "Up", show=False, id="volumes.up",
                tooltip="Go to the parent folder"),
        Binding("right,l", "open_entry", "Open", show=False, id="volumes.open", tooltip="Open the folder"),
        Binding("escape", "back", "Back", show=False, id="volumes.back",
                tooltip="Clear the filter, or go back to the volume list"),
        Binding("p", "toggle_preview", "Preview", show=False, id="volumes.preview",
                tooltip="Show or hide the preview"),
        Binding("y", "copy_path", "Copy path", id="volumes.copy_path", tooltip="Copy the host path (OSC 52)"),
        Binding("Y", "copy_name", "Copy name", show=False, id="volumes.copy_name",
                tooltip="Copy the volume name, or the path inside the volume"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.view = "list"
        self.usages: dict[str, UsageState] = {}
        self.loaded = False
        self._pending_select: str | None = None

    def compose(self) -> ComposeResult:
        yield AppHeader()
        with ContentSwitcher(initial="volume-list", id="views"):
            yield VolumeListView(self.usages, id="volume-list")
            yield FolderBrowser(id="folder")
        yield ScanRunner(self.usages)
        yield Footer()

    def on_mount(self) -> None:
        self.list_view.home = self.home_or_none()
        self.table.focus()
        self.follow_backend_state()

    @property
    def runner(self) -> ScanRunner:
        """The scans."""
        return self.query_one(ScanRunner)

    @property
    def scans(self) -> ScanQueue:
        """The scan queue (which volume is scanned, which wait)."""
        return self.runner.queue

    @property
    def list_view(self) -> VolumeListView:
        """The volume list view."""
        return self.query_one(VolumeListView)

    @property
    def table(self) -> VolumeTable:
        """The volume table."""
        return self.query_one(VolumeTable)

    @property
    def rows(self) -> list[VolumeRow]:
        """Every row of the last catalog read."""
        return self.list_view.rows

    @property
    def shown(self) -> list[VolumeRow]:
        """The rows shown, in order."""
        return self.list_view.shown

    def selected(self) -> VolumeRow | None:
        """The volume row under the cursor."""
        return self.list_view.selected()

    @property
    def browser(self) -> FolderBrowser:
        """The folder view."""
        return self.query_one(FolderBrowser)

    def backend_not_ready(self, state: BackendState, text: str) -> None:
        if state is not BackendState.LOADING:  # the list says it is loading until the first read
            self.table.set_message(text)

    def backend_loaded(self) -> None:
        self.load_volumes(keep_position=self.loaded)

    def on_resize(self, event: events.Resize) -> None:
        self.browser.set_class(event.size.width >= WIDE, "-wide")

    # -- the list -------------------------------------------------------------------------------

    @work(exclusive=True, group="volume-list", exit_on_error=False)
    async def load_volumes(self, keep_position: bool = False) -> None:
        """Read the volume rows, who mounts them and the orphan folders."""
        volumes = self.backend.volumes()
        try:
            infos = await volumes.list()
            refs = await volumes.cross_refs(infos)
        except BackendError as exc:
            self.post_message(VolumesLoaded([], None, None, exc, keep_position))
            return
        fs_total = await asyncio.to_thread(_fs_total, self.backend.volumes_dir())
        self.post_message(VolumesLoaded(infos, refs, fs_total, None, keep_position))

    @on(VolumesLoaded)
    def _volumes_loaded(self, event: VolumesLoaded) -> None:
        if event.error is not None:
            self.table.set_message(f"✖ {event.error.message}  (press r to retry)")
            return
        self.loaded = True
        self.list_view.home = self.home_or_none()
        rows = self.list_view.show_volumes(event.infos, event.refs, event.fs_total,
                                           keep_position=event.keep_position and self._pending_select is None)
        self.call_after_refresh(self.runner.set_targets, rows)  # scans start once the list is on screen
        if self._pending_select is not None:
            self.select_volume(self._pending_select)

    @on(VirtualTable.DataShown, "#volume-table")
    def _volumes_shown(self) -> None:
        if self.loaded:
            first_data_shown(self)

    @on(VirtualTable.Activated, "#volume-table")
    def _activated(self) -> None:
        self.open_selected_volume()

    def select_volume(self, name: str) -> None:
        """Show the list with volume ``name`` selected (called by ``MsbApp.show_volume``)."""
        if self.view != "list":
            self.action_back_to_list()
        if not self.loaded:
            self._pending_select = name
            return
        self._pending_select = None
        if not self.list_view.select(name):
            self.notify(f"No volume named {name} in this home.", severity="warning", markup=False)

    # -- scans ----------------------------------------------------------------------------------

    @on(UsageChanged)
    def _usage_changed(self, event: UsageChanged) -> None:
        queue = self.scans
        running, waiting = queue.running, len(queue.waiting)
        note = "" if running is None else f"  ⟳ {running}" + (f" +{waiting}" if waiting else "")
        self.list_view.scan_note = note
        if event.name:
            self.list_view.usage_changed(event.name)
            browser = self.browser
            if self.view == "browse" and browser.volume is not None and browser.volume.name == event.name:
                browser.set_usage(self.usages.get(event.name))
        else:
            self.list_view.update_summary()
        self.refresh_bindings()

    @on(EntryChanged)
    def _entry_changed(self, event: EntryChanged) -> None:
        self.runner.mark_stale(event.volume)

    # -- opening a volume -----------------------------------------------------------------------

    def open_selected_volume(self) -> None:
        """Browse the selected volume (its folder, or the inside of its disk image)."""
        row = self.selected()
        if row is None:
            return
        if row.info is not None and row.info.problem is not None:
            self.notify(f"Volume {row.name!r}: {row.info.problem}.", severity="warning", markup=False)
            return
        if not row.browsable:
            self.notify(f"Volume {row.name}: its folder or image is missing, so there is nothing to browse.",
                        severity="warning", markup=False)
            return
        volumes = self.backend.volumes()
        image = row.info.disk_path if row.info is not None and row.kind == "disk" else None
        root = None if image is not None else volumes.root(row.name)
        state = self.usages.get(row.name)
        if not (state is not None and state.scanning) and (state is None or self.scans.busy(row.name)):
            self.runner.request([row.name], front=True)  # not scanned yet, or waiting: scan it first
        self.view = "browse"
        self.query_one(ContentSwitcher).current = "folder"
        self.browser.open_volume(row, root, image, self.usages.get(row.name))
        self.refresh_bindings()

    def action_back_to_list(self) -> None:
        """Leave the volume and show the list (with that volume selected)."""
        name = self.browser.volume.name if self.browser.volume is not None else None
        self.view = "list"
        self.query_one(ContentSwitcher).current = "volume-list"
        self.table.focus()
        self.refresh_bindings()
        if name is not None:
            self.list_view.show_detail()

    # -- keys -----------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in LIST_ONLY:
            return self.view == "list"
        if action in BROWSE_ONLY:
            return self.view == "browse"
        if action == "cancel_scan":
            return self.scans.running is not None or bool(self.scans.waiting)
        return True

    def action_filter(self) -> None:
        """Filter the volume list (or, inside a volume, this folder)."""
        if self.view == "browse":
            self.browser.show_filter()
        else:
            self.list_view.show_filter()

    def action_cycle_sort(self) -> None:
        """Sort by the next column."""
        if self.view == "browse":
            self.notify(f"Sorted by {self.browser.cycle_sort()}", timeout=2)
        else:
            self.list_view.cycle_sort()

    def action_reverse_sort(self) -> None:
        """Reverse the order."""
        if self.view == "browse":
            self.browser.reverse_sort()
        else:
            self.list_view.reverse_sort()

    def action_rescan(self) -> None:
        """Read the catalog again and re-run the scans (inside a volume: that volume's scan)."""
        if self.view == "browse" and self.browser.volume is not None:
            name = self.browser.volume.name
            self.runner.request([name], front=True)
            self.browser.reload()
            return
        if self.retry_if_failed():
            return
        self.runner.request(row.name for row in self.rows if row.browsable)
        self.load_volumes(keep_position=True)

    def action_cancel_scan(self) -> None:
        """Stop the running scan; its figures so far are kept (inside a volume: only that volume's)."""
        name = self.browser.volume.name if self.view == "browse" and self.browser.volume is not None else None
        if self.runner.cancel(name):
            self.notify("Scan cancelled; what it counted is kept (r re-runs it).", timeout=3)

    def action_back(self) -> None:
        """Esc: clear a filter, else leave the volume."""
        if self.view == "browse":
            if not self.browser.clear_filter():
                self.action_back_to_list()
        else:
            self.list_view.clear_filter()

    def action_up(self) -> None:
        """Go to the parent folder (from the top: back to the list)."""
        if not self.browser.up():
            self.action_back_to_list()

    def action_open_entry(self) -> None:
        """Open the folder under the cursor."""
        self.browser.enter()

    def action_toggle_preview(self) -> None:
        """Show or hide the preview pane."""
        self.browser.toggle_class("-no-preview")

    def action_pager(self) -> None:
        """Open the selected file in $PAGER."""
        self.browser.action_pager()

    def action_editor(self) -> None:
        """Open the selected file in $EDITOR (guarded inside)."""
        self.browser.action_editor()

    def action_make_folder(self) -> None:
        """Make a folder here (guarded inside)."""
        self.browser.action_make_folder()

    def action_delete_entry(self) -> None:
        """Delete the selected entry (guarded inside)."""
        self.browser.action_delete_entry()

    def action_copy_path(self) -> None:
        """Copy the host path of the selected volume or entry."""
        (self.browser if self.view == "browse" else self.list_view).action_copy_path()

    def action_copy_name(self) -> None:
        """Copy the volume name (inside a volume: the path inside it)."""
        if self.view == "browse":
            self.browser.action_copy_volume_path()
        else:
            self.list_view.action_copy_name()

    def action_create_volume(self) -> None:
        """Create a volume (guarded inside)."""
        self.list_view.action_create_volume()

    def action_remove_volume(self) -> None:
        """Remove the selected volume (guarded inside)."""
        self.list_view.action_remove_volume()

    @on(VolumesChanged)
    def _volumes_changed(self, event: VolumesChanged) -> None:
        if event.removed is not None:
            self.runner.cancel(event.removed)
        if event.select is not None:
            self._pending_select = event.select
            self.loaded = False
        self.load_volumes(keep_position=True)
