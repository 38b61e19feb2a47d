"""``VolumeTable``: every volume row and orphan folder, with usage bars, mounts and flags.

Also the plain data the volume browser keeps per volume (:class:`VolumeRow`, :class:`UsageState`), the
``/`` filter syntax (:class:`VolumeFilter`) and sorting (:func:`sort_rows`), all without Textual.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple

from rich.text import Text

from backend.volumes.disk_image import Ext4Usage
from backend.volumes.models import VolumeInfo
from backend.volumes.usage import Usage, UsageProgress
from backend.volumes.xref import MountRef, OrphanFolder, VolumeCrossRef
from tui import clock
from tui.format import age, byte_size
from tui.screens.volumes.names import display_name
from tui.widgets.virtual_table import Column, VirtualTable

MIB = 1024 * 1024
BAR_WIDTH = 6
_EIGHTHS = " ▏▎▍▌▋▊▉"


@dataclass(frozen=True, slots=True)
class UsageState:
    """What the browser knows about one volume's usage: the last scan, or the one running now."""

    usage: Usage | None = None
    scanned_at: str = ""
    scanning: bool = False
    progress: UsageProgress | None = None
    error: str | None = None
    stale: bool = False
    ext4: Ext4Usage | None = None
    ext4_error: str | None = None

    @property
    def partial(self) -> bool:
        """True when the last scan was cancelled (its figures are a lower bound)."""
        return self.usage is not None and not self.usage.complete


class VolumeRow(NamedTuple):
    """One line of the volume table: a catalog row (``info``) or a folder with no row (``orphan``)."""

    name: str
    kind: str
    info: VolumeInfo | None
    ref: VolumeCrossRef | None
    orphan: OrphanFolder | None = None

    @property
    def mounts(self) -> tuple[MountRef, ...]:
        """The sandboxes that mount it."""
        return self.ref.mounted_by if self.ref is not None else ()

    @property
    def flags(self) -> tuple[str, ...]:
        """``missing`` (folder or image gone), ``orphan`` (no row), ``writer`` (a running sandbox writes),
        ``unsafe`` (a row whose name cannot be a folder name: never opened)."""
        flags: list[str] = []
        if self.info is not None and self.info.problem is not None:
            flags.append("unsafe")
        if self.orphan is not None:
            flags.append("orphan")
        if self.ref is not None and (self.ref.folder_missing or self.ref.image_missing):
            flags.append("missing")
        if self.ref is not None and self.ref.running_writers:
            flags.append("writer")
        return tuple(flags)

    @property
    def browsable(self) -> bool:
        """A folder exists to look into (disk volumes are browsed inside their image)."""
        return "missing" not in self.flags and "unsafe" not in self.flags


def build_rows(infos: Sequence[VolumeInfo], refs: Any) -> list[VolumeRow]:
    """Rows for every volume (in catalog order) followed by the orphan folders."""
    rows = [VolumeRow(info.name, info.kind, info, refs.for_volume(info.name) if refs else None)
            for info in infos]
    for orphan in (refs.orphan_folders if refs else ()):
        rows.append(VolumeRow(orphan.name, "orphan", None, None, orphan))
    return rows


def used_bytes(state: UsageState | None) -> int | None:
    """Bytes on disk from the last (or running) scan; None when nothing was counted yet."""
    if state is None:
        return None
    if state.usage is not None and not state.scanning:
        return state.usage.allocated_bytes
    if state.progress is not None:
        return state.progress.allocated_bytes
    return state.usage.allocated_bytes if state.usage is not None else None


def limit_bytes(row: VolumeRow, fs_total: int | None) -> tuple[int | None, str]:
    """What the usage bar is measured against: the quota, the image capacity, or the disk."""
    info = row.info
    if info is not None and info.kind == "disk" and info.capacity_bytes:
        return info.capacity_bytes, "capacity"
    if info is not None and info.quota_mib:
        return info.quota_mib * MIB, "quota"
    return fs_total, "disk"


def bar(fraction: float, width: int = BAR_WIDTH) -> str:
    """A bar of ``width`` cells filled to ``fraction`` (eighths of a cell for the last one)."""
    fraction = max(0.0, min(1.0, fraction))
    eighths = round(fraction * width * 8)
    full, rest = divmod(eighths, 8)
    text = "█" * full + (_EIGHTHS[rest] if rest and full < width else "")
    return text.ljust(width, "░")


def bar_text(fraction: float, width: int, style: Any, empty_style: Any) -> Text:
    """:func:`bar` as styled text: the filled part in ``style``, the rest in ``empty_style``."""
    cells = bar(fraction, width)
    filled = cells.rstrip("░")
    text = Text(filled, style=style)
    text.append(cells[len(filled):], style=empty_style)
    return text


# -- filter -------------------------------------------------------------------------------------

FILTER_HELP = ("words match names; kind:dir,disk,orphan  label:k=v  by:sandbox  "
               "flag:missing,orphan,writer,unused; ! negates")


@dataclass(frozen=True, slots=True)
class VolumeFilter:
    """A parsed ``/`` filter: every term must match (a ``!`` term must not)."""

    terms: tuple[tuple[bool, Callable[[VolumeRow], bool]], ...] = field(default=())
    text: str = ""

    @classmethod
    def parse(cls, text: str) -> VolumeFilter:
        """Parse ``text``; ``ValueError`` with a message saying what is wrong."""
        try:
            words = shlex.split(text)
        except ValueError as exc:
            raise ValueError(f"unbalanced quotes in the filter ({exc})") from None
        terms = []
        for word in words:
            negate = word.startswith("!")
            word = word[1:] if negate else word
            if word:
                terms.append((negate, _term(word)))
        return cls(tuple(terms), text.strip())

    @property
    def active(self) -> bool:
        """True when it filters anything."""
        return bool(self.terms)

    def matches(self, row: VolumeRow) -> bool:
        """True when ``row`` passes every term."""
        return all(test(row) != negate for negate, test in self.terms)


def _flag_test(flag: str) -> Callable[[VolumeRow], bool]:
    if flag == "unused":
        return lambda row: row.orphan is None and not row.mounts
    if flag == "mounted":
        return lambda row: bool(row.mounts)
    if flag in ("missing", "orphan", "writer"):
        return lambda row: flag in row.flags
    raise ValueError(f"unknown flag {flag!r}: use missing, orphan, writer, unused or mounted")


def _term(word: str) -> Callable[[VolumeRow], bool]:
    key, sep, value = word.partition(":")
    if not sep:
        needle = word.casefold()
        return lambda row: needle in row.name.casefold()
    values = [v for v in value.split(",") if v]
    if not values:
        raise ValueError(f"{key}: needs a value (for example {key}:…)")
    if key == "kind":
        bad = [v for v in values if v not in ("dir", "disk", "orphan")]
        if bad:
            raise ValueError(f"unknown kind {bad[0]!r}: use dir, disk or orphan")
        return lambda row: row.kind in values
    if key == "label":
        pairs = [v.partition("=") for v in values]

        def has_label(row: VolumeRow) -> bool:
            labels = row.info.labels if row.info is not None else ()
            return any((k, val) in labels if eq else any(lk == k for lk, _ in labels) for k, eq, val in pairs)

        return has_label
    if key in ("by", "used-by"):
        names = [v.casefold() for v in values]
        if names == ["none"]:
            return lambda row: not row.mounts
        return lambda row: any(n in m.sandbox.casefold() for m in row.mounts for n in names)
    if key == "flag":
        tests = [_flag_test(v) for v in values]
        return lambda row: any(t(row) for t in tests)
    raise ValueError(f"unknown filter key {key!r}: use kind:, label:, by: or flag:")


# -- sort ---------------------------------------------------------------------------------------

SORT_KEYS = ("name", "kind", "used", "files", "created", "labels", "usedby", "flags")
DEFAULT_DESCENDING = {"used": True, "files": True, "created": True, "usedby": True, "flags": True}


def sort_rows(rows: Sequence[VolumeRow], key: str, descending: bool,
              usages: Mapping[str, UsageState]) -> list[VolumeRow]:
    """``rows`` ordered by ``key``; rows without a value for it come last either way, ties by name."""

    def value(row: VolumeRow) -> Any:
        if key == "name":
            return row.name.casefold()
        if key == "kind":
            return row.kind
        if key == "used":
            return used_bytes(usages.get(row.name))
        if key == "files":
            state = usages.get(row.name)
            return state.usage.files if state is not None and state.usage is not None else None
        if key == "created":
            return row.info.created_at if row.info is not None else None
        if key == "labels":
            return ",".join(f"{k}={v}" for k, v in row.info.labels) if row.info and row.info.labels else None
        if key == "usedby":
            return len(row.mounts) or None
        return len(row.flags) or None

    by_name = sorted(rows, key=lambda r: r.name.casefold())
    present = [r for r in by_name if value(r) is not None]
    missing = [r for r in by_name if value(r) is None]
    present.sort(key=value, reverse=descending)
    return present + missing


# -- the widget ---------------------------------------------------------------------------------

VOLUME_COLUMNS: tuple[Column, ...] = (
    Column("name", "NAME", weight=3, min_width=12, sort_key="name"),
    Column("kind", "KIND", width=4, sort_key="kind"),
    Column("used", "USED", width=17, sort_key="used"),
    Column("files", "FILES", width=7, align="right", sort_key="files"),
    Column("created", "AGE", width=5, align="right", sort_key="created"),
    Column("labels", "LABELS", weight=2, min_width=6, sort_key="labels"),
    Column("usedby", "USED BY", weight=3, min_width=8, sort_key="usedby"),
    Column("flags", "FLAG", width=6, sort_key="flags"),
)

FLAG_SYMBOLS = {"missing": "✖", "orphan": "?", "writer": "!", "unsafe": "✖"}


def volume_key(row: VolumeRow) -> str:
    """Rows are identified by name (orphans cannot share a name with a row)."""
    return row.name


def mounts_text(mounts: Sequence[MountRef]) -> str:
    """``api-server rw, web ro``: each sandbox once, running ones marked with ``●``."""
    seen: dict[str, str] = {}
    for mount in mounts:
        mode = "ro" if mount.readonly else "rw"
        running = "●" if mount.status in ("Running", "Starting", "Draining", "Paused") else ""
        previous = seen.get(mount.sandbox)
        if previous is None or (previous.endswith("ro") and mode == "rw"):
            seen[mount.sandbox] = f"{running}{mount.sandbox} {mode}"
    return ", ".join(seen.values())


class VolumeTable(VirtualTable[VolumeRow]):
    """The volume list. ``usages`` and ``fs_total`` are set by the screen before each refresh."""

    DEFAULT_CSS = """
    VolumeTable {
        & > .volume-table--bar { color: $success; }
        & > .volume-table--bar-high { color: $warning; }
        & > .volume-table--bar-full { color: $error; text-style: bold; }
        & > .volume-table--muted { color: $text-muted; }
        & > .volume-table--flag { color: $error; text-style: bold; }
        & > .volume-table--orphan { color: $warning; text-style: italic; }
    }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = VirtualTable.COMPONENT_CLASSES | {
        "volume-table--bar", "volume-table--bar-high", "volume-table--bar-full",
        "volume-table--muted", "volume-table--flag", "volume-table--orphan",
    }

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(VOLUME_COLUMNS, volume_key, id=id)
        self.usages: Mapping[str, UsageState] = {}
        self.fs_total: int | None = None

    def _style(self, name: str) -> Any:
        return self.get_component_rich_style(f"volume-table--{name}")

    def used_cell(self, row: VolumeRow) -> Text:
        """The bar and the size (``~`` marks a partial figure, ``⟳`` a scan in progress)."""
        if "missing" in row.flags:
            return Text("✖ missing", style=self._style("flag"))
        if "unsafe" in row.flags:
            return Text("✖ unsafe name", style=self._style("flag"))
        state = self.usages.get(row.name)
        used = used_bytes(state)
        if state is not None and state.error and used is None:
            return Text("✖ unreadable", style=self._style("flag"))
        if used is None:
            scanning = state is not None and state.scanning
            return Text("⟳ scanning" if scanning else "…", style=self._style("muted"))
        limit, _what = limit_bytes(row, self.fs_total)
        fraction = used / limit if limit else 0.0
        style = "bar-full" if fraction >= 0.95 else "bar-high" if fraction >= 0.8 else "bar"
        marker = " " if state is None else "⟳" if state.scanning else "~" if state.partial else " "
        text = bar_text(fraction, BAR_WIDTH, self._style(style), self._style("muted"))
        text.append(f"{marker}{byte_size(used)}")
        return text

    def render_cell(self, row: VolumeRow, column: Column) -> Text:
        key = column.key
        if key == "name":
            return Text(display_name(row.name), style=self._style("orphan") if row.orphan else "")
        if key == "kind":
            return Text("-" if row.orphan else row.kind, style=self._style("muted") if row.orphan else "")
        if key == "used":
            return self.used_cell(row)
        if key == "files":
            state = self.usages.get(row.name)
            if state is None or state.usage is None or state.scanning or row.kind == "disk":
                return Text("")
            return Text(f"{state.usage.files:,}")
        if key == "created":
            return Text(age(row.info.created_at, clock.now()) if row.info is not None else "-")
        if key == "labels":
            labels = row.info.labels if row.info is not None else ()
            return Text(display_name(",".join(f"{k}={v}" for k, v in labels)))
        if key == "usedby":
            if row.orphan is not None:
                return Text("no catalog row", style=self._style("orphan"))
            return Text(display_name(mounts_text(row.mounts)) or "-",
                        style="" if row.mounts else self._style("muted"))
        if key == "flags":
            return Text("".join(FLAG_SYMBOLS[f] for f in row.flags), style=self._style("flag"))
        return Text("")
