"""``VolumeDetail``: everything about the selected volume under the table (paths, usage, mounts, flags)."""

from __future__ import annotations

from pathlib import Path

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui import clock
from tui.format import age, byte_size, status_label, timestamp
from tui.screens.volumes.names import display_name, plural
from tui.screens.volumes.table import MIB, UsageState, VolumeRow, limit_bytes

RUNNING = ("Running", "Starting", "Draining", "Paused")


def shown_path(path: Path, home: Path | None) -> str:
    """``path`` relative to the home when it lies inside it, escaped for display."""
    if home is not None:
        try:
            path = path.relative_to(home)
        except ValueError:
            pass
    return display_name(str(path))


def kind_text(row: VolumeRow) -> str:
    """A few words on what kind of storage the row is."""
    info = row.info
    if info is None:
        return "a folder with no catalog row (left over, or made by hand): not a volume"
    if info.kind == "disk":
        capacity = byte_size(info.capacity_bytes) if info.capacity_bytes else "unknown size"
        return f"disk · {info.disk_format or 'raw'} {info.disk_fstype or 'ext4'} image of {capacity}"
    if info.quota_mib:
        return f"directory · quota {byte_size(info.quota_mib * MIB)} (caps guest writes)"
    return "directory · no quota"


def usage_text(row: VolumeRow, state: UsageState | None, fs_total: int | None) -> Text:
    """The usage line: figures, what they are measured against, and how fresh they are."""
    text = Text()
    if "missing" in row.flags:
        return Text("nothing to scan: its storage is missing", style="dim")
    if "unsafe" in row.flags:
        return Text("not scanned: the name is not a safe folder name", style="dim")
    if state is None:
        return Text("not scanned yet", style="dim")
    if state.scanning and state.progress is not None:
        p = state.progress
        text.append(f"⟳ scanning: {plural(p.files, 'file')}, {plural(p.dirs, 'folder')}, "
                    f"{byte_size(p.allocated_bytes)} so far"
                    " (c cancels and keeps what was counted)")
        return text
    if state.scanning:
        return Text("⟳ scanning…")
    if state.error and state.usage is None:
        return Text(f"✖ {state.error}", style="bold")
    usage = state.usage
    if usage is None:
        return Text("not scanned yet", style="dim")
    if row.kind == "disk":
        text.append(f"image {byte_size(usage.apparent_bytes)} apparent, {byte_size(usage.allocated_bytes)} "
                    "allocated on the host (sparse)")
        if state.ext4 is not None:
            ext4 = state.ext4
            total = ext4.block_count * ext4.block_size
            text.append(f" · inside: {byte_size(ext4.used_bytes)} of {byte_size(total)} used, "
                        f"{ext4.inode_count - ext4.free_inodes:,} inodes")
        elif state.ext4_error:
            text.append(f" · inside: {state.ext4_error}", style="dim")
        return text
    text.append(f"{byte_size(usage.allocated_bytes)} on disk · {byte_size(usage.apparent_bytes)} apparent · "
                f"{plural(usage.files, 'file')}, {plural(usage.dirs, 'folder')}")
    limit, what = limit_bytes(row, fs_total)
    if limit:
        text.append(f" · {usage.allocated_bytes / limit * 100:.1f}% of the {what}")
    if usage.errors:
        text.append(f" · {usage.errors:,} unreadable", style="bold")
    when = f" · scanned {state.scanned_at}" if state.scanned_at else ""
    if not usage.complete:
        text.append(f"{when} · partial: the scan was cancelled (r rescans)", style="bold")
    elif state.stale:
        text.append(f"{when} · changed since (r rescans)", style="italic")
    else:
        text.append(when, style="dim")
    return text


def flag_lines(row: VolumeRow, home: Path | None) -> list[Text]:
    """One warning per flag, in words."""
    lines: list[Text] = []
    ref = row.ref
    if row.orphan is not None:
        lines.append(Text("? no catalog row: microsandbox does not know this folder"))
    if row.info is not None and row.info.problem is not None:
        lines.append(Text(f"✖ {row.info.problem}"))
    if ref is not None and ref.folder_missing and row.info is not None:
        lines.append(Text(f"✖ its folder {shown_path(row.info.path, home)} is missing"))
    elif ref is not None and ref.image_missing and row.info is not None and row.info.disk_path is not None:
        lines.append(Text(f"✖ its image {shown_path(row.info.disk_path, home)} is missing"))
    if ref is not None:
        for mount in ref.running_writers:
            lines.append(Text(
                f"! {display_name(mount.sandbox)} is {mount.status.lower()} and mounts it read-write at "
                f"{display_name(mount.guest)}:"
                " what you see can change while you look", style="bold"))
    return lines


def detail_renderable(row: VolumeRow, state: UsageState | None, home: Path | None,
                      fs_total: int | None) -> RenderableType:
    """A two-column grid of facts about ``row``."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    info = row.info
    folder = info.path if info is not None else row.orphan.path if row.orphan is not None else None
    if info is not None and info.disk_path is not None:
        folder = info.disk_path
    # Text cells throughout: a str cell is read as markup, and paths, formats and labels come from the
    # home's rows and folders.
    grid.add_row("Path", Text(shown_path(folder, home) if folder is not None else "-"))
    grid.add_row("Kind", Text(kind_text(row)))
    grid.add_row("Usage", usage_text(row, state, fs_total))
    if info is not None:
        mounts = Text()
        for index, mount in enumerate(row.mounts):
            if index:
                mounts.append("\n")
            mounts.append(status_label(mount.status).split(" ", 1)[0] + " ")
            mounts.append(display_name(mount.sandbox), style="bold" if mount.status in RUNNING else "")
            mode = "read-only" if mount.readonly else "read-write"
            via = " (bind mount)" if mount.via == "bind" else ""
            mounts.append(f" {mount.status.lower()}, {mode} at {display_name(mount.guest) or '?'}{via}")
        grid.add_row("Mounted by", mounts if row.mounts else Text("no sandbox", style="dim"))
    for line in flag_lines(row, home):
        grid.add_row("Warning", line)
    if info is not None:
        labels = ", ".join(f"{k}={v}" for k, v in info.labels)
        grid.add_row("Labels", Text(display_name(labels) or "-"))
        grid.add_row("Created", Text(f"{timestamp(info.created_at)} ({age(info.created_at, clock.now())} ago)"
                                     if info.created_at else "-"))
    return grid


class VolumeDetail(VerticalScroll):
    """The facts about one volume; :meth:`show` replaces them."""

    DEFAULT_CSS = """
    VolumeDetail {
        height: auto;
        max-height: 40%;
        border-top: solid $primary;
        padding: 0 1;
        & > #volume-detail-body { width: 100%; }
    }
    """

    def compose(self) -> ComposeResult:
        yield Static("Select a volume.", id="volume-detail-body")

    def show(self, renderable: RenderableType | str) -> None:
        """Show ``renderable`` (a grid from :func:`detail_renderable`, or a line)."""
        self.query_one("#volume-detail-body", Static).update(renderable)
