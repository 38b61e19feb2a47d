"""Texts of the volume list: the summary line above the table and the removal confirmation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from rich.text import Text
from textual.content import Content

from backend.volumes.xref import VolumeCrossRefs
from tui.format import byte_size
from tui.screens.volumes.detail import shown_path
from tui.screens.volumes.names import display_name, plural
from tui.screens.volumes.table import UsageState, VolumeRow, used_bytes

RUNNING = ("Running", "Starting", "Draining", "Paused")


def summary_text(rows: Sequence[VolumeRow], usages: Mapping[str, UsageState], refs: VolumeCrossRefs | None,
                 shown: int | None) -> Content:
    """``5 volumes (4 dir, 1 disk) · 6.2 MiB on disk · ? 1 orphan folder · ✖ 1 missing · ! 1 written``."""
    volumes = [r for r in rows if r.info is not None]
    dirs = sum(1 for r in volumes if r.kind == "dir")
    parts: list[str | tuple[str, str]] = [
        (f"{len(volumes):,} volume{'' if len(volumes) == 1 else 's'}", "bold"),
        f" ({dirs} dir, {len(volumes) - dirs} disk)",
    ]
    if shown is not None:
        parts.append(f", {shown:,} shown")
    total = [used_bytes(usages.get(r.name)) for r in volumes if r.browsable]
    known = [t for t in total if t is not None]
    if known:
        parts.append(f" · {byte_size(sum(known))} on disk" + ("" if len(known) == len(total) else " so far"))
    counts = (
        ("orphan", "?", "folder without a row", "folders without a row"),
        ("missing", "✖", "missing", "missing"),
        ("writer", "!", "written by a running sandbox", "written by running sandboxes"),
        ("unsafe", "✖", "unsafe name", "unsafe names"),
    )
    for flag, symbol, one, many in counts:
        n = sum(1 for r in rows if flag in r.flags)
        if n:
            parts += [" · ", (f"{symbol} {n} {one if n == 1 else many}", "bold $warning")]
    if refs is not None and refs.unknown_volume_mounts:
        names = sorted({name for name, _ in refs.unknown_volume_mounts})
        unknown = display_name(", ".join(names))
        parts += [" · ", (f"{len(names)} mounted but unknown: {unknown}", "$text-muted")]
    return Content.assemble(*parts)


def removal_lines(row: VolumeRow, state: UsageState | None, home: Path | None) -> list[str]:
    """Exactly what removing ``row`` does, and who would notice."""
    info = row.info
    assert info is not None
    lines = [f"• delete the catalog row of volume {display_name(row.name)} ({info.kind})"]
    folder = shown_path(info.path, home)
    if state is not None and state.usage is not None and row.kind == "dir":
        usage = state.usage
        amount = (f"{plural(usage.files, 'file')} and {plural(usage.dirs, 'folder')}, "
                  f"{byte_size(usage.allocated_bytes)} on disk"
                  + ("" if usage.complete else " at least (the scan was cancelled)"))
        lines.append(f"• delete its folder {folder}/ with everything in it: {amount}")
    elif row.kind == "disk" and info.capacity_bytes:
        capacity = byte_size(info.capacity_bytes)
        lines.append(f"• delete its folder {folder}/ and the disk image in it ({capacity})")
    else:
        lines.append(f"• delete its folder {folder}/ with everything in it (not scanned yet)")
    for mount in row.mounts:
        mode = "read-only" if mount.readonly else "read-write"
        status = mount.status.upper() if mount.status in RUNNING else mount.status.lower()
        lines.append(f"⚠ mounted by sandbox {display_name(mount.sandbox)} ({status}, "
                     f"{mode} at {display_name(mount.guest)}): it will fail to start, or lose this data")
    if not row.mounts:
        lines.append("• no sandbox mounts it")
    lines.append("microsandbox has no in-use check. This cannot be undone.")
    return lines


def scan_line_text(row: VolumeRow | None, in_image: bool, state: UsageState | None, entries: int | None,
                   shown: int | None) -> Text:
    """The line under the breadcrumbs: entries here, then the scan's state and figures."""
    line = Text()
    if entries is not None:
        count = f"{entries:,} {'entry' if entries == 1 else 'entries'}"
        line.append(f"{shown:,} of {count}" if shown is not None else count, style="bold")
        line.append(" · ")
    if row is not None and in_image and row.info is not None:
        capacity = byte_size(row.info.capacity_bytes) if row.info.capacity_bytes else "?"
        line.append(f"disk image of {capacity}")
        if state is not None and state.usage is not None:
            line.append(f", {byte_size(state.usage.allocated_bytes)} allocated on the host")
        if state is not None and state.ext4 is not None:
            line.append(f", {byte_size(state.ext4.used_bytes)} used inside")
        line.append(" · read with debugfs -c (read-only)")
    elif state is None:
        line.append("not scanned yet: folder sizes show as ? (r scans)")
    elif state.scanning:
        p = state.progress
        counted = (f"{plural(p.files, 'file')}, {byte_size(p.allocated_bytes)} so far in "
                   f"{display_name(p.current)}") if p is not None else "starting"
        line.append(f"⟳ scanning: {counted} · c cancels (keeps what was counted)")
    elif state.error and state.usage is None:
        line.append(f"✖ {state.error}")
    elif state.usage is not None:
        usage = state.usage
        mark = "◐ partial (scan cancelled)" if not usage.complete else "✔ scanned"
        line.append(f"{mark} {state.scanned_at} · {byte_size(usage.allocated_bytes)} on disk, "
                    f"{byte_size(usage.apparent_bytes)} apparent, {plural(usage.files, 'file')}")
        if usage.errors:
            line.append(f", {usage.errors:,} unreadable")
        if state.stale:
            line.append(" · changed since")
        line.append(" · r rescans")
    return line
