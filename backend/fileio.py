"""Crash-safe file writes (a temp file in the same folder, fsync, rename, fsync of the folder), removing
a folder together with its catalog row, and process checks."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import secrets
import shutil
import stat
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)

# Seams for fault-injection tests: replacing these simulates a failing fsync or rename.
_fsync = os.fsync
_replace = os.replace


def _default_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write_bytes(path: Path, data: bytes, *, like: Path | None = None) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves either the old or the new content.

    The new file takes the mode (and, when allowed, the owner) of ``like``; otherwise the mode a
    plain create would give under the current umask.
    """
    mode = _default_mode()
    owner: tuple[int, int] | None = None
    if like is not None:
        info = like.stat()
        mode = stat.S_IMODE(info.st_mode)
        owner = (info.st_uid, info.st_gid)
    _remove_stale_temps(path)
    tmp, fd = _new_temp(path)
    try:
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fchmod(fd, mode)
            if owner is not None and (os.geteuid() == 0):
                try:
                    os.fchown(fd, *owner)
                except OSError:
                    pass
            _fsync(fd)
        finally:
            os.close(fd)
        _replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    fsync_dir(path.parent)


_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def _new_temp(path: Path) -> tuple[Path, int]:
    """A new empty file beside ``path``, created exclusively (never an existing file or a planted
    symlink) under an unpredictable name: ``.<name>.tmp-<pid>-<random>`` (the pid lets a later save
    clean up after a writer that died). ``tempfile.mkstemp`` does the same, but through its own ``os``,
    which the fault-injection tests could not reach."""
    while True:
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(8)}")
        try:
            return tmp, os.open(tmp, _TEMP_FLAGS, 0o600)
        except FileExistsError:
            continue


def fsync_dir(folder: Path) -> None:
    """Make a rename inside ``folder`` durable."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        _fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


_PID_MAX = 2**31 - 1


def pid_alive(pid: int) -> bool:
    """``kill(pid, 0)`` succeeds or fails with EPERM, as microsandbox checks. Pids <= 0 (which would
    signal a process group) and pids beyond the kernel's range count as not alive."""
    if pid <= 0 or pid > _PID_MAX:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError as exc:
        return exc.errno == errno.EPERM
    return True


def _remove_stale_temps(path: Path) -> None:
    """Delete temp files of writers that died mid-save (their pid is gone)."""
    prefix = f".{path.name}.tmp-"
    try:
        names = os.listdir(path.parent)
    except OSError:
        return
    for name in names:
        if not name.startswith(prefix):
            continue
        pid = name[len(prefix):].split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not pid_alive(int(pid)):
            try:
                os.unlink(path.parent / name)
            except OSError:
                pass


def _lexists(path: Path) -> bool:
    try:
        path.lstat()
    except FileNotFoundError:
        return False
    return True


def delete_tree(path: Path) -> str | None:
    """Delete ``path`` (a symlink or file is unlinked, never followed); the first problem, or None."""
    if path.is_symlink() or not path.is_dir():
        try:
            path.unlink()
        except FileNotFoundError:
            return None
        except OSError as exc:
            return exc.strerror or str(exc)
        return None
    problems: list[str] = []

    def collect(_func: object, failed: str, info: tuple[type, BaseException, object]) -> None:
        problems.append(f"{failed}: {getattr(info[1], 'strerror', None) or info[1]}")

    shutil.rmtree(path, onerror=collect)
    if problems:
        more = f" and {len(problems) - 1} more" if len(problems) > 1 else ""
        return problems[0] + more
    return None


_NAME_MAX = 255


class FolderRemoval:
    """A folder removed together with its catalog row, so that neither outlives the other.

    The write transaction calls :meth:`move_aside` once its checks passed: a rename inside the same
    parent, cheap, atomic and undoable. A transaction that then fails puts the folder back
    (:meth:`put_back`); one that commits deletes the renamed folder (:meth:`finish`). microsandbox
    deletes the folder first and the row after, with nothing between them; this order leaves the
    home exactly as it was on any refusal or failed commit.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        token = secrets.token_hex(4)
        aside = f".{folder.name}.removing-{token}"
        if len(os.fsencode(aside)) > _NAME_MAX:  # a long name: the aside name must still fit
            aside = f".removing-{token}"
        self.aside = folder.with_name(aside)
        self.moved = False

    def move_aside(self) -> None:
        """Rename the folder aside (nothing to do when it does not exist); OSError when it cannot."""
        if _lexists(self.folder):
            os.rename(self.folder, self.aside)
            self.moved = True

    def put_back(self) -> None:
        """Undo :meth:`move_aside` (only while nothing took the folder's place)."""
        if self.moved and _lexists(self.aside) and not _lexists(self.folder):
            os.rename(self.aside, self.folder)
            self.moved = False

    async def finish(self) -> str | None:
        """Delete the renamed folder; the first problem, or None. Shielded: the row is gone, so the
        folder must go too even when the caller is cancelled meanwhile."""
        if not self.moved:
            return None
        return await asyncio.shield(asyncio.to_thread(delete_tree, self.aside))

    async def run(self, transaction: Callable[[Callable[[], None]], Awaitable[T]]) -> T:
        """Run ``transaction(move_aside)`` (which checks, moves the folder aside and deletes the row);
        put the folder back if it raises."""
        try:
            return await transaction(self.move_aside)
        except BaseException:
            try:
                self.put_back()
            except OSError as exc:
                log.error("could not move %s back from %s: %s", self.folder, self.aside, exc)
            raise
