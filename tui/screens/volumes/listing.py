"""``FileTable``: the ncdu-like listing of one folder, and the blocking listing functions behind it.

:func:`list_folder` reads a folder of a directory volume through the backend's path-safe
:class:`VolumeRoot` (the folder is reached with ``O_NOFOLLOW`` at every step, entries are ``lstat``-ed
relative to it), and takes each sub-folder's totals from a usage scan's tree. :func:`list_image_folder`
reads a folder inside a disk volume's ext4 image with ``debugfs -c``. Both block: call them from
thread workers. Rows are plain tuples, so a folder of 100,000 entries lists and sorts in well under a
second and the virtual table draws only what is on screen.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, NamedTuple, cast

from rich.text import Text
from textual.message import Message

from backend.volumes import disk_image
from backend.volumes.fs import VolumeRoot
from backend.volumes.models import FsKind, kind_of
from backend.volumes.usage import DirUsage
from tui import clock
from tui.format import age, byte_size
from tui.screens.volumes.names import entry_label, mode_text
from tui.screens.volumes.table import bar_text
from tui.widgets.virtual_table import Column, VirtualTable

CHECK_EVERY = 2048


class FileRow(NamedTuple):
    """One entry of a folder. Sizes of a sub-folder cover everything below it (None when unknown);
    ``complete`` is false when that figure comes from a cancelled scan."""

    name: str
    kind: FsKind
    apparent: int | None
    allocated: int | None
    items: int | None
    modified: float | None
    mode: int
    complete: bool = True
    inode: int = 0


def _folder_row(name: str, mode: int, mtime: float | None, node: DirUsage | None) -> FileRow:
    if node is None:
        return FileRow(name, "directory", None, None, None, mtime, mode, False)
    return FileRow(name, "directory", node.apparent_bytes, node.allocated_bytes, node.files + node.dirs,
                   mtime, mode, node.complete)


def list_folder(root: VolumeRoot, parts: Sequence[str], node: DirUsage | None,
                cancelled: Callable[[], bool] = lambda: False) -> list[FileRow] | None:
    """The entries of the folder ``parts`` of a directory volume (None when cancelled).

    ``node`` is that folder's node in a usage scan's tree; sub-folders it holds get their totals.
    """
    rows: list[FileRow] = []
    append = rows.append
    children = node.children if node is not None else {}
    with root.open_dir_fd("/".join(parts)) as fd, os.scandir(fd) as entries:
        for count, entry in enumerate(entries):
            if count % CHECK_EVERY == CHECK_EVERY - 1 and cancelled():
                return None
            name = entry.name
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                append(FileRow(name, "other", None, None, None, None, 0, False))
                continue
            mode = st.st_mode
            kind = kind_of(mode)
            if kind == "directory":
                append(_folder_row(name, mode, st.st_mtime, children.get(name)))
            else:
                append(FileRow(name, kind, st.st_size, st.st_blocks * 512, None, st.st_mtime, mode))
    return rows


def list_image_folder(image: Path, parts: Sequence[str]) -> list[FileRow]:
    """The entries of a folder inside a disk volume's ext4 image (debugfs gives no allocated sizes)."""
    entries = disk_image.list_dir(image, "/" + "/".join(parts))
    return [FileRow(e.name, e.kind, e.size, None, None, e.modified, e.mode, True, e.inode) for e in entries]


class FolderListed(Message):
    """A listing worker read (and arranged) a folder; ``error`` instead when it could not."""

    def __init__(self, token: int, rows: list[FileRow] | None, shown: list[FileRow] | None,
                 error: str | None, select: str | None, keep_position: bool) -> None:
        super().__init__()
        self.token = token
        self.rows = rows
        self.shown = shown
        self.error = error
        self.select = select
        self.keep_position = keep_position


# -- sorting ------------------------------------------------------------------------------------

FILE_SORT_KEYS = ("size", "apparent", "name", "items", "modified")
FILE_SORT_LABELS = {"size": "size on disk", "apparent": "apparent size", "name": "name", "items": "items",
                    "modified": "modified"}
FILE_DEFAULT_DESCENDING = {"size": True, "apparent": True, "name": False, "items": True, "modified": True}


def sort_files(rows: Sequence[FileRow], key: str, descending: bool) -> list[FileRow]:
    """``rows`` by ``key`` (folders first when by name; unknown values last; ties by name)."""
    by_name = sorted(rows, key=lambda r: (r.name.casefold(), r.name))
    if key == "name":
        folders = [r for r in by_name if r.kind == "directory"]
        others = [r for r in by_name if r.kind != "directory"]
        if descending:
            folders.reverse()
            others.reverse()
        return folders + others
    index = {"size": 3, "apparent": 2, "items": 4, "modified": 5}[key]
    if key == "size" and all(r.allocated is None for r in rows):
        index = 2  # inside a disk image only apparent sizes are known
    present = [r for r in by_name if r[index] is not None]
    missing = [r for r in by_name if r[index] is None]
    present.sort(key=lambda r: cast(float, r[index]), reverse=descending)
    return present + missing


def filter_files(rows: Sequence[FileRow], needle: str) -> list[FileRow]:
    """Rows whose name contains ``needle`` (case-insensitive)."""
    folded = needle.casefold()
    return [r for r in rows if folded in r.name.casefold()]


# -- the widget ---------------------------------------------------------------------------------

FILE_COLUMNS: tuple[Column, ...] = (
    Column("name", "NAME", weight=1, min_width=12, sort_key="name"),
    Column("apparent", "SIZE", width=10, align="right", sort_key="apparent"),
    Column("size", "ON DISK", width=10, align="right", sort_key="size"),
    Column("bar", "", width=8),
    Column("items", "ITEMS", width=7, align="right", sort_key="items"),
    Column("modified", "AGE", width=5, align="right", sort_key="modified"),
    Column("mode", "MODE", width=10),
)


def file_key(row: FileRow) -> str:
    """Entries are identified by name within their folder."""
    return row.name


class FileTable(VirtualTable[FileRow]):
    """The listing. ``largest`` scales the bars; ``scanning`` says whether unknown sizes are coming."""

    DEFAULT_CSS = """
    FileTable {
        & > .file-table--folder { text-style: bold; }
        & > .file-table--link { color: $accent; }
        & > .file-table--special { color: $warning; }
        & > .file-table--bar { color: $success; }
        & > .file-table--muted { color: $text-muted; }
    }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = VirtualTable.COMPONENT_CLASSES | {
        "file-table--folder", "file-table--link", "file-table--special", "file-table--bar",
        "file-table--muted",
    }

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(FILE_COLUMNS, file_key, id=id)
        self.largest = 0
        self.scanning = False
        self.in_image = False
        self.size_index = 3

    def _style(self, name: str) -> Any:
        return self.get_component_rich_style(f"file-table--{name}")

    def _size_cell(self, row: FileRow, value: int | None) -> Text:
        if value is None:
            if row.kind == "directory" and not self.in_image:
                return Text("⟳" if self.scanning else "?", style=self._style("muted"))
            return Text("-", style=self._style("muted"))
        return Text(("~" if not row.complete else "") + byte_size(value))

    def render_cell(self, row: FileRow, column: Column) -> Text:
        key = column.key
        if key == "name":
            style = {"directory": "folder", "symlink": "link", "other": "special"}.get(row.kind)
            return Text(entry_label(row.name, row.kind, row.mode), style=self._style(style) if style else "")
        if key == "apparent":
            return self._size_cell(row, row.apparent)
        if key == "size":
            return self._size_cell(row, row.allocated)
        if key == "bar":
            value = row.allocated if self.size_index == 3 else row.apparent
            if value is None or not self.largest:
                return Text("")
            return bar_text(value / self.largest, 8, self._style("bar"), self._style("muted"))
        if key == "items":
            return Text("" if row.items is None else f"{row.items:,}")
        if key == "modified":
            if row.modified is None:
                return Text("-", style=self._style("muted"))
            return Text(age(datetime.fromtimestamp(row.modified, UTC), clock.now()))
        if key == "mode":
            return Text(mode_text(row.mode))
        return Text("")
