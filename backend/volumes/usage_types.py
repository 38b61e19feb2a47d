"""The figures of a usage scan, shared by both walks (:mod:`backend.volumes.usage` in Python and
:mod:`backend.volumes.usage_find` with GNU find)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from backend.volumes.models import FsKind
from backend.volumes.paths import Parts

MAX_DEPTH = 256  # one open descriptor per level; deeper folders are counted as errors
MAX_ERROR_SAMPLES = 20


@dataclass(slots=True, eq=False)
class DirUsage:
    """One folder of a scan: totals for its whole subtree (itself included), and its sub-folders.

    ``files`` counts every non-folder entry below (a hard-linked file once); ``dirs`` counts the
    folders below, not itself. ``complete`` is false when the scan of this subtree was cancelled or
    cut short. Filled in by the scanning thread; read it after the scan, or live for a progressive
    view (figures only grow; iterate over ``list(node.children.values())``, the dict may grow meanwhile).
    """

    name: str
    apparent_bytes: int = 0
    allocated_bytes: int = 0
    files: int = 0
    dirs: int = 0
    errors: int = 0
    complete: bool = False
    children: dict[str, DirUsage] = field(default_factory=dict)

    def find(self, parts: Parts) -> DirUsage | None:
        """The node for the folder ``parts`` below this one, or None when the scan has none."""
        node: DirUsage | None = self
        for name in parts:
            if node is None:
                return None
            node = node.children.get(name)
        return node

    def walk(self, prefix: str = "") -> Iterator[tuple[str, DirUsage]]:
        """``(path, node)`` for this folder and every folder below it, parents first."""
        path = prefix + "/" + self.name if self.name else prefix
        yield path or "/", self
        for child in self.children.values():
            yield from child.walk(path)


@dataclass(frozen=True, slots=True)
class UsageProgress:
    """A snapshot sent to the progress callback while scanning."""

    files: int
    dirs: int
    apparent_bytes: int
    allocated_bytes: int
    errors: int
    elapsed_s: float
    current: str


@dataclass(frozen=True, slots=True)
class Usage:
    """The result of a scan. ``complete`` is false when it was cancelled; the figures then cover what
    was counted so far. ``tree`` is the per-folder breakdown (None when not asked for). ``scanner`` is
    the walk that counted: ``find`` (GNU find, in C), ``python`` (the fallback), or empty when no folder
    was walked (a disk image's sizes)."""

    apparent_bytes: int
    allocated_bytes: int
    files: int
    dirs: int
    errors: int
    complete: bool
    tree: DirUsage | None = None
    error_samples: tuple[str, ...] = ()
    elapsed_s: float = 0.0
    scanner: Literal["find", "python", ""] = ""


@dataclass(frozen=True, slots=True)
class ChildSize:
    """One row of an ncdu-style listing: a child of a folder with the size of everything under it.

    ``items`` is the number of entries inside a folder (0 for anything else).
    """

    name: str
    kind: FsKind
    apparent_bytes: int
    allocated_bytes: int
    items: int
    complete: bool = True


ProgressFn = Callable[[UsageProgress], None]


def fold_into(child: DirUsage, parent: DirUsage) -> None:
    """Add a finished sub-folder's totals to its parent's."""
    parent.apparent_bytes += child.apparent_bytes
    parent.allocated_bytes += child.allocated_bytes
    parent.files += child.files
    parent.dirs += child.dirs + 1
    parent.errors += child.errors
