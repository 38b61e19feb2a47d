"""Named volumes of one backend's home (reference section 5): rows, folders, usage, cross-references.

Same rows, folders and locks as microsandbox 0.5.10+ (which 0.7 keeps):

- create holds ``volumes/.locks/<name>.lock``, refuses a name whose row or folder exists, builds the
  storage in ``volumes/.<name>.XXXXXX``, renames it into place and only then inserts the row; a
  failed insert removes the folder again, so a row never points at half-made storage;
- remove holds the same lock (taken before the row is read, so a create under way is waited for),
  refuses a disk volume whose ``disk.raw`` a running VM holds locked, and refuses while a
  ``Running``/``Draining``/``Paused`` sandbox has a ``Named`` mount of it. It then moves the folder
  aside, deletes the row and deletes the folder (microsandbox deletes row then folder): a folder that
  cannot be moved leaves everything as it was, and one that cannot be deleted is reported by path;
- file operations (``fs_*``, see :mod:`backend.volumes.files`) check the row, refuse disk volumes and
  can never reach outside the volume folder.
"""

from __future__ import annotations

import asyncio
import builtins
import functools
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from backend.db import tables
from backend.db.engine import READ_MMAP_SIZE
from backend.db.inflight import finishes
from backend.fileio import FolderRemoval
from backend.jsonio import loads_row
from backend.errors import (
    FsUnsupportedError,
    VolumeAlreadyExistsError,
    VolumeFolderExistsError,
    VolumeNotFoundError,
    VolumeRemoveError,
)
from backend.paths import is_path_component, name_problem, safe_child
from backend.timefmt import now_text, parse_ts
from backend.volumes import disk_image
from backend.volumes.disk_image import DiskEntry, Ext4Usage
from backend.volumes.files import VolumeFilesMixin
from backend.volumes.fs import VolumeRoot
from backend.volumes.models import VolumeConfig, VolumeInfo, validate_config, validate_volume_name
from backend.volumes.owned_service import OwnedVolumesMixin, image_usage
from backend.volumes.paths import split_path
from backend.volumes.storage import (
    DISK_IMAGE_NAME,
    attached_image_lock,
    check_name_fits,
    discard_new_folder,
    provision,
    refuse_if_mounted,
    volume_lock,
)
from backend.volumes.usage import ChildSize, DirUsage, ProgressFn, Usage, child_sizes, scan_usage
from backend.volumes.xref import MOUNTS_SQL, VolumeCrossRefs, build

if TYPE_CHECKING:
    from backend.home import HomeContext

log = logging.getLogger(__name__)

_COLUMNS = (
    tables.volume.c.id, tables.volume.c.name, tables.volume.c.kind, tables.volume.c.quota_mib,
    tables.volume.c.size_bytes, tables.volume.c.capacity_bytes, tables.volume.c.disk_format,
    tables.volume.c.disk_fstype, tables.volume.c.labels, tables.volume.c.created_at,
    tables.volume.c.updated_at,
)
_INSERT = (
    "INSERT INTO volume (name, kind, quota_mib, size_bytes, capacity_bytes, disk_format, disk_fstype, labels, "
    "created_at, updated_at) VALUES (?, ?, ?, NULL, ?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO NOTHING"
)
# microsandbox's order (NULL times last, as SQLite sorts NULL lowest); id breaks ties for a stable order.
_LIST = (
    "SELECT id, name, kind, quota_mib, size_bytes, capacity_bytes, disk_format, disk_fstype, labels, "
    "created_at, updated_at FROM volume ORDER BY created_at DESC, id DESC"
)


def _labels_json(labels: Sequence[tuple[str, str]]) -> str | None:
    """serde_json's compact form of ``Vec<(String, String)>``; NULL for none, as microsandbox."""
    if not labels:
        return None
    return json.dumps([list(pair) for pair in labels], ensure_ascii=False, separators=(",", ":"))


def _parse_labels(text: str, name: str) -> tuple[tuple[str, str], ...]:
    labels = _labels_from_json(text)
    if labels is None:
        log.warning("volume %s: labels are not a JSON list of pairs; shown as none", name)
        return ()
    return labels


@functools.lru_cache(maxsize=1024)
def _labels_from_json(text: str) -> tuple[tuple[str, str], ...] | None:
    """Parsed label pairs (cached: many volumes share the same labels), None when unreadable."""
    try:
        value = loads_row(text)
        if isinstance(value, dict):
            value = list(value.items())
        return tuple((str(k), str(v)) for k, v in value)
    except (ValueError, TypeError):
        return None


def _time(text: str | None) -> datetime | None:
    """Stored naive-UTC text as an aware datetime (fast path for microsandbox's own format)."""
    if not text:
        return None
    try:
        # Appending the offset is several times faster than .replace(tzinfo=UTC); text that already
        # carries an offset fails here and takes the general parser.
        return datetime.fromisoformat(text + "+00:00")
    except ValueError:
        return parse_ts(text)


class Volumes(VolumeFilesMixin, OwnedVolumesMixin):
    """Named volumes of one backend's home. Always that backend's paths, never the ambient default."""

    def __init__(self, backend: HomeContext) -> None:
        self._backend = backend

    # -- rows ---------------------------------------------------------------------------------

    @staticmethod
    def _infos(rows: Iterable[Any], volumes_dir: Path) -> builtins.list[VolumeInfo]:
        """Row tuples (in ``_COLUMNS`` order) to :class:`VolumeInfo`; a tight loop, lists can be long."""
        out: builtins.list[VolumeInfo] = []
        append = out.append
        for _id, name, kind, quota, size, capacity, fmt, fstype, labels, created, updated in rows:
            append(VolumeInfo(
                name, "disk" if kind == "disk" else "dir",
                None if quota is None else (max(0, quota)),
                size or 0, capacity, fmt, fstype,
                _parse_labels(labels, name) if labels else (),
                _time(created), _time(updated), volumes_dir, name_problem(name),
            ))
        return out

    async def _row(self, name: str) -> Any:
        database = await self._backend.db()
        async with database.read() as conn:
            if conn is None:
                return None
            result = await conn.execute(select(*_COLUMNS).where(tables.volume.c.name == name))
            return result.first()

    @finishes
    async def get(self, name: str) -> VolumeInfo:
        """The volume named ``name``; ``VolumeNotFoundError`` ("volume not found: <name>") otherwise."""
        row = await self._row(name)
        if row is None:
            raise VolumeNotFoundError(name)
        return self._infos([row], self._backend.volumes_dir())[0]

    @finishes
    async def list(self) -> builtins.list[VolumeInfo]:
        """Every volume, newest first (``created_at DESC``; rows without a time last)."""
        database = await self._backend.db()
        async with database.read() as conn:
            if conn is None:
                return []
            # The pooled connection's driver fetches plain tuples in one call; SQLAlchemy's row
            # processing would add a quarter to a 2,000-volume list.
            driver = (await conn.get_raw_connection()).driver_connection
            assert driver is not None  # an aiosqlite connection
            rows = await driver.execute_fetchall(_LIST)
        return self._infos(rows, self._backend.volumes_dir())

    @finishes
    async def create(self, config: VolumeConfig) -> VolumeInfo:
        """Validate ``config`` (microsandbox's rules and messages), make the storage, insert the row."""
        validate_config(config)
        name = config.name
        action = f"create volume `{name}`"
        self._backend.ensure_writable(action)
        database = await self._backend.db()
        self._backend.ensure_writable(action)  # opening may find a newer microsandbox's catalog
        volumes_dir = self._backend.volumes_dir()
        folder = volumes_dir / name
        check_name_fits(volumes_dir, name)
        async with volume_lock(volumes_dir, name):
            if os.path.lexists(folder):
                if await self._row(name) is not None:
                    raise VolumeAlreadyExistsError(name)
                raise VolumeFolderExistsError(name, folder)
            await provision(config, volumes_dir, folder)
            stamp = now_text()
            disk = config.kind == "disk"
            capacity = config.capacity_mib * 1024 * 1024 if disk and config.capacity_mib is not None else None
            row = (name, config.kind, config.quota_mib, capacity, "raw" if disk else None,
                   "ext4" if disk else None, _labels_json(config.labels), stamp, stamp)

            def insert_row(conn: sqlite3.Connection) -> None:
                if conn.execute(_INSERT, row).rowcount == 0:
                    raise VolumeAlreadyExistsError(name)

            try:
                await database.write_sync(action, insert_row)
            except BaseException:
                await asyncio.shield(asyncio.to_thread(discard_new_folder, folder, disk))
                raise
        created = _time(stamp)
        return VolumeInfo(
            name=name, kind=config.kind, quota_mib=config.quota_mib, used_bytes=0,
            capacity_bytes=capacity, disk_format="raw" if disk else None,
            disk_fstype="ext4" if disk else None, labels=tuple(config.labels), created_at=created, updated_at=created,
            volumes_dir=volumes_dir,
        )

    @finishes
    async def remove(self, name: str) -> None:
        """Delete the row and the folder, as microsandbox 0.5.10+ does, under the volume's name lock.

        Refused while a running sandbox holds the disk image's lock (``VolumeInUseError``: attached),
        or while a ``Running``/``Draining``/``Paused`` sandbox has a ``Named`` mount of it, checked in the
        same transaction that deletes the row (a config that cannot be read there refuses too, as in
        microsandbox). Raises ``VolumeRemoveError`` when the folder cannot be deleted.
        """
        action = f"remove volume `{name}`"
        self._backend.ensure_writable(action)
        database = await self._backend.db()
        self._backend.ensure_writable(action)
        volumes_dir = self._backend.volumes_dir()
        folder = volumes_dir / name
        # A row microsandbox would never write (a name like "../x") gets its row removed, nothing else.
        own_folder = is_path_component(name)
        # The lock comes before the row is read, so a create still under way (its folder already in
        # place, its row not yet) is waited for rather than half seen.
        async with volume_lock(volumes_dir, name if own_folder else "invalid-name"):
            row = await self._row(name)
            if row is None:
                raise VolumeNotFoundError(name)
            with attached_image_lock(name, folder / DISK_IMAGE_NAME if own_folder and row.kind == "disk" else None):
                removal = FolderRemoval(folder) if own_folder else None

                def delete_row(conn: sqlite3.Connection, move_aside: Callable[[], None]) -> None:
                    refuse_if_mounted(conn, name)
                    try:
                        move_aside()
                    except OSError as exc:
                        raise VolumeRemoveError(
                            f"cannot remove volume `{name}`: its folder `{folder}` cannot be moved aside "
                            f"({exc.strerror or exc}); nothing was changed", folder, row_removed=False,
                        ) from exc
                    if conn.execute("DELETE FROM volume WHERE id = ?", (row.id,)).rowcount == 0:
                        raise VolumeNotFoundError(name)

                if removal is None:
                    await database.write_sync(action, lambda conn: delete_row(conn, lambda: None))
                    return
                await removal.run(lambda move: database.write_sync(action, lambda conn: delete_row(conn, move)))
                problem = await removal.finish()
        if problem:
            raise VolumeRemoveError(
                f"volume `{name}` was removed from the catalog, but its folder could not be deleted "
                f"completely: `{removal.aside}` is left ({problem}); delete it by hand", removal.aside,
                row_removed=True,
            )

    # -- storage --------------------------------------------------------------------------------

    def root(self, name: str) -> VolumeRoot:
        """The path-safe root of ``volumes/<name>`` without a catalog check (orphan folders included;
        ``name`` must be a single folder name).

        Mutating calls on it pass this backend's read-only guard.
        """
        if not is_path_component(name):
            validate_volume_name(name)
        return VolumeRoot(self._backend.volume_path(name), volume=name, guard=self._backend.ensure_writable)

    async def open_root(self, name: str) -> VolumeRoot:
        """The path-safe root of the directory volume ``name``: the row must exist and be ``dir``."""
        info = await self.get(name)
        self._check_safe(info)
        if info.kind == "disk":
            raise FsUnsupportedError(
                f"volume `{name}` is a disk volume: its files live inside `{info.disk_path}`, which host file "
                "operations do not open; use the disk image helpers to read it"
            )
        return VolumeRoot(info.path, volume=name, guard=self._backend.ensure_writable)

    @staticmethod
    def _check_safe(info: VolumeInfo) -> None:
        """Refuse a row whose name would make its folder path leave ``volumes/``."""
        safe_child(info.volumes_dir, info.name, "volume")

    async def usage(
        self, name: str, *, progress: ProgressFn | None = None, cancel: threading.Event | None = None,
        tree: bool = True, interval_s: float = 0.2,
    ) -> Usage:
        """Real usage of a volume: a folder scan (dir) or the image's sizes (disk).

        Runs in a thread; cancelling the awaiting task, or setting ``cancel``, stops the scan, and the
        partial figures come back with ``complete=False``. Nothing is written to the row.
        """
        info = await self.get(name)
        self._check_safe(info)
        event = cancel if cancel is not None else threading.Event()

        def work() -> Usage:
            if info.disk_path is not None:
                return image_usage(name, info.disk_path)
            with VolumeRoot(info.path, volume=name).open_dir_fd() as fd:
                return scan_usage(fd, progress=progress, cancel=event, tree=tree, interval_s=interval_s)

        try:
            return await asyncio.to_thread(work)
        except asyncio.CancelledError:
            event.set()
            raise

    async def child_sizes(self, name: str, path: str = "", *, tree: DirUsage | None = None,
                          cancel: threading.Event | None = None) -> builtins.list[ChildSize]:
        """ncdu-style rows for the folder at ``path``: each child with its subtree's sizes.

        Folders found in ``tree`` (the ``Usage.tree`` of an earlier scan) are not walked again.
        """
        root = await self.open_root(name)

        def work() -> builtins.list[ChildSize]:
            node = tree.find(split_path(path)) if tree else None
            with root.open_dir_fd(path) as fd:
                return child_sizes(fd, node, cancel=cancel)

        return await asyncio.to_thread(work)

    async def _disk_image(self, name: str) -> Path:
        info = await self.get(name)
        self._check_safe(info)
        if info.disk_path is None:
            raise FsUnsupportedError(
                f"volume `{name}` is a directory volume, not a disk volume; use the fs_* operations"
            )
        return info.disk_path

    async def disk_list(self, name: str, path: str = "/") -> builtins.list[DiskEntry]:
        """The entries of a folder inside a disk volume's ext4 image (read-only, via ``debugfs -c``)."""
        image = await self._disk_image(name)
        return await asyncio.to_thread(disk_image.list_dir, image, path)

    async def disk_read(self, name: str, path: str, *, max_bytes: int | None = None) -> bytes:
        """The content of a file inside a disk volume's image (at most ``max_bytes``)."""
        image = await self._disk_image(name)
        return await asyncio.to_thread(lambda: disk_image.read_file(image, path, max_bytes=max_bytes))

    async def disk_usage(self, name: str) -> Ext4Usage:
        """Space used inside a disk volume's file system, from its superblock."""
        image = await self._disk_image(name)
        return await asyncio.to_thread(disk_image.filesystem_usage, image)

    @finishes
    async def cross_refs(self, rows: Sequence[VolumeInfo] | None = None) -> VolumeCrossRefs:
        """Which sandboxes mount each volume, volumes whose folder is missing, and orphan folders.

        ``rows`` is a :meth:`list` result just read, to save reading it again."""
        volume_rows = builtins.list(rows) if rows is not None else await self.list()
        database = await self._backend.db()
        mounts: builtins.list[tuple[str, str, str]] = []
        unreadable: builtins.list[str] = []
        async with database.read() as conn:
            if conn is not None:
                # The scan reads every config once; memory-mapped, those pages would all count in the
                # process's resident memory (~1 KB per sandbox), for no speed gain on a single pass.
                await conn.exec_driver_sql("PRAGMA mmap_size = 0")
                try:
                    found: builtins.list[tuple[Any, ...]] = [
                        tuple(r) for r in await conn.exec_driver_sql(MOUNTS_SQL)]
                finally:
                    await conn.exec_driver_sql(f"PRAGMA mmap_size = {READ_MMAP_SIZE}")
                mounts = [(str(sandbox), str(status), str(mount)) for sandbox, status, mount, _ in found
                          if mount is not None]
                unreadable = [str(sandbox) for sandbox, _status, mount, _ in found if mount is None]
        return await asyncio.to_thread(build, volume_rows, mounts, unreadable, self._backend.volumes_dir())
