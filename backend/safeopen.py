"""Opening files of the home that may be hostile: never blocking, only regular files, never unbounded.

Anything in a home can be swapped for a FIFO (opening it for reading waits for a writer, forever), a
device (``/dev/zero`` reads without end) or a symlink to somewhere else. Every file the app reads
goes through :func:`open_regular` (``O_NONBLOCK``, then ``fstat`` says it is a regular file) and
:func:`read_capped` (a size cap); folders that must not be left go through :func:`open_dir_below`,
which opens each component with ``O_NOFOLLOW | O_DIRECTORY`` relative to the one before.

Failures are :class:`OSError`\\ s (so callers' existing handling turns them into their own typed
errors, with ``strerror`` as the reason): :class:`SpecialFileError` and :class:`FileTooLargeError`.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

#: What a config file, journal or ledger may weigh; microsandbox's are a few KB.
DEFAULT_CAP = 16 * 1024 * 1024

READ_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0)
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC


class SpecialFileError(OSError):
    """A path that should be a regular file is a FIFO, socket, device or folder."""

    def __init__(self, path: object, kind: str) -> None:
        super().__init__(errno.EINVAL, f"it is {kind}, not a regular file, so it is not read", str(path))
        self.kind = kind


class FileTooLargeError(OSError):
    """A file is larger than the cap its reader allows."""

    def __init__(self, path: object, cap: int) -> None:
        super().__init__(errno.EFBIG, f"it is larger than {cap} bytes, the most that is read", str(path))
        self.cap = cap


def kind_name(mode: int) -> str:
    """A few words for the file type in ``mode``."""
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISLNK(mode):
        return "a symlink"
    return "not a regular file"


def open_regular(path: str | Path, *, dir_fd: int | None = None, follow: bool = True) -> int:
    """A blocking read descriptor of the regular file at ``path``; :class:`SpecialFileError` for anything
    else (checked on the opened descriptor, so nothing can be swapped in between). With ``follow`` false
    a symlink is refused (``ELOOP``)."""
    flags = READ_FLAGS | (0 if follow else os.O_NOFOLLOW)
    fd = os.open(path, flags, dir_fd=dir_fd)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise SpecialFileError(path, kind_name(mode))
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_capped(fd: int, cap: int = DEFAULT_CAP, *, path: object = "") -> bytes:
    """Everything from the current offset of ``fd``; :class:`FileTooLargeError` beyond ``cap`` bytes."""
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = os.read(fd, min(1024 * 1024, cap + 1 - total))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
        if total > cap:
            raise FileTooLargeError(path, cap)


def read_regular(path: str | Path, cap: int = DEFAULT_CAP, *, dir_fd: int | None = None,
                 follow: bool = True) -> bytes:
    """The bytes of the regular file at ``path`` (see :func:`open_regular` and :func:`read_capped`)."""
    fd = open_regular(path, dir_fd=dir_fd, follow=follow)
    try:
        return read_capped(fd, cap, path=path)
    finally:
        os.close(fd)


def open_dir_below(anchor: Path, folder: Path) -> int:
    """A descriptor of ``folder``, reached from ``anchor`` with every component below it opened
    ``O_NOFOLLOW | O_DIRECTORY`` relative to the previous one, so no symlink below ``anchor`` is ever
    followed (``ELOOP`` or ``ENOTDIR`` otherwise). ``anchor`` itself is opened as given. A ``folder`` not
    inside ``anchor`` is its own anchor."""
    try:
        parts = folder.relative_to(anchor).parts
    except ValueError:
        anchor, parts = folder, ()
    if any(part in ("..", ".") for part in parts):
        raise OSError(errno.EINVAL, "the path climbs out of its folder", str(folder))
    fd = os.open(anchor, DIR_FLAGS)
    try:
        for part in parts:
            child = os.open(part, DIR_FLAGS | os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd
