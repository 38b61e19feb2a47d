"""Low-level descriptor helpers for :mod:`backend.volumes.fs`: safe opens, full reads, temp files."""

from __future__ import annotations

import errno
import os
import secrets
import stat

from backend.errors import (
    FsExistsError,
    FsIsADirectoryError,
    FsNotRegularFileError,
    FsSymlinkError,
)
from backend.volumes.paths import Parts, join, os_error, show

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: even if a FIFO were swapped in after the lstat check, opening it cannot hang.
READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0)
TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
TEMP_PREFIX = ".msb-tmp-"


def _kind_error(st: os.stat_result, action: str, volume: str, parts: Parts) -> Exception | None:
    where = join(parts)
    prefix = f"cannot {action} {show(where)} in volume `{volume}`: it is"
    if stat.S_ISLNK(st.st_mode):
        return FsSymlinkError(f"{prefix} a symlink, and volume paths never follow symlinks", where)
    if stat.S_ISDIR(st.st_mode):
        return FsIsADirectoryError(f"{prefix} a folder", where)
    if not stat.S_ISREG(st.st_mode):
        return FsNotRegularFileError(
            f"{prefix} not a regular file (a FIFO, socket or device), so it is not opened", where)
    return None


def open_regular(folder: int, name: str, action: str, volume: str, parts: Parts) -> int:
    """Open ``name`` in ``folder`` for reading, only if it is a regular file (checked before and after
    opening, so a FIFO or device is never opened and a swapped-in one is refused)."""
    try:
        before = os.stat(name, dir_fd=folder, follow_symlinks=False)
    except OSError as exc:
        raise os_error(exc, action, volume, parts) from exc
    problem = _kind_error(before, action, volume, parts)
    if problem is not None:
        raise problem
    try:
        fd = os.open(name, READ_FLAGS, dir_fd=folder)
    except OSError as exc:
        raise os_error(exc, action, volume, parts) from exc
    after = os.fstat(fd)
    if not stat.S_ISREG(after.st_mode) or (after.st_dev, after.st_ino) != (before.st_dev, before.st_ino):
        os.close(fd)
        raise FsNotRegularFileError(
            f"cannot {action} {show(join(parts))} in volume `{volume}`: it was replaced while being opened",
            join(parts))
    os.set_blocking(fd, True)
    return fd


def read_all(fd: int) -> bytes:
    """Everything from the current offset to end of file (not trusting the size, which may change)."""
    chunks: list[bytes] = []
    size = max(os.fstat(fd).st_size, 0)
    while True:
        chunk = os.read(fd, max(size + 1, 64 * 1024) if not chunks else 1024 * 1024)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def pread_exact(fd: int, count: int, offset: int) -> bytes:
    """Up to ``count`` bytes at ``offset`` (fewer only at end of file)."""
    chunks: list[bytes] = []
    while count > 0:
        chunk = os.pread(fd, count, offset)
        if not chunk:
            break
        chunks.append(chunk)
        count -= len(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def replaceable(folder: int, name: str, overwrite: bool, action: str, volume: str,
                parts: Parts) -> os.stat_result | None:
    """The current regular file at ``name`` that a write may replace, or None when nothing is there.

    A folder, symlink or special file is refused, and so is any file when ``overwrite`` is false.
    """
    try:
        st = os.stat(name, dir_fd=folder, follow_symlinks=False)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise os_error(exc, action, volume, parts) from exc
    problem = _kind_error(st, action, volume, parts)
    if problem is not None:
        raise problem
    if not overwrite:
        raise FsExistsError(
            f"cannot {action} {show(join(parts))} in volume `{volume}`: it already exists "
            "(pass overwrite=True to replace it)", join(parts))
    return st


def make_temp(folder: int, like: os.stat_result | None) -> tuple[int, str]:
    """A new empty hidden file in ``folder``, with the mode (and, for root, owner) of ``like``."""
    while True:
        temp = TEMP_PREFIX + secrets.token_hex(6)
        try:
            fd = os.open(temp, TEMP_FLAGS, 0o666, dir_fd=folder)
            break
        except FileExistsError:
            continue
    try:
        if like is not None:
            os.fchmod(fd, stat.S_IMODE(like.st_mode))
            if os.geteuid() == 0:
                try:
                    os.fchown(fd, like.st_uid, like.st_gid)
                except OSError:
                    pass
    except BaseException:
        os.close(fd)
        os.unlink(temp, dir_fd=folder)
        raise
    return fd, temp


def install_temp(folder: int, temp: str, name: str, overwrite: bool) -> None:
    """Put ``temp`` in place of ``name``: a rename (replacing) or a link (never replacing)."""
    if overwrite:
        os.rename(temp, name, src_dir_fd=folder, dst_dir_fd=folder)
        return
    try:
        os.link(temp, name, src_dir_fd=folder, dst_dir_fd=folder, follow_symlinks=False)
    except FileExistsError as exc:
        raise FsExistsError(f"cannot write {show(name)}: it appeared while writing; nothing was replaced",
                            name) from exc
    os.unlink(temp, dir_fd=folder)


def copy_fd(source: int, target: int) -> int:
    """Copy from ``source`` to ``target`` until end of file; kernel-side when the OS allows."""
    total = 0
    use_range = hasattr(os, "copy_file_range")
    while True:
        if use_range:
            try:
                count = os.copy_file_range(source, target, 1 << 30)
            except OSError as exc:
                if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP) or total:
                    raise
                use_range = False
                continue
        else:
            chunk = os.read(source, 1024 * 1024)
            count = len(chunk)
            view = memoryview(chunk)
            while view:
                view = view[os.write(target, view):]
        if count == 0:
            return total
        total += count
