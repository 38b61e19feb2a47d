"""Path-safe, blocking file operations inside one volume folder: :class:`VolumeRoot`.

Every operation opens the volume folder itself with ``O_NOFOLLOW`` and then each component of the
(normalised, see :mod:`backend.volumes.paths`) path relative to the previous one, again with
``O_NOFOLLOW``, and acts with ``*at`` calls on the last folder's descriptor. Nothing is resolved by
path text, so no symlink, planted or dangling, and no concurrent rename can lead outside the volume.
Symlinks inside a volume are listed and can be removed, but never followed.

Writes go to a temporary file in the target folder that is renamed into place, so a reader never
sees half a file. The methods block: call them from a thread (the async API in
:mod:`backend.volumes.service` uses ``asyncio.to_thread``; the TUI uses thread workers).
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
from collections.abc import Generator

from backend.errors import (
    FsError,
    FsExistsError,
    FsInvalidDataError,
    FsIsADirectoryError,
    FsNotADirectoryError,
    FsRootError,
    FsSymlinkError,
)
from backend.volumes.fdio import (
    make_temp,
    pread_exact,
    read_all,
    replaceable,
)
from backend.volumes.models import FilePreview, FsEntry, FsMetadata, kind_of, seconds_utc
from backend.volumes.paths import join, show, split_path
from backend.volumes.walk import VolumeWalker, metadata
from backend.volumes.writer import VolumeFileWriter

__all__ = ["CHUNK", "VolumeFileWriter", "VolumeRoot", "metadata"]

CHUNK = 64 * 1024


class VolumeRoot(VolumeWalker):
    """One volume folder, and every file operation inside it that cannot escape it.

    ``guard`` is called with an action text before anything is changed (the backend passes its
    ``ensure_writable``, so a read-only backend refuses with ``ReadOnlyError``). Paths are text as
    listings return them: ``""``, ``/`` and ``.`` mean the root. Thread-safe: nothing is shared
    between calls but the folder's path.
    """

    # -- reading --------------------------------------------------------------------------------

    def stat(self, path: str | bytes) -> FsMetadata:
        """Metadata of the entry itself (a symlink is reported as a symlink, not followed)."""
        parts = split_path(path)
        with self._at(parts, "stat") as (parent, name):
            try:
                st = os.fstat(parent) if name is None else os.stat(name, dir_fd=parent, follow_symlinks=False)
            except OSError as exc:
                raise self._fail(exc, "stat", parts) from exc
        return metadata(st)

    def exists(self, path: str | bytes) -> bool:
        """True when an entry (of any kind, a symlink included) is at ``path``.

        A path that would leave the volume still raises :class:`PathTraversalError`; a path through a
        symlink or a file, or a missing volume folder, gives False.
        """
        parts = split_path(path)
        try:
            with self._at(parts, "look up") as (parent, name):
                if name is not None:
                    os.stat(name, dir_fd=parent, follow_symlinks=False)
        except (FsError, OSError):
            return False
        return True

    def iter_entries(self, path: str | bytes = "") -> Generator[FsEntry, None, None]:
        """The immediate children of the folder at ``path``, in OS order, from ``lstat``.

        A generator: close it (or exhaust it) to release the folder's descriptor.
        """
        parts = split_path(path)
        prefix = join(parts).rstrip("/") + "/"
        with self._root() as root:
            fd = self._open_dir(root, parts, parts, "list", create=False)
            try:
                with os.scandir(fd) as entries:
                    for entry in entries:
                        try:
                            st = entry.stat(follow_symlinks=False)
                        except OSError:
                            yield FsEntry(prefix + entry.name, "other", 0, 0, None)
                            continue
                        mode = st.st_mode
                        yield FsEntry(prefix + entry.name, kind_of(mode), st.st_size, mode,
                                      seconds_utc(st.st_mtime))
            except OSError as exc:
                raise self._fail(exc, "list", parts) from exc
            finally:
                os.close(fd)

    def list(self, path: str | bytes = "") -> list[FsEntry]:
        """All immediate children of the folder at ``path`` (see :meth:`iter_entries`)."""
        return list(self.iter_entries(path))

    def read_bytes(self, path: str | bytes) -> bytes:
        """The whole content of the regular file at ``path`` (FIFOs and devices are refused)."""
        parts = split_path(path)
        fd = self._open_file(parts, "read")
        try:
            return read_all(fd)
        except OSError as exc:
            raise self._fail(exc, "read", parts) from exc
        finally:
            os.close(fd)

    def read_text(self, path: str | bytes) -> str:
        """The file at ``path`` as UTF-8 text; anything else is a :class:`FsInvalidDataError`."""
        data = self.read_bytes(path)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            where = join(split_path(path))
            raise FsInvalidDataError(
                f"cannot read {show(where)} in volume `{self.volume}` as text: it is not valid UTF-8 "
                f"(first bad byte at offset {exc.start}); read it as bytes instead",
                where,
            ) from exc

    def read_head_tail(self, path: str | bytes, head_bytes: int, tail_bytes: int) -> FilePreview:
        """The first ``head_bytes`` and last ``tail_bytes`` of a regular file, for previews.

        Reads at most ``head_bytes + tail_bytes`` bytes whatever the file size, and never opens a
        FIFO, socket or device (they are refused before opening), so it cannot block.
        """
        if head_bytes < 0 or tail_bytes < 0:
            raise ValueError("head_bytes and tail_bytes must not be negative")
        parts = split_path(path)
        fd = self._open_file(parts, "preview")
        try:
            size = os.fstat(fd).st_size
            if size <= head_bytes + tail_bytes:
                data = pread_exact(fd, size, 0)
                return FilePreview(len(data), data, b"", False)
            head = pread_exact(fd, head_bytes, 0)
            tail = pread_exact(fd, tail_bytes, size - tail_bytes)
            return FilePreview(size, head, tail, True)
        except OSError as exc:
            raise self._fail(exc, "preview", parts) from exc
        finally:
            os.close(fd)

    def iter_chunks(self, path: str | bytes, chunk_size: int = CHUNK) -> Generator[bytes, None, None]:
        """The file's content in chunks of at most ``chunk_size`` bytes (the reference uses 64 KiB)."""
        parts = split_path(path)
        fd = self._open_file(parts, "read")
        try:
            while True:
                try:
                    chunk = os.read(fd, chunk_size)
                except OSError as exc:
                    raise self._fail(exc, "read", parts) from exc
                if not chunk:
                    return
                yield chunk
        finally:
            os.close(fd)

    def readlink(self, path: str | bytes) -> str:
        """The target text of the symlink at ``path`` (not followed, only read)."""
        parts = split_path(path)
        with self._at(parts, "read the link") as (parent, name):
            if name is None:
                raise FsSymlinkError(f"the root of volume `{self.volume}` is not a symlink", "/")
            try:
                return os.readlink(name, dir_fd=parent)
            except OSError as exc:
                if exc.errno == errno.EINVAL:  # not a symlink
                    raise FsSymlinkError(
                        f"cannot read the link {show(join(parts))} in volume `{self.volume}`: "
                        "it is not a symlink", join(parts)) from exc
                raise self._fail(exc, "read the link", parts) from exc

    def link_target(self, path: str | bytes) -> str:
        """The volume path a relative symlink points to, for browsing (absolute targets are guest paths).

        Raises :class:`PathTraversalError` when the target would leave the volume.
        """
        parts = split_path(path)
        target = self.readlink(path)
        if target.startswith("/"):
            raise FsSymlinkError(
                f"the symlink {show(join(parts))} in volume `{self.volume}` points to {show(target)}, a path "
                "inside the sandbox, not inside the volume", join(parts))
        return join(split_path("/".join((*parts[:-1], target))))

    # -- writing --------------------------------------------------------------------------------

    def write_bytes(self, path: str | bytes, data: bytes, *, overwrite: bool = True) -> None:
        """Create or replace the file at ``path`` atomically, creating missing parent folders.

        A folder, symlink or special file at ``path`` is refused rather than replaced; with
        ``overwrite=False`` an existing file is refused too.
        """
        with self.open_write(path, overwrite=overwrite) as writer:
            writer.write(data)

    def open_write(self, path: str | bytes, *, overwrite: bool = True) -> VolumeFileWriter:
        """A writer whose content replaces ``path`` on :meth:`VolumeFileWriter.commit` (or a clean
        ``with`` exit); :meth:`VolumeFileWriter.abort` or an exception leaves ``path`` untouched."""
        parts = split_path(path)
        self._check("write", parts)
        with self._at(parts, "write", create=True) as (parent, name):
            if name is None:
                raise FsIsADirectoryError(
                    f"cannot write the root of volume `{self.volume}`: it is a folder", "/"
                )
            existing = replaceable(parent, name, overwrite, "write", self.volume, parts)
            folder = os.dup(parent)
        try:
            fd, temp = make_temp(folder, existing)
        except OSError as exc:
            os.close(folder)
            raise self._fail(exc, "write", parts) from exc
        return VolumeFileWriter(self._fail, folder, fd, temp, name, parts, overwrite)

    def mkdir(self, path: str | bytes) -> None:
        """Create the folder at ``path`` and any missing parents; an existing folder is fine."""
        parts = split_path(path)
        self._check("create the folder", parts)
        with self._root() as root:
            os.close(self._open_dir(root, parts, parts, "create the folder", create=True))

    def remove_file(self, path: str | bytes) -> None:
        """Remove the file, symlink (the link, not its target) or special file at ``path``."""
        parts = split_path(path)
        self._check("remove", parts)
        with self._at(parts, "remove") as (parent, name):
            if name is None:
                raise FsIsADirectoryError(
                    f"cannot remove the root of volume `{self.volume}`: it is a folder", "/"
                )
            try:
                os.unlink(name, dir_fd=parent)
            except IsADirectoryError as exc:
                raise FsIsADirectoryError(
                    f"cannot remove {show(join(parts))} in volume `{self.volume}`: it is a folder; "
                    "use remove_dir to remove it with its content", join(parts)) from exc
            except OSError as exc:
                raise self._fail(exc, "remove", parts) from exc

    def remove_tree(self, path: str | bytes) -> None:
        """Remove the folder at ``path`` with everything in it. The volume root is refused, and so is a
        symlink (the reference would remove the tree it points to)."""
        parts = split_path(path)
        if not parts:
            raise FsRootError(
                f"remove_dir cannot target the volume root (volume `{self.volume}`); "
                "remove the volume itself, or its children one by one", "/")
        self._check("remove the folder", parts)
        with self._at(parts, "remove the folder") as (parent, name):
            assert name is not None
            try:
                st = os.stat(name, dir_fd=parent, follow_symlinks=False)
            except OSError as exc:
                raise self._fail(exc, "remove the folder", parts) from exc
            if not stat.S_ISDIR(st.st_mode):
                what = "a symlink" if stat.S_ISLNK(st.st_mode) else "not a folder"
                raise FsNotADirectoryError(
                    f"cannot remove the folder {show(join(parts))} in volume `{self.volume}`: it is {what}; "
                    "use remove for files and links", join(parts))
            failures: list[tuple[str, OSError]] = []

            def collect(_func: object, failed: str, info: tuple[type, BaseException, object]) -> None:
                if isinstance(info[1], OSError):
                    failures.append((failed, info[1]))

            shutil.rmtree(name, onerror=collect, dir_fd=parent)
        if failures:
            failed, first = failures[0]
            error = self._fail(first, "remove", (*parts[:-1], *split_path(failed)))
            more = f" ({len(failures) - 1} more entries could not be removed)" if len(failures) > 1 else ""
            error.message = f"{error.message}{more}; everything else under {show(join(parts))} was removed"
            error.args = (error.message,)
            raise error

    def copy_file(self, source: str | bytes, target: str | bytes, *, overwrite: bool = True) -> None:
        """Copy a regular file's content and permission bits to ``target`` (created atomically)."""
        src, dst = split_path(source), split_path(target)
        self._check("copy to", dst)
        fd = self._open_file(src, "copy")
        try:
            mode = stat.S_IMODE(os.fstat(fd).st_mode)
            with self.open_write(target, overwrite=overwrite) as writer:
                writer.copy_from(fd)
                writer.chmod(mode)
        finally:
            os.close(fd)

    def rename(self, source: str | bytes, target: str | bytes, *, overwrite: bool = True) -> None:
        """Move ``source`` to ``target``, creating ``target``'s missing parent folders.

        As the OS rename: an existing file target is replaced (unless ``overwrite=False``), a folder
        target only when it is empty. Symlinks are moved as links.
        """
        src, dst = split_path(source), split_path(target)
        if not src or not dst:
            raise FsRootError(f"cannot move the root of volume `{self.volume}`", "/")
        self._check("move", src)
        with self._root() as root:
            src_dir = self._open_dir(root, src[:-1], src, "move", create=False)
            try:
                try:
                    os.stat(src[-1], dir_fd=src_dir, follow_symlinks=False)
                except OSError as exc:
                    raise self._fail(exc, "move", src) from exc
                dst_dir = self._open_dir(root, dst[:-1], dst, "move", create=True)
                try:
                    if not overwrite:
                        try:
                            os.stat(dst[-1], dir_fd=dst_dir, follow_symlinks=False)
                        except FileNotFoundError:
                            pass
                        else:
                            raise FsExistsError(
                                f"cannot move {show(join(src))} to {show(join(dst))} in volume "
                                f"`{self.volume}`: the target already exists", join(dst))
                    try:
                        os.rename(src[-1], dst[-1], src_dir_fd=src_dir, dst_dir_fd=dst_dir)
                    except OSError as exc:
                        raise self._fail(exc, f"move {show(join(src))} to", dst) from exc
                finally:
                    os.close(dst_dir)
            finally:
                os.close(src_dir)


