"""The Textual-free half of :class:`~tui.widgets.virtual_table.VirtualTable`: columns, lines, pages.

:func:`layout_columns` shares a width between columns and :func:`line_text` lays one row's cells
out in them; :class:`PageCache` holds the rows fetched so far, page by page (a small LRU of fresh
pages, plus the previous generation's pages, shown until the fresh ones arrive).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from rich.style import Style
from rich.text import Text

from tui.format import printable

RowT = TypeVar("RowT")

PAGE_SIZE = 100
MAX_CACHED_PAGES = 12


@dataclass(frozen=True)
class Column:
    """One column. ``width`` fixes it; otherwise it shares the free space by ``weight``, never going
    below ``min_width``. ``sort_key`` names the backend order it stands for (None: not sortable)."""

    key: str
    label: str
    width: int | None = None
    weight: int = 1
    min_width: int = 4
    align: str = "left"
    sort_key: str | None = None


def layout_columns(columns: Sequence[Column], width: int, gap: int = 1) -> list[int]:
    """Widths for ``columns`` in ``width`` cells: fixed columns keep theirs, flexible ones share the
    rest by weight (the last takes the remainder), none below its ``min_width``."""
    fixed = sum(c.width or 0 for c in columns)
    free = max(0, width - fixed - gap * max(0, len(columns) - 1))
    flexible = [c for c in columns if c.width is None]
    weights = sum(c.weight for c in flexible) or 1
    shares = {id(c): max(c.min_width, free * c.weight // weights) for c in flexible}
    if flexible:
        last = flexible[-1]
        others = sum(shares[id(c)] for c in flexible[:-1])
        shares[id(last)] = max(last.min_width, free - others)
    return [c.width if c.width is not None else shares[id(c)] for c in columns]


def column_at(columns: Sequence[Column], widths: Sequence[int], x: int) -> Column | None:
    """The column under cell ``x`` of a line laid out with ``widths`` (the gap counts to its left)."""
    left = 0
    for column, width in zip(columns, widths, strict=True):
        if left <= x < left + width + 1:
            return column
        left += width + 1
    return None


def fit_cell(text: Text, width: int, align: str) -> Text:
    """``text`` made printable, on one line, cut with an ellipsis and padded to ``width``."""
    text = text.copy()
    text.plain = printable(text.plain)  # every cell, whatever the table put in it
    text.no_wrap = True
    text.truncate(width, overflow="ellipsis")
    if align == "right":
        text.pad_left(width - text.cell_len)
    else:
        text.pad_right(width - text.cell_len)
    return text


def line_text(cells: Sequence[Text], columns: Sequence[Column], widths: Sequence[int], style: Style) -> Text:
    """One table line: each cell fitted to its column, one space between columns."""
    line = Text(style=style, no_wrap=True, end="")
    for index, (cell, column, width) in enumerate(zip(cells, columns, widths, strict=True)):
        if index:
            line.append(" ")
        if width > 0:
            line.append_text(fit_cell(cell, width, column.align))
    return line


class PageCache(Generic[RowT]):
    """Rows by page for ``total`` rows: fresh pages (LRU) and, after a refresh, the previous ones."""

    def __init__(self) -> None:
        self.total = 0
        self._pages: OrderedDict[int, Sequence[RowT]] = OrderedDict()
        self._stale: dict[int, Sequence[RowT]] = {}

    def reset(self, total: int, *, keep: bool) -> None:
        """A new generation of ``total`` rows; with ``keep`` the current rows stay visible as stale."""
        self._stale = {**self._stale, **self._pages} if keep else {}
        self._pages = OrderedDict()
        self.total = max(0, total)

    def row_at(self, index: int) -> RowT | None:
        """The row at ``index`` if loaded (fresh first, then from before the last refresh)."""
        if not 0 <= index < self.total:
            return None
        page, slot = divmod(index, PAGE_SIZE)
        rows = self._pages.get(page)
        if rows is None:
            rows = self._stale.get(page)
        if rows is None or slot >= len(rows):
            return None
        return rows[slot]

    def fresh_row_at(self, index: int) -> RowT | None:
        """The row at ``index`` only if it was loaded since the last reset."""
        rows = self._pages.get(index // PAGE_SIZE)
        slot = index % PAGE_SIZE
        return rows[slot] if rows is not None and slot < len(rows) else None

    def loaded_rows(self) -> list[RowT]:
        """Every fresh row, in order."""
        return [row for page in sorted(self._pages) for row in self._pages[page]]

    def has(self, page: int) -> bool:
        """True when ``page`` was loaded since the last reset."""
        return page in self._pages

    def store(self, page: int, rows: Sequence[RowT]) -> None:
        """Keep ``rows`` as ``page`` (dropping the least recently stored beyond the cache size)."""
        self._pages[page] = rows
        self._pages.move_to_end(page)
        self._stale.pop(page, None)
        while len(self._pages) > MAX_CACHED_PAGES:
            self._pages.popitem(last=False)

    def wanted(self, visible: range) -> list[int]:
        """The pages holding ``visible`` rows, then one more on each side."""
        if not visible or self.total == 0:
            return []
        first, last = visible.start // PAGE_SIZE, (visible.stop - 1) // PAGE_SIZE
        pages = list(range(first, last + 1))
        for extra in (last + 1, first - 1):
            if 0 <= extra * PAGE_SIZE < self.total:
                pages.append(extra)
        return pages

    def find(self, key: str, row_key: Callable[[RowT], str]) -> int | None:
        """The index of the fresh row whose key is ``key``, if loaded."""
        for page, rows in self._pages.items():
            for slot, row in enumerate(rows):
                if row_key(row) == key:
                    return page * PAGE_SIZE + slot
        return None
