"""The async host-side file API of :class:`backend.volumes.service.Volumes` (reference ``VolumeFs``).

Each call finds the volume's row (a missing row is ``VolumeNotFoundError``; a disk volume is refused,
its files live inside ``disk.raw``), then runs the matching blocking :class:`VolumeRoot` method in a
thread. Paths follow :mod:`backend.volumes.paths`: they never leave the volume, and symlinks are never
followed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Generator
from types import TracebackType
from typing import Self, TypeVar

from backend.volumes.fs import CHUNK, VolumeFileWriter, VolumeRoot
from backend.volumes.models import FilePreview, FsEntry, FsMetadata

T = TypeVar("T")


class VolumeWriteStream:
    """An async writer for a large file: ``async with volumes.fs_write_stream(n, p) as w: await w.write(b)``.

    The new content replaces the file only when the block ends without an error.
    """

    def __init__(self, writer: VolumeFileWriter) -> None:
        self._writer = writer

    async def write(self, chunk: bytes) -> None:
        """Append ``chunk``."""
        await asyncio.to_thread(self._writer.write, chunk)

    async def close(self) -> None:
        """Flush and put the file in place (the reference's ``close``)."""
        await asyncio.to_thread(self._writer.commit)

    async def abort(self) -> None:
        """Drop what was written; the file stays as it was."""
        await asyncio.to_thread(self._writer.abort)

    @property
    def written(self) -> int:
        """Bytes written so far."""
        return self._writer.written

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        if exc_type is None:
            await self.close()
        else:
            await asyncio.shield(self.abort())


class VolumeFilesMixin:
    """``fs_*`` coroutines; the class using it provides :meth:`open_root`."""

    async def open_root(self, name: str) -> VolumeRoot:
        """The path-safe root of the directory volume ``name`` (checked against the catalog)."""
        raise NotImplementedError

    async def _in_root(self, name: str, call: Callable[[VolumeRoot], T]) -> T:
        root = await self.open_root(name)
        return await asyncio.to_thread(call, root)

    async def fs_read(self, name: str, path: str | bytes) -> bytes:
        """The whole content of a regular file."""
        return await self._in_root(name, lambda r: r.read_bytes(path))

    async def fs_read_to_string(self, name: str, path: str | bytes) -> str:
        """A file's content as UTF-8 text (``FsInvalidDataError`` otherwise)."""
        return await self._in_root(name, lambda r: r.read_text(path))

    async def fs_write(self, name: str, path: str | bytes, data: bytes, *, overwrite: bool = True) -> None:
        """Create or replace a file atomically, creating missing parent folders."""
        await self._in_root(name, lambda r: r.write_bytes(path, data, overwrite=overwrite))

    async def fs_list(self, name: str, path: str | bytes = "") -> list[FsEntry]:
        """Immediate children of a folder, in OS order, symlinks not followed."""
        return await self._in_root(name, lambda r: r.list(path))

    async def fs_mkdir(self, name: str, path: str | bytes) -> None:
        """Create a folder and its missing parents (an existing folder is fine)."""
        await self._in_root(name, lambda r: r.mkdir(path))

    async def fs_remove(self, name: str, path: str | bytes) -> None:
        """Remove a file or a symlink (a folder is refused: use :meth:`fs_remove_dir`)."""
        await self._in_root(name, lambda r: r.remove_file(path))

    async def fs_remove_dir(self, name: str, path: str | bytes) -> None:
        """Remove a folder and everything in it; never the volume root."""
        await self._in_root(name, lambda r: r.remove_tree(path))

    async def fs_copy(self, name: str, source: str | bytes, target: str | bytes, *,
                      overwrite: bool = True) -> None:
        """Copy a regular file's content and permission bits."""
        await self._in_root(name, lambda r: r.copy_file(source, target, overwrite=overwrite))

    async def fs_rename(self, name: str, source: str | bytes, target: str | bytes, *,
                        overwrite: bool = True) -> None:
        """Move a file or folder inside the volume."""
        await self._in_root(name, lambda r: r.rename(source, target, overwrite=overwrite))

    async def fs_stat(self, name: str, path: str | bytes) -> FsMetadata:
        """Metadata of the entry itself (symlinks are reported, not followed)."""
        return await self._in_root(name, lambda r: r.stat(path))

    async def fs_exists(self, name: str, path: str | bytes) -> bool:
        """True when something is at ``path`` (traversal outside the volume still raises)."""
        return await self._in_root(name, lambda r: r.exists(path))

    async def fs_read_head_tail(self, name: str, path: str | bytes, head_bytes: int,
                                tail_bytes: int) -> FilePreview:
        """The first and last bytes of a regular file, for previews (see :meth:`VolumeRoot.read_head_tail`)."""
        return await self._in_root(name, lambda r: r.read_head_tail(path, head_bytes, tail_bytes))

    async def fs_read_stream(self, name: str, path: str | bytes,
                             chunk_size: int = CHUNK) -> AsyncIterator[bytes]:
        """The file's content in chunks of at most ``chunk_size`` bytes (64 KiB as the reference)."""
        root = await self.open_root(name)
        chunks: Generator[bytes, None, None] = root.iter_chunks(path, chunk_size)
        done = object()
        try:
            while True:
                chunk = await asyncio.to_thread(next, chunks, done)
                if chunk is done:
                    return
                assert isinstance(chunk, bytes)
                yield chunk
        finally:
            chunks.close()

    async def fs_write_stream(self, name: str, path: str | bytes, *,
                              overwrite: bool = True) -> VolumeWriteStream:
        """A writer that replaces ``path`` when closed (see :class:`VolumeWriteStream`)."""
        root = await self.open_root(name)
        writer = await asyncio.to_thread(root.open_write, path, overwrite=overwrite)
        return VolumeWriteStream(writer)
