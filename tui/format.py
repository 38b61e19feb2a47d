"""Small, pure formatting helpers shared by the screens (ages, sizes, statuses)."""

from __future__ import annotations

from datetime import UTC, datetime

#: C0 controls (but tab and newline) and DEL as their Unicode control pictures (ESC -> ␛), C1 controls
#: and direction overrides as U+FFFD. One character for one, so styled spans stay where they were.
_PRINTABLE = {i: 0x2400 + i for i in range(32) if i not in (9, 10)}
_PRINTABLE[0x7F] = 0x2421
_PRINTABLE.update({i: 0xFFFD for i in (*range(0x80, 0xA0), 0x2028, 0x2029, 0x200E, 0x200F,
                                      *range(0x202A, 0x202F), *range(0x2066, 0x206A))})


def printable(text: str) -> str:
    """``text`` safe to draw: no control character in it can reach the terminal as a control sequence
    (names, labels, images, commands and logs come from files and rows anyone may have written)."""
    return text.translate(_PRINTABLE)


def visible(text: str) -> str:
    """``text`` with CRLF as LF and every other control or direction-changing character made visible
    (for multi-line text: file previews and logs)."""
    return printable(text.replace("\r\n", "\n"))

#: Stored status -> (symbol, component-class suffix). Never colour alone: each has its own symbol.
STATUS_SYMBOLS: dict[str, tuple[str, str]] = {
    "Running": ("●", "running"),
    "Draining": ("◐", "transition"),
    "Paused": ("‖", "transition"),
    "Starting": ("◌", "transition"),
    "Created": ("○", "idle"),
    "Stopped": ("■", "idle"),
    "Crashed": ("✖", "crashed"),
}
UNKNOWN_STATUS = ("?", "unknown")


def status_label(status: str) -> str:
    """``"● running"``: the symbol and the lowercased status, as ``msb ls`` prints it."""
    symbol, _kind = STATUS_SYMBOLS.get(status, UNKNOWN_STATUS)
    return f"{symbol} {status.lower() or '-'}"


def status_kind(status: str) -> str:
    """Which style a status gets: running, transition, idle, crashed or unknown."""
    return STATUS_SYMBOLS.get(status, UNKNOWN_STATUS)[1]


def age(moment: datetime | None, now: datetime) -> str:
    """A short age such as ``45s``, ``12m``, ``3h``, ``5d``, ``8mo``, ``2y``; ``-`` when unknown."""
    if moment is None:
        return "-"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    seconds = int((now - moment).total_seconds())
    if seconds < 0:
        return "future"
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86_400:
        return f"{seconds // 3600}h"
    if seconds < 86_400 * 60:
        return f"{seconds // 86_400}d"
    if seconds < 86_400 * 365:
        return f"{seconds // (86_400 * 30)}mo"
    return f"{seconds // (86_400 * 365)}y"


def memory(mib: int | None) -> str:
    """``512M``, ``2G``, ``1.5G``; ``-`` when unknown."""
    if mib is None:
        return "-"
    if mib < 1024:
        return f"{mib}M"
    gib = mib / 1024
    return f"{gib:.0f}G" if gib == int(gib) else f"{gib:.1f}G"


def timestamp(moment: datetime | None) -> str:
    """``2026-11-28 12:00:00 UTC``; ``-`` when unknown. UTC keeps pictures and tests stable."""
    if moment is None:
        return "-"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def byte_size(size: int) -> str:
    """``812 B``, ``4.0 KiB``, ``2.1 MiB``."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"
