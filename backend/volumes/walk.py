"""The walking half of :class:`backend.volumes.fs.VolumeRoot`: reaching a path without leaving the volume.

The volume folder is opened with ``O_NOFOLLOW``, then each component of the normalised path (see
:mod:`backend.volumes.paths`) relative to the previous one, again with ``O_NOFOLLOW``; operations then
act with ``*at`` calls on the last folder's descriptor. Nothing is resolved by path text, so no
symlink, planted or dangling, and no concurrent rename can lead outside the volume.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from backend.errors import FsError, FsIsADirectoryError, VolumeFolderMissingError
from backend.safeopen import open_dir_below
from backend.volumes.fdio import DIR_FLAGS, open_regular
from backend.volumes.models import FsMetadata, kind_of, seconds_utc
from backend.volumes.paths import Parts, join, os_error, show, split_path


def metadata(st: os.stat_result) -> FsMetadata:
    """The reference's ``FsMetadata`` for an ``lstat`` result (plus allocated bytes and link count)."""
    birth = getattr(st, "st_birthtime", None)
    return FsMetadata(
        kind=kind_of(st.st_mode),
        size=st.st_size,
        mode=st.st_mode,
        readonly=st.st_mode & 0o222 == 0,
        modified=seconds_utc(st.st_mtime),
        created=seconds_utc(birth) if isinstance(birth, (int, float)) else None,
        allocated=st.st_blocks * 512,
        links=st.st_nlink,
    )


class VolumeWalker:
    """A volume folder and the descriptor-relative walking every :class:`VolumeRoot` operation uses."""

    def __init__(self, folder: Path, *, volume: str | None = None,
                 guard: Callable[[str], None] | None = None, anchor: Path | None = None) -> None:
        self.folder = Path(folder)
        self.volume = volume if volume is not None else self.folder.name
        self._guard = guard
        #: With an anchor, every folder from it down to ``folder`` is opened ``O_NOFOLLOW`` (an owned
        #: volume under ``sandboxes/<n>/owned-volumes/`` that a guest could swap for a symlink).
        self.anchor = anchor

    @contextmanager
    def _root(self) -> Iterator[int]:
        try:
            if self.anchor is None:
                fd = os.open(self.folder, DIR_FLAGS)
            else:
                fd = open_dir_below(self.anchor, self.folder)
        except OSError as exc:
            raise self._root_error(exc) from exc
        try:
            yield fd
        finally:
            os.close(fd)

    def _root_error(self, exc: OSError) -> FsError:
        folder = self.folder
        try:
            is_link = folder.is_symlink()
        except OSError:
            is_link = False
        if self.anchor is not None and exc.errno in (errno.ELOOP, errno.ENOTDIR) and not is_link:
            why = (f"cannot be reached: a folder between `{self.anchor}` and it is a symlink or a file, "
                   "which is never followed")
        elif isinstance(exc, FileNotFoundError) and not is_link:
            why = "does not exist; recreate it, or remove the volume"
        elif is_link or exc.errno == errno.ELOOP:  # the volume folder itself was replaced by a symlink
            why = "is a symlink, not a folder; volume folders are never followed through symlinks"
        elif isinstance(exc, NotADirectoryError):
            why = "is a file, not a folder"
        else:
            return os_error(exc, "open", self.volume, ())
        return VolumeFolderMissingError(f"volume `{self.volume}`: its folder `{folder}` {why}", folder)

    def _open_dir(self, root: int, parts: Parts, target: Parts, action: str, *, create: bool) -> int:
        """A new descriptor for the folder ``parts`` (never following symlinks; creating when asked)."""
        fd = os.dup(root)
        try:
            for index, name in enumerate(parts):
                try:
                    try:
                        child = os.open(name, DIR_FLAGS, dir_fd=fd)
                    except FileNotFoundError:
                        if not create:
                            raise
                        try:
                            os.mkdir(name, 0o777, dir_fd=fd)
                        except FileExistsError:
                            pass
                        child = os.open(name, DIR_FLAGS, dir_fd=fd)
                except OSError as exc:
                    raise self._step_error(exc, fd, name, action, target, parts[: index + 1]) from exc
                os.close(fd)
                fd = child
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _step_error(self, exc: OSError, fd: int, name: str, action: str, target: Parts,
                    culprit: Parts) -> FsError:
        if exc.errno in (errno.ENOTDIR, errno.ELOOP):
            try:
                is_link = stat.S_ISLNK(os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode)
            except OSError:
                is_link = False
            if is_link:
                exc = OSError(errno.ELOOP, os.strerror(errno.ELOOP))
        return os_error(exc, action, self.volume, target, culprit)

    @contextmanager
    def _at(self, target: Parts, action: str, *, create: bool = False) -> Iterator[tuple[int, str | None]]:
        """``(folder fd, last name)`` for ``target``; the name is None for the root (the fd is the root)."""
        with self._root() as root:
            if not target:
                yield root, None
                return
            parent = self._open_dir(root, target[:-1], target, action, create=create)
            try:
                yield parent, target[-1]
            finally:
                os.close(parent)

    def _check(self, action: str, parts: Parts) -> None:
        if self._guard is not None:
            self._guard(f"{action} {show(join(parts))} in volume `{self.volume}`")

    def _fail(self, exc: OSError, action: str, parts: Parts) -> FsError:
        return os_error(exc, action, self.volume, parts)

    @contextmanager
    def open_dir_fd(self, path: str | bytes = "") -> Iterator[int]:
        """A descriptor of the folder at ``path`` (for scans); closed when the block ends."""
        parts = split_path(path)
        with self._root() as root:
            fd = self._open_dir(root, parts, parts, "open", create=False)
            try:
                yield fd
            finally:
                os.close(fd)

    def _open_file(self, parts: Parts, action: str) -> int:
        with self._at(parts, action) as (parent, name):
            if name is None:
                raise FsIsADirectoryError(
                    f"cannot {action} the root of volume `{self.volume}`: it is a folder", "/"
                )
            return open_regular(parent, name, action, self.volume, parts)
