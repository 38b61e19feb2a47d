"""``VirtualTable``: a line-based table that renders and fetches only the rows on screen.

Textual's DataTable builds every row up front and freezes for seconds at 100,000 rows. This widget
knows only the total count; it asks its loader for pages of rows around the viewport (in a worker),
keeps a few pages in an LRU cache, and draws a placeholder for a row that has not arrived yet. After
a refresh (:meth:`VirtualTable.reset` with ``keep_position``) the previous rows stay on screen until the
new ones arrive, and the cursor follows the selected row's key if it moved a little.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar, Generic, TypeVar

from rich.style import Style
from rich.text import Text
from textual import events, on
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.worker import Worker, WorkerState

from tui.widgets.table_pages import PAGE_SIZE, Column, PageCache, column_at, layout_columns, line_text

__all__ = ["PAGE_SIZE", "Column", "Loader", "TableMessage", "VirtualTable", "layout_columns"]

RowT = TypeVar("RowT")

Loader = Callable[[int, int], Awaitable[Sequence[RowT]]]

@dataclass
class TableMessage(Message):
    """A message about one :class:`VirtualTable`; ``control`` lets handlers select it by id."""

    table: VirtualTable[Any]

    @property
    def control(self) -> VirtualTable[Any]:
        return self.table


class VirtualTable(ScrollView, Generic[RowT], can_focus=True):
    """A virtual table over ``total`` rows fetched page by page from a loader."""

    DEFAULT_CSS = """
    VirtualTable {
        height: 1fr;
        overflow-x: hidden;
        overflow-y: auto;
        scrollbar-size-vertical: 1;
        background: $surface;
        & > .virtual-table--header { text-style: bold; background: $panel; }
        & > .virtual-table--cursor { background: $primary 50%; text-style: bold; }
        & > .virtual-table--cursor-focused { background: $primary; color: $text; text-style: bold; }
        & > .virtual-table--placeholder { color: $text-muted; }
        & > .virtual-table--message { color: $text-muted; text-style: italic; }
        &:focus { background-tint: $foreground 3%; }
    }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "virtual-table--header",
        "virtual-table--cursor",
        "virtual-table--cursor-focused",
        "virtual-table--placeholder",
        "virtual-table--message",
    }

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("pageup,ctrl+b", "page_up", "Page up", show=False),
        Binding("pagedown,ctrl+f", "page_down", "Page down", show=False),
        Binding("home,g", "first", "First", show=False),
        Binding("end,G", "last", "Last", show=False),
        Binding("enter", "activate", "Open", show=False),
    ]

    cursor_row: reactive[int] = reactive(0, init=False)
    """Index of the selected row."""

    @dataclass
    class CursorMoved(TableMessage):
        """The selection moved (``row`` is None while that row is still loading)."""

        index: int
        row: Any

    @dataclass
    class Activated(TableMessage):
        """Enter or a double click on a row."""

        index: int
        row: Any

    @dataclass
    class HeaderClicked(TableMessage):
        """A click on a column header."""

        column: Column

    @dataclass
    class PageLoaded(Message):
        """A page arrived from the loader (posted by the fetch worker)."""

        generation: int
        page: int
        rows: Sequence[Any]

    @dataclass
    class LoadFailed(TableMessage):
        """The loader raised; the owner decides whether to retry (:meth:`VirtualTable.retry`)."""

        error: BaseException

    @dataclass
    class DataShown(TableMessage):
        """The rows on screen are all loaded (or the table is empty) for the current generation."""

        generation: int

    def __init__(
        self,
        columns: Sequence[Column],
        row_key: Callable[[RowT], str],
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.columns = list(columns)
        self.row_key = row_key
        self.total = 0
        self.generation = 0
        self._cache: PageCache[RowT] = PageCache()
        self.message: str | None = None
        self.sort_key: str | None = None
        self.sort_descending = False
        self._loader: Loader[RowT] | None = None
        self._sticky_key: str | None = None
        self._fetch_worker: Worker[None] | None = None
        self._fetch_queue: list[int] = []
        self._widths: tuple[int, list[int]] | None = None
        self._shown_generation = -1
        self._message_cache: tuple[tuple[str | None, int], list[Text]] | None = None

    # -- data -----------------------------------------------------------------------------------

    def reset(self, total: int, loader: Loader[RowT], *, keep_position: bool = False) -> None:
        """Show ``total`` rows from ``loader``. With ``keep_position`` (a refresh) the cursor, scroll
        and selected row are kept and old rows stay visible until new ones arrive; otherwise the view
        goes back to the first row."""
        self.generation += 1
        self._loader = loader
        if keep_position:
            selected = self.selected_row
            self._sticky_key = None if selected is None else self.row_key(selected)
        else:
            self._sticky_key = None
        self._cache.reset(total, keep=keep_position)
        self.total = self._cache.total
        self.virtual_size = Size(0, self.total + 1)
        if self._fetch_worker is not None:
            self._fetch_worker.cancel()
            self._fetch_worker = None
        if keep_position:
            self.set_reactive(VirtualTable.cursor_row, min(self.cursor_row, max(0, self.total - 1)))
        else:
            self.set_reactive(VirtualTable.cursor_row, 0)
            self.scroll_to(y=0, animate=False, immediate=True)
        self.refresh()
        self._ensure_loaded()
        self._notify_if_shown()

    def set_message(self, message: str | None) -> None:
        """Show ``message`` in the body (loading, empty, error); None to show rows."""
        self.message = message
        self.refresh()

    def retry(self) -> None:
        """Fetch the missing pages again (after :class:`LoadFailed`)."""
        self._ensure_loaded(force=True)

    def row_at(self, index: int) -> RowT | None:
        """The row at ``index`` if loaded (fresh first, then from before the last refresh)."""
        return self._cache.row_at(index)

    def fresh_row_at(self, index: int) -> RowT | None:
        """The row at ``index`` only if it was loaded since the last reset."""
        return self._cache.fresh_row_at(index)

    @property
    def selected_row(self) -> RowT | None:
        """The row under the cursor, if loaded."""
        return self.row_at(self.cursor_row)

    def loaded_rows(self) -> list[RowT]:
        """Every fresh row currently cached (for tests and diagnostics)."""
        return self._cache.loaded_rows()

    @property
    def body_height(self) -> int:
        """Rows visible under the header."""
        return max(0, self.size.height - 1)

    def _visible_range(self) -> range:
        top = self.scroll_offset.y
        return range(top, min(self.total, top + self.body_height))

    def _ensure_loaded(self, force: bool = False) -> None:
        if self._loader is None or self.total == 0:
            return
        missing = [page for page in self._cache.wanted(self._visible_range()) if not self._cache.has(page)]
        if not missing:
            return
        running = self._fetch_worker is not None and self._fetch_worker.state in (
            WorkerState.PENDING, WorkerState.RUNNING)
        if running and not force and all(page in self._fetch_queue for page in missing):
            return
        self._fetch_queue = list(missing)
        # A partial, not a coroutine: an exclusive worker cancelled before it starts would otherwise
        # leave a coroutine that was never awaited.
        self._fetch_worker = self.run_worker(
            partial(self._fetch, self.generation, self._fetch_queue, self._loader),
            group=f"virtual-table-{id(self)}",
            exclusive=True,
            exit_on_error=False,
        )

    async def _fetch(self, generation: int, queue: list[int], loader: Loader[RowT]) -> None:
        while queue:
            page = queue[0]
            try:
                rows = await loader(page * PAGE_SIZE, PAGE_SIZE)
            except Exception as exc:  # noqa: BLE001 - the owner knows which errors to retry
                self.post_message(self.LoadFailed(self, exc))
                return
            if queue and queue[0] == page:
                queue.pop(0)
            self.post_message(self.PageLoaded(generation, page, rows))

    @on(PageLoaded)
    def _store_page(self, event: PageLoaded) -> None:
        event.stop()
        if event.generation != self.generation:
            return
        self._cache.store(event.page, event.rows)
        self._follow_sticky_key()
        self.refresh()
        if event.page == self.cursor_row // PAGE_SIZE:
            self.post_message(self.CursorMoved(self, self.cursor_row, self.selected_row))
        self._notify_if_shown()

    def _follow_sticky_key(self) -> None:
        key = self._sticky_key
        if key is None or self.fresh_row_at(self.cursor_row) is None:
            return
        self._sticky_key = None
        current = self.fresh_row_at(self.cursor_row)
        if current is not None and self.row_key(current) == key:
            return
        index = self._cache.find(key, self.row_key)
        if index is not None:
            delta = index - self.cursor_row
            self.set_reactive(VirtualTable.cursor_row, index)
            self.scroll_to(y=max(0, self.scroll_offset.y + delta), animate=False, immediate=True)

    def _notify_if_shown(self) -> None:
        if self._shown_generation == self.generation:
            return
        if self.total and any(self.fresh_row_at(i) is None for i in self._visible_range()):
            return
        if self.total and not self._visible_range():
            return
        self._shown_generation = self.generation
        self.post_message(self.DataShown(self, self.generation))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is self._fetch_worker and event.state is WorkerState.SUCCESS:
            self._ensure_loaded()

    # -- scrolling and cursor -------------------------------------------------------------------

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if round(old_value) != round(new_value):
            self._ensure_loaded()

    def on_resize(self, event: events.Resize) -> None:
        self._widths = None
        self._ensure_loaded()
        self._notify_if_shown()

    def watch_cursor_row(self, old: int, new: int) -> None:
        top = self.scroll_offset.y
        height = max(1, self.body_height)
        if new < top:
            self.scroll_to(y=new, animate=False, immediate=True)
        elif new >= top + height:
            self.scroll_to(y=new - height + 1, animate=False, immediate=True)
        self.refresh()
        self._ensure_loaded()
        self.post_message(self.CursorMoved(self, new, self.selected_row))

    def move_cursor(self, index: int) -> None:
        """Select row ``index`` (clamped)."""
        if self.total == 0:
            return
        self.cursor_row = max(0, min(self.total - 1, index))

    def action_cursor_up(self) -> None:
        self.move_cursor(self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self.cursor_row + 1)

    def action_page_up(self) -> None:
        self.move_cursor(self.cursor_row - max(1, self.body_height - 1))

    def action_page_down(self) -> None:
        self.move_cursor(self.cursor_row + max(1, self.body_height - 1))

    def action_first(self) -> None:
        self.move_cursor(0)

    def action_last(self) -> None:
        self.move_cursor(self.total - 1)

    def action_activate(self) -> None:
        if self.total:
            self.post_message(self.Activated(self, self.cursor_row, self.selected_row))

    def on_focus(self, event: events.Focus) -> None:
        self.refresh()

    def on_blur(self, event: events.Blur) -> None:
        self.refresh()

    async def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            column = column_at(self.columns, self._column_widths(), offset.x)
            if column is not None:
                self.post_message(self.HeaderClicked(self, column))
            return
        index = self.scroll_offset.y + offset.y - 1
        if 0 <= index < self.total:
            self.move_cursor(index)
            if event.chain >= 2:
                self.action_activate()

    # -- rendering ------------------------------------------------------------------------------

    def _column_widths(self) -> list[int]:
        width = self.size.width
        if self._widths is None or self._widths[0] != width:
            self._widths = (width, layout_columns(self.columns, width))
        return self._widths[1]

    def render_cell(self, row: RowT, column: Column) -> Text:
        """The text of one cell; subclasses format their rows here."""
        return Text(str(getattr(row, column.key, "")))

    def _line_text(self, cells: Sequence[Text], style: Style) -> Text:
        return line_text(cells, self.columns, self._column_widths(), style)

    def _strip(self, text: Text, style: Style) -> Strip:
        width = self.size.width
        segments = list(text.render(self.app.console))
        return Strip(segments).crop_extend(0, width, style)

    def render_line(self, y: int) -> Strip:
        base = self.rich_style
        if y == 0:
            return self._header_strip(base)
        if self.message is not None:
            lines = self._message_lines()
            if 2 <= y < 2 + len(lines):
                style = base + self.get_component_rich_style("virtual-table--message")
                line = lines[y - 2].copy()
                line.stylize(style)
                line.end = ""
                return self._strip(line, base)
            return Strip.blank(self.size.width, base)
        index = self.scroll_offset.y + y - 1
        if index >= self.total:
            return Strip.blank(self.size.width, base)
        row = self.row_at(index)
        if row is None:
            style = base + self.get_component_rich_style("virtual-table--placeholder")
            cells = [Text("…" if i == 0 else "") for i in range(len(self.columns))]
            line = self._line_text(cells, style)
        else:
            line = self._line_text([self.render_cell(row, column) for column in self.columns], base)
        if index == self.cursor_row:
            cursor = "virtual-table--cursor-focused" if self.has_focus else "virtual-table--cursor"
            line.stylize(self.get_component_rich_style(cursor))
            line.pad_right(max(0, self.size.width - line.cell_len))
        return self._strip(line, base)

    def _message_lines(self) -> list[Text]:
        width = max(10, self.size.width - 4)
        key = (self.message, width)
        if self._message_cache is None or self._message_cache[0] != key:
            wrapped = Text(self.message or "").wrap(self.app.console, width)
            lines = [Text("  ") + line for line in wrapped]
            self._message_cache = (key, lines)
        return self._message_cache[1]

    def _header_strip(self, base: Style) -> Strip:
        style = base + self.get_component_rich_style("virtual-table--header")
        cells = []
        for column in self.columns:
            label = column.label
            if column.sort_key is not None and column.sort_key == self.sort_key:
                label += " ▼" if self.sort_descending else " ▲"
            cells.append(Text(label))
        line = self._line_text(cells, style)
        line.pad_right(max(0, self.size.width - line.cell_len))
        return self._strip(line, style)
