"""What the preview pane shows for one entry of a volume folder (built in a thread worker).

Regular files go through :func:`tui.widgets.file_preview.text_or_hex` on at most their first and last
bytes (inside a disk image, only the first: debugfs cannot seek); symlinks show where they point and
are never followed; FIFOs, sockets and devices are never opened; folders are described from the
listing without any read.
"""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.message import Message

from backend.errors import BackendError
from backend.volumes import disk_image
from backend.volumes.fs import VolumeRoot
from backend.volumes.models import FilePreview
from tui.format import byte_size, timestamp
from tui.screens.volumes.file_preview import HEAD_BYTES, TAIL_BYTES, PreviewContent, text_or_hex
from tui.screens.volumes.listing import FileRow
from tui.screens.volumes.names import display_name, entry_label, mode_text


class PreviewReady(Message):
    """The preview worker built the preview of ``key``."""

    def __init__(self, key: tuple[Any, ...], content: PreviewContent) -> None:
        super().__init__()
        self.key = key
        self.content = content


def special_kind(mode: int) -> str:
    """``FIFO``, ``socket``, ``character device``… for a non-regular, non-folder entry."""
    for test, name in ((stat.S_ISFIFO, "FIFO"), (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "character device"),
                       (stat.S_ISBLK, "block device")):
        if test(mode):
            return name
    return "special file (unreadable metadata)" if mode == 0 else "special file"


def folder_preview(row: FileRow, *, in_image: bool = False) -> PreviewContent:
    """Facts about a folder from the listing (no extra reads)."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="bold")
    grid.add_column()
    partial = "" if row.complete else " (partial: the scan did not finish here)"
    if row.allocated is not None:
        grid.add_row("On disk", byte_size(row.allocated) + partial)
    if row.apparent is not None:
        grid.add_row("Apparent", byte_size(row.apparent))
    if row.items is not None:
        grid.add_row("Items", f"{row.items:,}")
    elif not in_image:
        grid.add_row("Items", "unknown until the scan reaches it (r scans)")
    if row.modified is not None:
        grid.add_row("Modified", timestamp(datetime.fromtimestamp(row.modified, UTC)))
    grid.add_row("Mode", mode_text(row.mode))
    return PreviewContent(Text(f"{entry_label(row.name, row.kind)} · folder (Enter opens it)"), grid)


def entry_preview(root: VolumeRoot | None, image: Path | None, parts: tuple[str, ...], row: FileRow,
                  width: int) -> PreviewContent:
    """The preview of the entry ``parts`` (blocking: call it from a thread worker)."""
    label = entry_label(row.name, row.kind, row.mode)
    path = "/".join(parts)
    try:
        if row.kind == "directory":
            return folder_preview(row, in_image=image is not None)
        if row.kind == "symlink":
            target = root.readlink(path) if root is not None else \
                disk_image.read_link(image, "/" + path) if image is not None else "?"
            return PreviewContent(Text(f"{label} · symlink"), Text(
                f"→ {display_name(target)}\n\nSymlinks are listed but never followed here."))
        if row.kind != "file":
            return PreviewContent(Text(f"{label} · {special_kind(row.mode)}"), Text(
                "Not a regular file: it is not opened (reading a FIFO or device could block).",
                style="italic"))
        if image is not None:
            data = disk_image.read_file(image, "/" + path, max_bytes=HEAD_BYTES)
            size = row.apparent if row.apparent is not None else len(data)
            return text_or_hex(row.name, FilePreview(size, data, b"", size > len(data)), width=width)
        assert root is not None
        content = text_or_hex(row.name, root.read_head_tail(path, HEAD_BYTES, TAIL_BYTES), width=width)
        if row.modified is not None:
            content.title.append(f" · modified {timestamp(datetime.fromtimestamp(row.modified, UTC))}")
        return content
    except BackendError as exc:
        return PreviewContent(Text(label), Text(f"✖ {exc.message}"))
    except OSError as exc:
        return PreviewContent(Text(label), Text(f"✖ cannot read it: {exc.strerror or exc}"))
