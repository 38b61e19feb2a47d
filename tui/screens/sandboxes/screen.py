"""The sandbox list: a virtual table over every sandbox of the home, a filter, sort, a status summary,
a detail panel with logs, auto-refresh that keeps the selection, copy and (guarded) remove.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.reactive import var
from textual.timer import Timer
from textual.widgets import Footer, Input, Static

from backend.db.migrate import SchemaState
from backend.errors import BackendError, DatabaseBusyError, InvalidQueryError, SandboxNotFoundError
from backend.sandboxes.models import (
    SORT_KEYS,
    SandboxQuery,
    SandboxRow,
    SandboxSort,
)
from tui import clock
from tui.first_frame import first_data_shown
from tui.header_state import BackendState
from tui.screens.sandboxes.actions import SandboxActions
from tui.screens.sandboxes.detail import SandboxDetailPanel
from tui.screens.sandboxes.messages import DetailLoaded, ListCounted, ListFailed
from tui.screens.sandboxes.support import (
    DEFAULT_DESCENDING,
    HELP,
    REFRESH_CHOICES,
    ListInfo,
    default_refresh_interval,
    info_text,
    summary_text,
)
from tui.screens.sandboxes.table import SandboxTable
from tui.widgets.app_header import AppHeader
from tui.widgets.virtual_table import VirtualTable

BUSY_RETRY_SECS = 1.0
DETAIL_DELAY_SECS = 0.15


class SandboxListScreen(SandboxActions):
    """Every sandbox of the home, virtualised, with a detail panel."""

    CSS_PATH = Path(__file__).with_name("screen.tcss")
    HELP_TITLE = "Sandboxes: keys"
    HELP = HELP

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter", id="sandboxes.filter", tooltip="Filter by name, status:, label:"),
        Binding("s", "cycle_sort", "Sort", id="sandboxes.sort", tooltip="Sort by the next column"),
        Binding("S", "reverse_sort", "Reverse", show=False, id="sandboxes.reverse",
                tooltip="Reverse the sort order"),
        Binding("r", "refresh_now", "Refresh", id="sandboxes.refresh", tooltip="Refresh now"),
        Binding("p", "toggle_pause", "Pause", show=False, id="sandboxes.pause", tooltip="Pause or resume auto-refresh"),
        Binding("plus,equals_sign", "slower", "Slower refresh", show=False, id="sandboxes.slower",
                tooltip="Refresh less often"),
        Binding("minus", "faster", "Faster refresh", show=False, id="sandboxes.faster",
                tooltip="Refresh more often"),
        Binding("d", "toggle_detail", "Detail", show=False, id="sandboxes.detail",
                tooltip="Show or hide the detail panel"),
        Binding("y", "copy_name", "Copy", id="sandboxes.copy_name", tooltip="Copy the sandbox name"),
        Binding("Y", "copy_json", "Copy JSON", show=False, id="sandboxes.copy_json",
                tooltip="Copy the sandbox as msb inspect JSON"),
        Binding("x,delete", "remove", "Remove", id="sandboxes.remove",
                tooltip="Remove the selected sandbox (asks first)"),
    ]

    #: What the info line shows; every change redraws it (:meth:`watch_info`).
    info: var[ListInfo] = var(ListInfo())

    def __init__(self) -> None:
        super().__init__()
        self.query_filter = SandboxQuery()
        self.filter_text = ""
        self.set_reactive(SandboxListScreen.info, ListInfo(
            sort=self.query_filter.sort, descending=self.query_filter.descending,
            refresh_interval=default_refresh_interval()))
        self.counts: dict[str, int] = {}
        self._refresh_interval_timer: Timer | None = None
        self._detail_timer: Timer | None = None
        self._retry_timer: Timer | None = None
        self._loaded_once = False
        self._detail_name: str | None = None

    # -- layout ---------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield AppHeader()
        with Horizontal(id="summary"):
            yield Static("", id="summary-counts")
            yield Static("", id="summary-info")
        yield Input(placeholder="filter: name status:running label:key=value", id="filter", compact=True)
        yield SandboxTable(id="sandbox-table")
        yield SandboxDetailPanel(id="detail")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(SandboxTable)
        table.sort_key = self.query_filter.sort
        table.sort_descending = self.query_filter.descending
        table.focus()
        self.query_one("#filter").display = False
        self.query_one(SandboxDetailPanel).home = self.home_or_none()
        self._refresh_interval_timer = self.set_interval(self.refresh_interval, self._refresh_tick)
        self.follow_backend_state()
        self.watch_info(self.info)

    def backend_not_ready(self, state: BackendState, text: str) -> None:
        self.table.set_message(text)
        if state is BackendState.ERROR:
            self.query_one(SandboxDetailPanel).show_message("No details: the home could not be opened.")

    def backend_loaded(self) -> None:
        self.query_one(SandboxDetailPanel).home = self.home_or_none()
        self.load_list(keep_position=self._loaded_once)

    # -- loading the list -----------------------------------------------------------------------

    @work(exclusive=True, group="sandbox-list", exit_on_error=False)
    async def load_list(self, keep_position: bool = False) -> None:
        """Count the rows of the current query (and all statuses), then let the table fetch pages."""
        query = self.query_filter
        sandboxes = self.backend.sandboxes()
        try:
            total = await sandboxes.count(query)
            counts = await sandboxes.counts_by_status()
        except BackendError as exc:
            self.post_message(ListFailed(exc, keep_position))
            return
        self.post_message(ListCounted(query, total, counts, keep_position))

    @on(ListCounted)
    def _list_counted(self, event: ListCounted) -> None:
        if event.query != self.query_filter:
            return
        self._loaded_once = True
        self.counts = event.counts
        sandboxes = self.backend.sandboxes()
        query = event.query

        async def loader(offset: int, limit: int) -> Sequence[SandboxRow]:
            rows: Sequence[SandboxRow] = await sandboxes.window(query, offset, limit)
            return rows

        table = self.table
        table.set_message(self._empty_message() if event.total == 0 else None)
        table.reset(event.total, loader, keep_position=event.keep_position)
        self.query_one("#summary-counts", Static).update(summary_text(event.counts))
        self.info = replace(self.info, busy_note="", total_shown=event.total,
                            last_updated=clock.now().strftime("%H:%M:%S"))
        if event.total == 0:
            self.query_one(SandboxDetailPanel).show_message("No sandbox selected.")

    def _empty_message(self) -> str:
        if self.query_filter.is_filtered:
            return f"No sandbox matches “{self.filter_text}”. Esc in the filter (/) clears it."
        status = self.backend.schema_status
        if status.state is SchemaState.MISSING:
            return "No database in this home yet (read-only: nothing was created)."
        return "No sandboxes in this home yet. Create one with msb or the SDK; this list refreshes itself."

    @on(ListFailed)
    def _list_failed(self, event: ListFailed) -> None:
        if event.busy:
            self._note("⧗ database busy, retrying")
            if not self._loaded_once:
                self.table.set_message("The database is busy (another process holds its lock); retrying…")
            self._schedule_retry(lambda: self.load_list(event.keep_position))
        else:
            self._note("✖ refresh failed")
            if not self._loaded_once:
                self.table.set_message(f"✖ {event.error.message}  (press r to retry)")
            else:
                self.notify(event.error.message, title=event.error.title, severity="error")

    def _schedule_retry(self, callback: Callable[[], object]) -> None:
        if self._retry_timer is not None:
            self._retry_timer.stop()
        self._retry_timer = self.set_timer(BUSY_RETRY_SECS, callback)

    @on(VirtualTable.LoadFailed)
    def _page_failed(self, event: VirtualTable.LoadFailed) -> None:
        error = event.error
        if isinstance(error, DatabaseBusyError):
            self._note("⧗ database busy, retrying")
            self._schedule_retry(self.table.retry)
        elif isinstance(error, BackendError):
            self.table.set_message(f"✖ {error.message}  (press r to retry)")
        else:
            self.table.set_message(f"✖ unexpected error: {error!r}  (press r to retry)")

    @on(VirtualTable.DataShown)
    def _data_shown(self, event: VirtualTable.DataShown) -> None:
        if self.info.busy_note.startswith("⧗"):
            self._note("")
        first_data_shown(self)

    def _refresh_tick(self) -> None:
        if self.paused or not self.is_current or not self._loaded_once:
            return
        if not self.backend_ready:
            return
        self.load_list(keep_position=True)

    def on_screen_resume(self) -> None:
        if self._loaded_once and not self.paused:
            self.load_list(keep_position=True)

    # -- the info line ----------------------------------------------------------------------------

    def watch_info(self, info: ListInfo) -> None:
        self.query_one("#summary-info", Static).update(info_text(info, filtered=self.query_filter.is_filtered))

    def _note(self, busy_note: str) -> None:
        self.info = replace(self.info, busy_note=busy_note)

    @property
    def paused(self) -> bool:
        """True while auto-refresh is paused."""
        return self.info.paused

    @property
    def refresh_interval(self) -> float:
        """Seconds between auto-refreshes."""
        return self.info.refresh_interval

    # -- selection and detail -------------------------------------------------------------------

    @on(VirtualTable.CursorMoved)
    def _cursor_moved(self, event: VirtualTable.CursorMoved) -> None:
        row = event.row
        name = row.name if isinstance(row, SandboxRow) else None
        if name is None:
            return
        if self._detail_timer is not None:
            self._detail_timer.stop()
        if name == self._detail_name:
            # Same sandbox (a refresh): reload quietly so status and runs stay current.
            self.load_detail(name)
            return
        self._detail_name = name
        self.query_one(SandboxDetailPanel).show_message(f"Loading {name}…")
        self._detail_timer = self.set_timer(DETAIL_DELAY_SECS, lambda: self.load_detail(name))

    @work(exclusive=True, group="sandbox-detail", exit_on_error=False)
    async def load_detail(self, name: str) -> None:
        """Read everything about ``name`` (config, mounts, runs)."""
        try:
            detail = await self.backend.sandboxes().get(name)
        except SandboxNotFoundError:
            self.post_message(DetailLoaded(name, None, f"Sandbox {name} no longer exists (removed or ephemeral)."))
            return
        except BackendError as exc:
            self.post_message(DetailLoaded(name, None, f"✖ {exc.message}"))
            return
        self.post_message(DetailLoaded(name, detail))

    @on(DetailLoaded)
    def _detail_loaded(self, event: DetailLoaded) -> None:
        if event.name != self._detail_name:
            return
        panel = self.query_one(SandboxDetailPanel)
        if event.detail is None:
            panel.show_message(event.error or "")
        else:
            panel.show_detail(event.detail)

    @on(VirtualTable.Activated)
    def _row_activated(self, event: VirtualTable.Activated) -> None:
        panel = self.query_one(SandboxDetailPanel)
        panel.display = True
        panel.focus_tabs()

    @on(SandboxDetailPanel.LeaveRequested)
    def _leave_detail(self) -> None:
        self.table.focus()

    @on(SandboxDetailPanel.VolumeRequested)
    def _open_volume(self, event: SandboxDetailPanel.VolumeRequested) -> None:
        self.app.show_volume(event.volume)

    @on(VirtualTable.HeaderClicked)
    def _header_clicked(self, event: VirtualTable.HeaderClicked) -> None:
        key = event.column.sort_key
        if key is None:
            self.notify("Sort by NAME, STATUS or AGE (click them, or press s).", timeout=3)
            return
        if key == self.query_filter.sort:
            self._set_sort(self.query_filter.sort, not self.query_filter.descending)
        else:
            self._set_sort(key, DEFAULT_DESCENDING[key])  # type: ignore[arg-type]

    # -- filter and sort ------------------------------------------------------------------------

    def action_filter(self) -> None:
        """Show and focus the filter box."""
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._apply_filter(event.value)

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        if not event.value:
            event.input.display = False
        self.table.focus()

    def _apply_filter(self, text: str) -> None:
        box = self.query_one("#filter", Input)
        try:
            query = SandboxQuery.parse(text, sort=self.query_filter.sort, descending=self.query_filter.descending)
        except InvalidQueryError as exc:
            box.set_class(True, "-invalid")
            box.tooltip = exc.message
            return
        box.set_class(False, "-invalid")
        box.tooltip = None
        self.filter_text = text
        if query == self.query_filter:
            return
        self.query_filter = query
        self.load_list(keep_position=False)

    def clear_filter(self) -> None:
        """Empty and hide the filter box, and show every sandbox again."""
        box = self.query_one("#filter", Input)
        box.value = ""
        box.display = False
        self._apply_filter("")
        self.table.focus()

    def _set_sort(self, sort: SandboxSort, descending: bool) -> None:
        self.query_filter = SandboxQuery(
            name_contains=self.query_filter.name_contains,
            statuses=self.query_filter.statuses,
            labels=self.query_filter.labels,
            sort=sort,
            descending=descending,
        )
        table = self.table
        table.sort_key = sort
        table.sort_descending = descending
        table.refresh()
        self.info = replace(self.info, sort=sort, descending=descending)
        self.load_list(keep_position=False)

    def action_cycle_sort(self) -> None:
        """Sort by the next key (age, name, status, updated)."""
        keys = list(SORT_KEYS)
        order = ["created", "name", "status", "updated"]
        keys.sort(key=order.index)
        current = keys.index(self.query_filter.sort)
        nxt = keys[(current + 1) % len(keys)]
        self._set_sort(nxt, DEFAULT_DESCENDING[nxt])

    def action_reverse_sort(self) -> None:
        """Reverse the order."""
        self._set_sort(self.query_filter.sort, not self.query_filter.descending)

    # -- refresh --------------------------------------------------------------------------------

    def action_refresh_now(self) -> None:
        """Refresh now (or retry opening the home after an error)."""
        if self.retry_if_failed():
            return
        if self.backend_ready:
            self.load_list(keep_position=self._loaded_once)

    def action_toggle_pause(self) -> None:
        """Pause or resume auto-refresh."""
        self.info = replace(self.info, paused=not self.paused)
        self.notify("Auto-refresh paused" if self.paused else f"Auto-refresh every {self.refresh_interval:g}s",
                    timeout=2)

    def _set_interval(self, seconds: float) -> None:
        self.info = replace(self.info, refresh_interval=seconds)
        if self._refresh_interval_timer is not None:
            self._refresh_interval_timer.stop()
        self._refresh_interval_timer = self.set_interval(seconds, self._refresh_tick)

    def action_slower(self) -> None:
        """Refresh less often."""
        bigger = [c for c in REFRESH_CHOICES if c > self.refresh_interval]
        self._set_interval(bigger[0] if bigger else REFRESH_CHOICES[-1])

    def action_faster(self) -> None:
        """Refresh more often."""
        smaller = [c for c in REFRESH_CHOICES if c < self.refresh_interval]
        self._set_interval(smaller[-1] if smaller else REFRESH_CHOICES[0])

    def action_toggle_detail(self) -> None:
        """Show or hide the detail panel (the list gets the room)."""
        panel = self.query_one(SandboxDetailPanel)
        panel.display = not panel.display
        if not panel.display:
            self.table.focus()

    def on_key(self, event: events.Key) -> None:
        if event.key == "escape" and self.focused is self.query_one("#filter", Input):
            event.stop()
            self.clear_filter()
