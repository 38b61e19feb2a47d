"""Disk usage of a folder, ncdu-style: apparent and allocated bytes, counts, and a per-folder tree.

:func:`scan_usage` blocks; run it in a thread. It reports progress through a callback (called in the
scanning thread), stops soon after a ``threading.Event`` is set and then returns what it had counted
(``complete=False``). Folders are opened with ``O_NOFOLLOW`` relative to their parent, so the scan
never leaves the folder it was given, whatever symlinks it meets, nor its file system (a mount point
inside is left out, mount point included, as ``du -x`` does). Symlinks count as entries
(their own size), never as what they point to. A file with several hard links counts once. Nothing
is written anywhere, in particular not to the volume row (microsandbox would show it as ``used_bytes``).

The walk runs in C where it can: GNU find, driven by :mod:`backend.volumes.usage_find`, several times faster
than Python's ``scandir`` + ``lstat``. Without a usable find, :func:`walk_usage` (the same walk in
Python) does it, and ``Usage.scanner`` and a log line say so.
"""

from __future__ import annotations

import logging
import os
import stat
import time
from pathlib import Path
from threading import Event

from backend.volumes import usage_find
from backend.volumes.fdio import DIR_FLAGS
from backend.volumes.models import kind_of
from backend.volumes.usage_types import (
    MAX_DEPTH,
    MAX_ERROR_SAMPLES,
    ChildSize,
    DirUsage,
    ProgressFn,
    Usage,
    UsageProgress,
    fold_into,
)

__all__ = ["ChildSize", "DirUsage", "ProgressFn", "Usage", "UsageProgress", "child_sizes", "scan_usage",
           "walk_usage"]

CHECK_EVERY = 2048  # entries between cancel/progress checks inside one large folder
# Folders with at most this many entries, walked within this time, are counted in Python even where
# find is usable: starting find costs as much (~3 ms).
PYTHON_UP_TO = 300
PYTHON_FOR_S = 0.025

log = logging.getLogger(__name__)
_fallbacks_logged: set[str] = set()




class _Frame:
    __slots__ = ("fd", "node", "path", "pending")

    def __init__(self, fd: int, node: DirUsage, path: str) -> None:
        self.fd = fd
        self.node = node
        self.pending: list[str] = []
        self.path = path


class _Scanner:
    """The state of one scan; the per-entry loop lives in :meth:`list_folder` and uses locals only."""

    def __init__(self, progress: ProgressFn | None, cancel: Event | None, interval_s: float,
                 limit: int | None = None) -> None:
        self.progress = progress
        self.cancel = cancel
        self.limit = limit  # stop, reporting nothing, past this many entries or PYTHON_FOR_S
        self.over_limit = False
        self.interval_s = interval_s
        self.started = time.monotonic()
        self.next_report = self.started + interval_s
        self.seen: set[tuple[int, int]] = set()
        self.samples: list[str] = []
        self.files = self.dirs = self.apparent = self.blocks = self.errors = 0
        self.current = "/"
        self.device = -1  # the root's: folders on another file system are left out

    def cancelled(self) -> bool:
        if self.limit is not None and (self.files + self.dirs > self.limit
                                       or time.monotonic() - self.started > PYTHON_FOR_S):
            self.over_limit = True
            return True
        return self.cancel is not None and self.cancel.is_set()

    def note(self, node: DirUsage, path: str, exc: OSError) -> None:
        node.errors += 1
        self.errors += 1
        if len(self.samples) < MAX_ERROR_SAMPLES:
            self.samples.append(f"{path}: {exc.strerror or exc}")

    def maybe_report(self, force: bool = False) -> None:
        if self.progress is None:
            return
        now = time.monotonic()
        if force or now >= self.next_report:
            self.next_report = now + self.interval_s
            self.progress(UsageProgress(self.files, self.dirs, self.apparent, self.blocks * 512,
                                        self.errors, now - self.started, self.current))

    def own_size(self, fd: int, node: DirUsage) -> int:
        """Count the root's own size; returns its device."""
        own = os.fstat(fd)
        node.apparent_bytes += own.st_size
        node.allocated_bytes += own.st_blocks * 512
        self.apparent += own.st_size
        self.blocks += own.st_blocks
        return own.st_dev

    def list_folder(self, frame: _Frame) -> bool:
        """Count the non-folder entries of ``frame`` and queue its sub-folders; False when cancelled."""
        self.current = frame.path or "/"
        node, seen, subdirs = frame.node, self.seen, frame.pending
        apparent = blocks = files = checked = 0
        finished = True
        try:
            with os.scandir(frame.fd) as entries:
                for entry in entries:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            subdirs.append(entry.name)
                            continue
                        st = entry.stat(follow_symlinks=False)
                    except OSError as exc:
                        self.note(node, f"{frame.path}/{entry.name}", exc)
                        continue
                    if st.st_nlink > 1:
                        key = (st.st_dev, st.st_ino)
                        if key in seen:
                            continue
                        seen.add(key)
                    apparent += st.st_size
                    blocks += st.st_blocks
                    files += 1
                    checked += 1
                    if checked >= CHECK_EVERY:
                        checked = 0
                        if self.cancelled():
                            finished = False
                            break
                        self.files += files
                        self.apparent += apparent
                        self.blocks += blocks
                        node.apparent_bytes += apparent
                        node.allocated_bytes += blocks * 512
                        node.files += files
                        apparent = blocks = files = 0
                        self.maybe_report()
        except OSError as exc:
            self.note(node, frame.path or "/", exc)
        node.apparent_bytes += apparent
        node.allocated_bytes += blocks * 512
        node.files += files
        self.files += files
        self.apparent += apparent
        self.blocks += blocks
        subdirs.reverse()  # pop() then visits them in listing order
        return finished

    def open_child(self, frame: _Frame, name: str, depth: int, tree: bool) -> _Frame | None:
        path = f"{frame.path}/{name}"
        if depth >= MAX_DEPTH:
            self.note(frame.node, path, OSError(0, f"deeper than {MAX_DEPTH} levels, not scanned"))
            return None
        try:
            fd = os.open(name, DIR_FLAGS, dir_fd=frame.fd)
        except OSError as exc:
            self.unreadable(frame, name, path, exc, tree)
            return None
        try:
            own = os.fstat(fd)
        except OSError as exc:
            os.close(fd)
            self.note(frame.node, path, exc)
            return None
        if own.st_dev != self.device:  # a mount point: another file system, left out as du -x does
            os.close(fd)
            return None
        child = DirUsage(name, own.st_size, own.st_blocks * 512)
        self.apparent += own.st_size
        self.blocks += own.st_blocks
        self.dirs += 1
        if tree:
            frame.node.children[name] = child
        return _Frame(fd, child, path)

    def unreadable(self, frame: _Frame, name: str, path: str, exc: OSError, tree: bool) -> None:
        """A sub-folder that cannot be opened: its own size counts (as du and find count it), and the
        error is its own; anything else (it vanished, or is a symlink now) is an error of the parent."""
        try:
            own = os.stat(name, dir_fd=frame.fd, follow_symlinks=False)
        except OSError:
            own = None
        if own is None or not stat.S_ISDIR(own.st_mode):
            self.note(frame.node, path, exc)
            return
        if own.st_dev != self.device:
            return  # a mount point (another file system) is left out, readable or not
        child = DirUsage(name, own.st_size, own.st_blocks * 512, complete=True)
        self.apparent += own.st_size
        self.blocks += own.st_blocks
        self.dirs += 1
        self.note(child, path, exc)
        if tree:
            frame.node.children[name] = child
        fold_into(child, frame.node)


def scan_usage(
    folder: Path | int,
    *,
    progress: ProgressFn | None = None,
    cancel: Event | None = None,
    interval_s: float = 0.2,
    tree: bool = True,
) -> Usage:
    """Walk ``folder`` (a path, or an open folder descriptor that stays open) and total its usage.

    Raises ``OSError`` only when ``folder`` itself cannot be opened; anything unreadable below it is
    counted in ``errors`` (with a few ``error_samples``) and skipped. ``progress`` is called about
    every ``interval_s`` seconds, and once at the end, in the scanning thread. The walk runs in GNU
    find (see :mod:`backend.volumes.usage_find`), or in Python (:func:`walk_usage`) where find is unusable.
    """

    fd = os.dup(folder) if isinstance(folder, int) else os.open(folder, DIR_FLAGS)
    try:
        tool = usage_find.find_tool()
        reason = tool.reason
        if tool.path is not None:
            # A walk that meets more than PYTHON_UP_TO entries stops early and hands over to find;
            # it reports no progress (find starts counting from zero again).
            small = _walk(fd, progress, cancel, float("inf"), tree, PYTHON_UP_TO) if PYTHON_UP_TO else None
            if small is not None:
                return small
            try:
                return usage_find.scan_with_find(fd, tool.path, progress=progress, cancel=cancel,
                                                 interval_s=interval_s, tree=tree)
            except usage_find.FindUnusable as exc:
                reason = str(exc)
        if reason not in _fallbacks_logged:
            _fallbacks_logged.add(reason)
            log.warning("usage scans use the slower Python walk: %s", reason)
        return walk_usage(fd, progress=progress, cancel=cancel, interval_s=interval_s, tree=tree)
    finally:
        os.close(fd)


def walk_usage(
    folder: Path | int,
    *,
    progress: ProgressFn | None = None,
    cancel: Event | None = None,
    interval_s: float = 0.2,
    tree: bool = True,
) -> Usage:
    """:func:`scan_usage` in Python (``scandir`` + ``lstat``): the fallback where find is unusable."""
    usage = _walk(folder, progress, cancel, interval_s, tree, None)
    assert usage is not None
    return usage


def _walk(folder: Path | int, progress: ProgressFn | None, cancel: Event | None, interval_s: float,
          tree: bool, limit: int | None) -> Usage | None:
    """The Python walk; None when it stopped because the folder holds more than ``limit`` entries."""
    scanner = _Scanner(progress, cancel, interval_s, limit)
    fd = os.dup(folder) if isinstance(folder, int) else os.open(folder, DIR_FLAGS)
    root = DirUsage("")
    stack = [_Frame(fd, root, "")]
    finished = True
    try:
        scanner.device = scanner.own_size(fd, root)
        finished = scanner.list_folder(stack[0])
        while finished and stack:
            frame = stack[-1]
            if scanner.cancelled():
                finished = False
                break
            if frame.pending:
                child = scanner.open_child(frame, frame.pending.pop(), len(stack), tree)
                if child is not None:
                    stack.append(child)
                    finished = scanner.list_folder(child)
                    scanner.maybe_report()
                continue
            stack.pop()
            os.close(frame.fd)
            frame.node.complete = True
            if stack:
                fold_into(frame.node, stack[-1].node)
    finally:
        while stack:  # cut short: fold what was counted so far into the ancestors
            frame = stack.pop()
            os.close(frame.fd)
            if stack:
                fold_into(frame.node, stack[-1].node)
    if scanner.over_limit:
        return None
    scanner.maybe_report(force=True)
    return Usage(
        apparent_bytes=root.apparent_bytes,
        allocated_bytes=root.allocated_bytes,
        files=root.files,
        dirs=root.dirs,
        errors=root.errors,
        complete=finished,
        tree=root if tree else None,
        error_samples=tuple(scanner.samples),
        elapsed_s=time.monotonic() - scanner.started,
        scanner="python",
    )


def child_sizes(folder: int, node: DirUsage | None = None, *, cancel: Event | None = None) -> list[ChildSize]:
    """ncdu-style rows for the open folder ``folder``: every child with the size of its subtree.

    Sub-folders present in ``node`` (this folder's node from an earlier scan's tree) reuse those
    figures; the others are scanned now. Files report their own apparent and allocated size.
    """
    rows: list[ChildSize] = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if cancel is not None and cancel.is_set():
                break
            try:
                if entry.is_dir(follow_symlinks=False):
                    known = node.children.get(entry.name) if node is not None else None
                    if known is None:
                        fd = os.open(entry.name, DIR_FLAGS, dir_fd=folder)
                        try:
                            scanned = scan_usage(fd, cancel=cancel, tree=False)
                        finally:
                            os.close(fd)
                        rows.append(ChildSize(entry.name, "directory", scanned.apparent_bytes,
                                              scanned.allocated_bytes, scanned.files + scanned.dirs,
                                              scanned.complete))
                    else:
                        rows.append(ChildSize(entry.name, "directory", known.apparent_bytes,
                                              known.allocated_bytes, known.files + known.dirs, known.complete))
                    continue
                st = entry.stat(follow_symlinks=False)
            except OSError:
                rows.append(ChildSize(entry.name, "other", 0, 0, 0, False))
                continue
            rows.append(ChildSize(entry.name, kind_of(st.st_mode), st.st_size, st.st_blocks * 512, 0))
    return rows
