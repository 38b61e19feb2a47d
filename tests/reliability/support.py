"""Shared pieces of the reliability suite: exact snapshots of a home, fault injection, privilege drop."""

from __future__ import annotations

import errno
import hashlib
import os
import pickle
import shutil
import stat
import subprocess
import sys
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

#: Files bigger than this are fingerprinted by their ends, size and allocation (a 2 GB sparse log
#: must not be read whole); every write through the API changes mtime/ctime anyway.
HASH_WHOLE_BELOW = 8 * 1024 * 1024
NOBODY = 65534


@dataclass(frozen=True)
class Entry:
    """What a snapshot records about one path (never following symlinks)."""

    kind: str
    mode: int
    size: int
    mtime_ns: int
    ctime_ns: int
    content: str


def _digest_file(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        if size <= HASH_WHOLE_BELOW:
            digest.update(handle.read())
        else:
            digest.update(handle.read(1 << 20))
            handle.seek(size - (1 << 20))
            digest.update(handle.read())
    return digest.hexdigest()


def snapshot(root: Path) -> dict[str, Entry]:
    """Every path under ``root`` (``root`` itself included): type, mode, size, mtime and ctime in ns, and
    the content (bytes of files, targets of symlinks, names in folders). Equal snapshots mean nothing
    was written, created, removed, renamed, chmod-ed or touched."""
    out: dict[str, Entry] = {}

    def visit(path: Path, rel: str) -> None:
        info = os.lstat(path)
        mode = info.st_mode
        if stat.S_ISLNK(mode):
            kind, content = "link", os.readlink(path)
        elif stat.S_ISDIR(mode):
            kind = "dir"
            try:
                names = sorted(os.listdir(path))
            except PermissionError:
                names = ["<unreadable>"]
            content = "\n".join(names)
        elif stat.S_ISREG(mode):
            kind = "file"
            try:
                content = _digest_file(path, info.st_size)
            except PermissionError:
                content = "<unreadable>"
        else:
            kind, content = "special", ""
        out[rel] = Entry(kind, mode, info.st_size, info.st_mtime_ns, info.st_ctime_ns, content)
        if kind == "dir" and content != "<unreadable>":
            for name in content.split("\n") if content else []:
                visit(path / name, f"{rel}/{name}" if rel else name)

    visit(root, "")
    return out


def _sqlite_rechown(rel: str, old: Entry, new: Entry) -> bool:
    """SQLite running as root re-chowns ``-wal``/``-shm`` to the database's owner on every open (the same
    owner, so only their ctime moves); that is not a write."""
    return (os.geteuid() == 0 and rel.endswith(("-wal", "-shm"))
            and old == Entry(new.kind, new.mode, new.size, new.mtime_ns, old.ctime_ns, new.content))


def _same_folder(old: Entry, new: Entry) -> bool:
    return old.kind == new.kind == "dir" and (old.mode, old.content) == (new.mode, new.content)


def diff(before: dict[str, Entry], after: dict[str, Entry], *, files_only: bool = False) -> list[str]:
    """Human-readable differences between two snapshots (empty when identical). ``files_only``
    ignores the times of folders (a writable SQLite session creates and removes ``-wal``/``-shm``)."""
    lines = []
    for rel in sorted(before.keys() | after.keys()):
        old, new = before.get(rel), after.get(rel)
        if old == new or (old is not None and new is not None and (
                _sqlite_rechown(rel, old, new) or (files_only and _same_folder(old, new)))):
            continue
        if old is None:
            lines.append(f"created: {rel or '.'}")
        elif new is None:
            lines.append(f"removed: {rel or '.'}")
        else:
            fields = [f for f in ("kind", "mode", "size", "mtime_ns", "ctime_ns", "content")
                      if getattr(old, f) != getattr(new, f)]
            lines.append(f"changed: {rel or '.'} ({', '.join(fields)})")
    return lines


def assert_unchanged(root: Path, before: dict[str, Entry], *, files_only: bool = False) -> None:
    """Fail with the list of differences when ``root`` is no longer exactly as in ``before``."""
    changes = diff(before, snapshot(root), files_only=files_only)
    assert not changes, "the home changed:\n  " + "\n  ".join(changes)


def copy_home(template: Path, target: Path) -> Path:
    """A private copy of a home, keeping sparse files sparse (the demo's disk image is 96 MiB)."""
    if shutil.which("cp") and sys.platform.startswith("linux"):
        subprocess.run(["cp", "-a", "--sparse=always", str(template), str(target)], check=True)
    else:
        shutil.copytree(template, target, symlinks=True)
    return target


# -- fault injection ---------------------------------------------------------------------------------


class InjectedFault(OSError):
    """An OSError raised on purpose (so a test can tell it from a real one)."""


@dataclass
class FaultPlan:
    """Counts calls to the watched functions; raises (or runs ``action``) on call number ``fail_at``."""

    fail_at: int | None = None
    error: int = errno.EIO
    action: Callable[[str], None] | None = None
    calls: list[str] = field(default_factory=list)

    def hit(self, name: str) -> None:
        self.calls.append(name)
        if self.fail_at is not None and len(self.calls) == self.fail_at:
            if self.action is not None:
                self.action(name)
            raise InjectedFault(self.error, f"injected {errno.errorcode[self.error]} in {name}")


class FaultyOs(ModuleType):
    """A stand-in for the ``os`` module of one backend module: the ``watched`` functions go through
    ``plan`` first, everything else is the real ``os``."""

    def __init__(self, plan: FaultPlan, watched: Iterable[str]) -> None:
        super().__init__("os")
        self._plan = plan
        for name in watched:
            setattr(self, name, self._wrap(name, getattr(os, name)))
        self.path = os.path

    def _wrap(self, name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            self._plan.hit(name)
            return real(*args, **kwargs)

        return call

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)


def watched(plan: FaultPlan, name: str, real: Callable[..., Any]) -> Callable[..., Any]:
    """``real`` behind ``plan`` (for module-level seams such as ``backend.fileio._fsync``)."""

    def call(*args: Any, **kwargs: Any) -> Any:
        plan.hit(name)
        return real(*args, **kwargs)

    return call


# -- running as another user -------------------------------------------------------------------------


def run_as_nobody(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` in a forked child without root's override of file permissions (uid/gid 65534 when
    root, else as is), and return its (picklable) result; an exception in the child fails here with
    the child's traceback. The child inherits every imported module, so ``fn`` should not import
    anything new from folders only root can read."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read_end)
        try:
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(NOBODY)
                os.setuid(NOBODY)
            payload = pickle.dumps(("ok", fn()))
        except BaseException:  # noqa: BLE001 - everything goes back to the parent
            payload = pickle.dumps(("error", traceback.format_exc()))
        with os.fdopen(write_end, "wb") as out:
            out.write(payload)
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as incoming:
        data = incoming.read()
    os.waitpid(pid, 0)
    status, value = pickle.loads(data)
    assert status == "ok", f"the unprivileged child failed:\n{value}"
    return value


def open_to_everyone(path: Path) -> None:
    """Let uid 65534 reach ``path``: every parent folder gets o+x (tests' temp folders are 0700)."""
    for folder in [path, *path.parents]:
        if folder == Path("/"):
            break
        mode = folder.stat().st_mode
        if not mode & stat.S_IXOTH:
            folder.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)
