"""Crash-safe file writes: a temp file in the same folder, fsync, rename, fsync of the folder."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

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
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
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
        pid = name[len(prefix):]
        if pid.isdigit() and int(pid) != os.getpid() and not pid_alive(int(pid)):
            try:
                os.unlink(path.parent / name)
            except OSError:
                pass
