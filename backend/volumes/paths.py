"""Turning a caller's path into components that cannot leave a volume, and OS errors into typed ones.

A volume path is read relative to the volume root: leading slashes are dropped, ``.`` and empty
components are skipped, and ``..`` removes the previous component. A ``..`` with nothing left to
remove is a :class:`PathTraversalError`, whatever exists on disk, so ``a/../../x`` is refused even
when ``a`` is missing (the reference lets that one through). The components are then opened one by
one with ``O_NOFOLLOW`` (see :mod:`backend.volumes.fs`), so symlinks are never followed either.
"""

from __future__ import annotations

import errno
import os

from backend.errors import (
    FsError,
    FsExistsError,
    FsInvalidPathError,
    FsIsADirectoryError,
    FsNotADirectoryError,
    FsNotEmptyError,
    FsNotFoundError,
    FsPathError,
    FsPermissionError,
    FsSymlinkError,
    PathTraversalError,
)

Parts = tuple[str, ...]


def split_path(path: str | bytes) -> Parts:
    """The normalised components of ``path`` inside the volume; ``()`` is the root.

    Bytes are decoded as the OS does (undecodable bytes become surrogate escapes), so names that are
    not UTF-8 can be passed back exactly as listings return them.
    """
    text = os.fsdecode(path) if isinstance(path, bytes) else path
    if not isinstance(text, str):
        raise FsInvalidPathError(f"a volume path must be text, got {type(path).__name__}", repr(path))
    if "\x00" in text:
        raise FsInvalidPathError(f"the path {show(text)} contains a NUL byte, which no file name can hold", text)
    parts: list[str] = []
    for component in text.split("/"):
        if component in ("", "."):
            continue
        if component == "..":
            if not parts:
                raise PathTraversalError(text)
            parts.pop()
        else:
            parts.append(component)
    return tuple(parts)


def join(parts: Parts) -> str:
    """``/`` plus the components: the reference's display form of a volume path."""
    return "/" + "/".join(parts)


def show(path: str) -> str:
    """A path quoted for a message: backticks, or ``repr`` when it holds control or undecodable characters."""
    if path.isprintable() and not any("\udc80" <= ch <= "\udcff" for ch in path):
        return f"`{path}`"
    return repr(path)


_REASONS: dict[int, tuple[type[FsPathError], str]] = {
    errno.ENOENT: (FsNotFoundError, "does not exist"),
    errno.EEXIST: (FsExistsError, "already exists (pass overwrite=True to replace a file)"),
    errno.EISDIR: (FsIsADirectoryError, "is a folder"),
    errno.ENOTDIR: (FsNotADirectoryError, "is not a folder"),
    errno.ENOTEMPTY: (FsNotEmptyError, "is a folder that is not empty"),
    errno.ELOOP: (FsSymlinkError, "is a symlink, and volume paths never follow symlinks"),
    errno.EACCES: (FsPermissionError, "is not accessible: permission denied (check its owner and mode)"),
    errno.EPERM: (FsPermissionError, "cannot be changed: operation not permitted (check its owner and flags)"),
    errno.ENAMETOOLONG: (FsInvalidPathError, "has a name longer than the file system allows"),
}


def os_error(exc: OSError, action: str, volume: str, target: Parts, culprit: Parts | None = None) -> FsError:
    """A typed error for ``exc`` raised while doing ``action`` on ``target``.

    ``culprit`` names the component that failed when it is not the target itself (a missing or
    non-folder parent), so the message points at the right place.
    """
    where = join(target)
    subject = "it" if culprit is None or culprit == target else show(join(culprit))
    prefix = f"cannot {action} {show(where)} in volume `{volume}`: {subject}"
    code = exc.errno if exc.errno is not None else -1
    known = _REASONS.get(code)
    if known is not None:
        cls, reason = known
        return cls(f"{prefix} {reason}", where)
    if code == errno.EINVAL and action.startswith("move"):
        return FsError(f"{prefix} cannot be moved into itself")
    if code in (errno.ENOSPC, errno.EDQUOT):
        return FsError(f"{prefix} could not be written: the file system is full")
    if code == errno.EROFS:
        return FsError(f"{prefix} could not be changed: the file system is mounted read-only")
    detail = exc.strerror or str(exc)
    return FsError(f"{prefix} failed: {detail} (os error {code})")
