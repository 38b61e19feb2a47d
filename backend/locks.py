"""microsandbox's advisory file locks, taken the way its own processes take them.

microsandbox keeps its writers apart with ``flock`` on small lock files (since 0.5.10):

- ``db/msb.db.migration.lock``: held exclusively while a process opens, probes and migrates the catalog;
- ``volumes/.locks/<name>.lock``: held around creating and removing a volume;
- ``run/creation-locks/<h>.lock``, ``run/locks/<h>.lock`` (the lifecycle guard a running sandbox's
  runtime holds) and ``run/locks/<h>.snapshot-lineage.lock``, where ``h`` is the first 32 hex digits
  of sha256(sandbox name).

``flock`` cannot time out, so every wait here polls with ``LOCK_NB`` until a deadline. Lock files are
never deleted (as in microsandbox). Whether somebody else holds a lock is read from ``/proc/locks`` where
possible, because taking a lock even for a moment could make a microsandbox process's own non-blocking
attempt fail.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import hashlib
import os
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

POLL_S = 0.02
MIGRATION_LOCK_NAME = "msb.db.migration.lock"


class LockTimeout(Exception):
    """A lock stayed held by another process until the deadline."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"`{path}` stayed locked")
        self.path = path


def sandbox_lock_key(name: str) -> str:
    """``h``: the first 16 bytes of sha256(name) as 32 hex digits (the runtime's lock and socket key)."""
    return hashlib.sha256(name.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class SandboxLockFiles:
    """The three lock files ``msb rm`` takes for one sandbox, in the order it takes them."""

    creation: Path
    lifecycle: Path
    snapshot_lineage: Path

    @classmethod
    def for_sandbox(cls, run_dir: Path, name: str) -> SandboxLockFiles:
        """The lock files of the sandbox ``name`` under ``run_dir`` (``<home>/run``)."""
        key = sandbox_lock_key(name)
        return cls(
            creation=run_dir / "creation-locks" / f"{key}.lock",
            lifecycle=run_dir / "locks" / f"{key}.lock",
            snapshot_lineage=run_dir / "locks" / f"{key}.snapshot-lineage.lock",
        )

    def all(self) -> tuple[Path, Path, Path]:
        """Every file, in locking order."""
        return (self.creation, self.lifecycle, self.snapshot_lineage)


def open_lock(path: Path, *, create: bool, mode: int = 0o644) -> int | None:
    """A descriptor for the lock file at ``path`` (never through a symlink), or None when it does not
    exist and ``create`` is false. ``create`` makes the file (and not its folder) with ``mode``."""
    flags = os.O_CLOEXEC | os.O_NOFOLLOW | (os.O_RDWR | os.O_CREAT if create else os.O_RDONLY)
    try:
        return os.open(path, flags, mode)
    except FileNotFoundError:
        if create:
            raise
        return None


def try_flock(fd: int, *, exclusive: bool) -> bool:
    """One non-blocking attempt; True when the lock was taken."""
    try:
        fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True


def flock_within(fd: int, *, exclusive: bool, timeout_s: float) -> bool:
    """Take the lock, polling until ``timeout_s`` has passed (blocking this thread)."""
    deadline = time.monotonic() + timeout_s
    while not try_flock(fd, exclusive=exclusive):
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_S)
    return True


async def flock_within_async(fd: int, *, exclusive: bool, timeout_s: float) -> bool:
    """Take the lock, polling until ``timeout_s`` has passed, without blocking the event loop."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not try_flock(fd, exclusive=exclusive):
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(POLL_S)
    return True


@contextmanager
def holding(path: Path, *, exclusive: bool, timeout_s: float, create: bool = True,
            mode: int = 0o644) -> Iterator[bool]:
    """Hold the lock at ``path`` for the block (this thread waits). Yields False, holding nothing,
    when ``create`` is false and the file does not exist: nobody can hold a lock on a missing file.

    Raises :class:`LockTimeout` when another process keeps it past ``timeout_s``.
    """
    fd = open_lock(path, create=create, mode=mode)
    if fd is None:
        yield False
        return
    try:
        if not flock_within(fd, exclusive=exclusive, timeout_s=timeout_s):
            raise LockTimeout(path)
        yield True
    finally:
        os.close(fd)  # closing the last descriptor releases the lock


@asynccontextmanager
async def holding_async(path: Path, *, exclusive: bool, timeout_s: float, create: bool = True,
                        mode: int = 0o644) -> AsyncIterator[bool]:
    """:func:`holding` for the event loop: waits with ``asyncio.sleep`` between attempts."""
    fd = open_lock(path, create=create, mode=mode)
    if fd is None:
        yield False
        return
    try:
        if not await flock_within_async(fd, exclusive=exclusive, timeout_s=timeout_s):
            raise LockTimeout(path)
        yield True
    finally:
        os.close(fd)


class LockTable:
    """The kernel's table of file locks (``/proc/locks``) read once, to ask about several files.

    ``held_by_other`` is None when it cannot be told (no ``/proc/locks``): callers then probe.
    This process's own locks do not count.
    """

    def __init__(self, text: bytes | None) -> None:
        self._held: dict[bytes, set[str]] | None = None
        if text is None:
            return
        me = str(os.getpid()).encode()
        held: dict[bytes, set[str]] = {}
        for line in text.splitlines():  # b"7: FLOCK  ADVISORY  WRITE 844 fe:00:2564179 0 EOF"
            fields = line.split()
            if len(fields) < 6 or fields[1] == b"->":  # "->" lines are waiters, not holders
                continue
            kind, pid, key = fields[1], fields[4], fields[5]
            if pid != me:
                held.setdefault(key, set()).add(kind.decode(errors="replace"))
        self._held = held

    @classmethod
    def read(cls) -> LockTable:
        """The current table (an empty answer set when the kernel does not offer it)."""
        try:
            with open("/proc/locks", "rb") as table:
                return cls(table.read())
        except OSError:
            return cls(None)

    def held_by_other(self, path: Path, kind: str = "FLOCK") -> bool | None:
        """Whether another process holds a ``kind`` lock (``FLOCK`` or ``POSIX``) on ``path``; False for
        a missing file, None when that cannot be told."""
        try:
            info = os.stat(path, follow_symlinks=False)
        except FileNotFoundError:
            return False
        except OSError:
            return None
        if self._held is None:
            return None
        key = f"{os.major(info.st_dev):02x}:{os.minor(info.st_dev):02x}:{info.st_ino}".encode()
        return kind in self._held.get(key, ())


def lock_held(path: Path, table: LockTable | None = None) -> bool | None:
    """Whether another process holds an ``flock`` on ``path``: from the lock table, else by a shared
    non-blocking probe that is released at once. None when neither can tell (unreadable file)."""
    held = (table or LockTable.read()).held_by_other(path)
    if held is not None:
        return held
    try:
        fd = open_lock(path, create=False)
    except OSError:
        return None
    if fd is None:
        return False
    try:
        taken = try_flock(fd, exclusive=False)
        return not taken
    except OSError:
        return None
    finally:
        os.close(fd)


@asynccontextmanager
async def all_or_none(paths: tuple[Path, ...], *, timeout_s: float,
                      on_held: Callable[[Path], Exception]) -> AsyncIterator[None]:
    """Hold every lock in ``paths`` exclusively (creating missing files and folders), in order. A lock
    still held by another process after ``timeout_s`` raises ``on_held(path)``, releasing the others."""
    fds: list[int] = []
    deadline = asyncio.get_running_loop().time() + timeout_s
    try:
        for path in paths:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = open_lock(path, create=True)
            assert fd is not None
            fds.append(fd)
            left = max(0.0, deadline - asyncio.get_running_loop().time())
            if not await flock_within_async(fd, exclusive=True, timeout_s=left):
                raise on_held(path)
        yield
    finally:
        for fd in reversed(fds):
            os.close(fd)
