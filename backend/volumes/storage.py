"""Volume storage on disk: the per-name lock, making folders and images, and deleting them.

Used by :class:`backend.volumes.service.Volumes`; kept apart so the row logic stays readable.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import secrets
import shutil
import sqlite3
import string
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from backend.jsonio import JsonError, loads_row
from backend.volumes.disk_image import create_image
from backend.errors import (
    InvalidConfigError,
    VolumeBusyError,
    VolumeFolderExistsError,
    VolumeInUseError,
    VolumeRemoveError,
    VolumeStorageError,
)
from backend.locks import LockTimeout, holding_async, try_flock
from backend.volumes.models import VolumeConfig

log = logging.getLogger(__name__)

LOCK_WAIT_S = 10.0
LOCKS_FOLDER = ".locks"
DISK_IMAGE_NAME = "disk.raw"
#: Sandbox statuses whose ``Named`` mounts keep a volume from being removed (microsandbox's set).
MOUNT_BLOCKING_STATUSES = ("Running", "Draining", "Paused")
_STAGING_ALPHABET = string.ascii_letters + string.digits


@asynccontextmanager
async def volume_lock(volumes_dir: Path, name: str) -> AsyncIterator[None]:
    """Hold ``volumes/.locks/<name>.lock`` (flock), as microsandbox does around create and remove.

    Waits up to :data:`LOCK_WAIT_S`, then raises :class:`VolumeBusyError`.
    """
    locks = volumes_dir / LOCKS_FOLDER
    lock = locks / f"{name}.lock"
    try:
        locks.mkdir(parents=True, exist_ok=True)
        async with holding_async(lock, exclusive=True, timeout_s=LOCK_WAIT_S, create=True, mode=0o644):
            yield
    except LockTimeout:
        raise VolumeBusyError(
            f"volume `{name}` is locked by another process (`{lock}`) for more than {LOCK_WAIT_S:g} s: "
            "microsandbox is creating or removing it. Try again when it is done."
        ) from None
    except OSError as exc:
        raise storage_error(f"lock volume `{name}`", locks, exc) from exc


def staging_folder(volumes_dir: Path, name: str) -> Path:
    """``volumes/.<name>.XXXXXX``: where microsandbox builds a volume before renaming it into place."""
    return volumes_dir / f".{name}.{''.join(secrets.choice(_STAGING_ALPHABET) for _ in range(6))}"


@contextmanager
def attached_image_lock(name: str, image: Path | None) -> Iterator[None]:
    """Hold ``disk.raw``'s lock exclusively (``LOCK_EX|LOCK_NB``) for the block, as microsandbox does
    before removing a disk volume: a running VM holds a lock on its image, so a failure means the
    volume is attached. Nothing to hold for a directory volume (None) or a missing image."""
    if image is None:
        yield
        return
    try:
        fd = os.open(image, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        yield
        return
    except OSError as exc:
        if exc.errno != errno.ELOOP:  # a symlinked image is unlinked, never followed: nothing to hold
            raise VolumeRemoveError(
                f"cannot remove volume `{name}`: cannot check whether a sandbox has `{image}` attached "
                f"({exc.strerror or exc}); nothing was changed", image.parent, row_removed=False,
            ) from exc
        yield
        return
    try:
        if not try_flock(fd, exclusive=True):
            raise VolumeInUseError(
                f'volume "{name}" is currently attached by a running sandbox (it holds the lock on '
                f"`{image}`); stop that sandbox first", name,
            )
        yield
    finally:
        os.close(fd)


def refuse_if_mounted(conn: sqlite3.Connection, name: str) -> None:
    """Inside the removing transaction: refuse while a sandbox whose status is Running, Draining or
    Paused has a ``Named`` mount of ``name``. As in microsandbox, an active sandbox whose config cannot
    be read refuses too: it might mount the volume."""
    marks = ", ".join("?" for _ in MOUNT_BLOCKING_STATUSES)
    rows = conn.execute(
        f"SELECT name, status, config FROM sandbox WHERE status IN ({marks}) ORDER BY id", MOUNT_BLOCKING_STATUSES
    ).fetchall()
    for sandbox, status, config in rows:
        try:
            document = loads_row(config) if isinstance(config, (str, bytes)) else None
        except JsonError:
            document = None
        if not isinstance(document, dict):
            raise VolumeInUseError(
                f'cannot remove volume "{name}": the config of {status.lower()} sandbox "{sandbox}" cannot be '
                "read, so it may mount this volume (microsandbox refuses too); stop that sandbox first",
                name, str(sandbox),
            )
        mounts = document.get("mounts")
        for mount in mounts if isinstance(mounts, list) else ():
            if isinstance(mount, dict) and mount.get("type") == "Named" and mount.get("name") == name:
                raise VolumeInUseError(
                    f'volume "{name}" is attached to active sandbox "{sandbox}" ({status}); stop it first '
                    f"(msb stop {sandbox})", name, str(sandbox),
                )


async def provision(config: VolumeConfig, volumes_dir: Path, folder: Path) -> None:
    """Make the storage at ``folder`` as microsandbox does: build it in ``volumes/.<name>.XXXXXX`` (an
    empty folder, or one holding the finished image) and rename that into place, so ``folder`` never
    holds half-made storage."""
    action = f"create volume `{config.name}`"
    staging = staging_folder(volumes_dir, config.name)
    try:
        os.mkdir(staging)
    except OSError as exc:
        raise storage_error(action, staging, exc) from exc
    try:
        if config.kind == "disk":
            assert config.capacity_mib is not None
            await create_image(staging / DISK_IMAGE_NAME, config.capacity_mib)
        if os.path.lexists(folder):  # rename(2) would replace an empty folder that appeared meanwhile
            raise VolumeFolderExistsError(config.name, folder)
        try:
            os.rename(staging, folder)
        except OSError as exc:
            if exc.errno in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR):
                raise VolumeFolderExistsError(config.name, folder) from exc
            raise storage_error(action, folder, exc) from exc
    except BaseException:
        await asyncio.shield(asyncio.to_thread(shutil.rmtree, staging, True))
        raise


def storage_error(action: str, path: Path, exc: OSError) -> VolumeStorageError:
    """A typed error for a failed mkdir/open under ``volumes/``, saying what to check."""
    return VolumeStorageError(
        f"cannot {action}: `{path}`: {exc.strerror or exc}; check that `{path.parent}` exists, is a folder, "
        "is writable by this user and its disk is not full"
    )


def check_name_fits(volumes_dir: Path, name: str) -> None:
    """microsandbox has no length limit, but the name's staging folder (``.<name>.XXXXXX``, the
    longest name made from it) must fit the file system's name limit; say so instead of failing
    with an OS error half-way."""
    try:
        limit = os.pathconf(volumes_dir if volumes_dir.is_dir() else volumes_dir.parent, "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    size = len(os.fsencode(name))
    extra = len(".") + len(".XXXXXX")
    if size + extra > limit:
        raise InvalidConfigError(
            f"volume name is {size} bytes long, but on this file system a volume name can have at most "
            f"{limit - extra} bytes (its staging folder `.<name>.XXXXXX` must fit); choose a shorter name"
        )


def discard_new_folder(folder: Path, disk: bool) -> None:
    """Undo a create whose row could not be written: remove the folder made moments ago.

    A directory volume's folder is removed only while still empty, so nothing someone wrote into it
    meanwhile is lost.
    """
    try:
        if disk:
            shutil.rmtree(folder)
        else:
            os.rmdir(folder)
    except OSError as exc:
        log.warning("could not remove the new folder %s after a failed create: %s", folder, exc)
