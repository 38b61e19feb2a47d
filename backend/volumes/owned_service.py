"""The owned-volume calls of :class:`backend.volumes.service.Volumes` (0.7 homes): list, browse, measure."""

from __future__ import annotations

import asyncio
import builtins
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from backend.db.inflight import finishes
from backend.errors import FsUnsupportedError, VolumeFolderMissingError, VolumeNotFoundError
from backend.volumes import disk_image
from backend.volumes.disk_image import DiskEntry
from backend.volumes.fs import VolumeRoot
from backend.volumes.owned import OWNED_SQL, OwnedVolume, owned_volumes, refuse_owned_write, require_dir
from backend.volumes.usage import ProgressFn, Usage, scan_usage

if TYPE_CHECKING:
    from backend.home import HomeContext


class OwnedVolumesMixin:
    """Owned volumes of one home: never rows, never created or removed here (see :mod:`backend.volumes.owned`)."""

    _backend: HomeContext

    @finishes
    async def owned(self) -> builtins.list[OwnedVolume]:
        """Every owned volume of the home's sandboxes (0.7 homes; empty on a 0.5 home), by sandbox."""
        if not self._backend.profile.owned_volumes:
            return []
        database = await self._backend.db()
        async with database.read() as conn:
            if conn is None:
                return []
            rows = [tuple(row) for row in await conn.exec_driver_sql(OWNED_SQL)]
        return await asyncio.to_thread(owned_volumes, rows, self._backend.sandboxes_dir())

    async def owned_volume(self, sandbox: str, volume_id: str) -> OwnedVolume:
        """The owned volume ``volume_id`` of ``sandbox``; ``VolumeNotFoundError`` otherwise."""
        for volume in await self.owned():
            if volume.sandbox == sandbox and volume.id == volume_id:
                return volume
        raise VolumeNotFoundError(f"{sandbox}:{volume_id}")

    async def owned_root(self, volume: OwnedVolume) -> VolumeRoot:
        """The path-safe, read-only root of a directory owned volume's files."""
        path = await asyncio.to_thread(require_dir, volume)
        return VolumeRoot(path, volume=volume.label, guard=refuse_owned_write, anchor=self._backend.sandboxes_dir())

    async def owned_usage(self, volume: OwnedVolume, *, progress: ProgressFn | None = None,
                          cancel: threading.Event | None = None, tree: bool = True,
                          interval_s: float = 0.2) -> Usage:
        """Like :meth:`usage`, for an owned volume (its folder scan, or its image's sizes)."""
        event = cancel if cancel is not None else threading.Event()

        def work() -> Usage:
            if volume.disk_path is not None:
                return image_usage(volume.label, volume.disk_path)
            root = VolumeRoot(require_dir(volume), volume=volume.label, anchor=self._backend.sandboxes_dir())
            with root.open_dir_fd() as fd:
                return scan_usage(fd, progress=progress, cancel=event, tree=tree, interval_s=interval_s)

        try:
            return await asyncio.to_thread(work)
        except asyncio.CancelledError:
            event.set()
            raise

    async def owned_disk_list(self, volume: OwnedVolume, path: str = "/") -> builtins.list[DiskEntry]:
        """The entries of a folder inside an owned disk's image (read-only, via ``debugfs -c``)."""
        if volume.disk_path is None:
            raise FsUnsupportedError(f"owned volume `{volume.label}` is a directory, not a disk")
        image = volume.disk_path
        return await asyncio.to_thread(disk_image.list_dir, image, path)



def image_usage(label: str, image: Path) -> Usage:
    """A disk image's apparent and allocated size (named or owned volume)."""
    try:
        st = os.stat(image, follow_symlinks=False)
    except FileNotFoundError as exc:
        raise VolumeFolderMissingError(f"disk volume `{label}` has no image at `{image}`", image) from exc
    return Usage(st.st_size, st.st_blocks * 512, 1, 0, 0, True)
