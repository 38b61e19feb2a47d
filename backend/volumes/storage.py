"""Volume storage on disk: the per-name lock, making folders and images, and deleting them.

Used by :class:`backend.volumes.service.Volumes`; kept apart so the row logic stays readable.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import logging
import os
import secrets
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from backend.errors import InvalidConfigError, VolumeBusyError, VolumeFolderExistsError, VolumeStorageError
from backend.volumes.disk_image import create_image
from backend.volumes.models import VolumeConfig

log = logging.getLogger(__name__)

LOCK_WAIT_S = 10.0


@asynccontextmanager
async def volume_lock(volumes_dir: Path, name: str) -> AsyncIterator[None]:
    """Hold ``volumes/.locks/<name>.lock`` (flock), as the microsandbox SDK does around create."""
    locks = volumes_dir / ".locks"
    try:
        locks.mkdir(parents=True, exist_ok=True)
        fd = os.open(locks / f"{name}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise storage_error(f"lock volume `{name}`", locks, exc) from exc
    try:
        deadline = asyncio.get_running_loop().time() + LOCK_WAIT_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if asyncio.get_running_loop().time() > deadline:
                    raise VolumeBusyError(
                        f"volume `{name}` is locked by another process (`{locks / (name + '.lock')}`) "
                        f"for more than {LOCK_WAIT_S:g} s; try again when it is done"
                    ) from None
                await asyncio.sleep(0.02)
        yield
    finally:
        os.close(fd)  # closing releases the lock


async def provision(config: VolumeConfig, volumes_dir: Path, folder: Path) -> None:
    """Make the storage at ``folder``: an empty folder, or a staged folder with the finished image,
    renamed into place, so ``folder`` never holds a half-made image."""
    action = f"create volume `{config.name}`"
    if config.kind == "dir":
        try:
            os.mkdir(folder)  # exclusive: a folder that appeared meanwhile is an error, not adopted
        except FileExistsError as exc:
            raise VolumeFolderExistsError(config.name, folder) from exc
        except OSError as exc:
            raise storage_error(action, folder, exc) from exc
        return
    assert config.capacity_mib is not None
    staging = volumes_dir / f".{config.name}.{secrets.token_hex(4)}"
    try:
        os.mkdir(staging)
    except OSError as exc:
        raise storage_error(action, staging, exc) from exc
    try:
        await create_image(staging / "disk.raw", config.capacity_mib)
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
    """microsandbox has no length limit, but the folder and the SDK's ``<name>.lock`` must fit the
    file system's name limit; say so instead of failing with an OS error half-way."""
    try:
        limit = os.pathconf(volumes_dir if volumes_dir.is_dir() else volumes_dir.parent, "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    size = len(os.fsencode(name))
    if size + len(".lock") > limit:
        raise InvalidConfigError(
            f"volume name is {size} bytes long, but on this file system a volume name can have at most "
            f"{limit - len('.lock')} bytes (its folder and its `.lock` file must fit); choose a shorter name"
        )


def is_component(name: str) -> bool:
    """True when ``name`` names exactly one entry of ``volumes/`` (no separator, not ``.``/``..``)."""
    return bool(name) and name not in (".", "..") and "/" not in name and "\x00" not in name


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


def delete_tree(path: Path) -> str | None:
    """Delete ``path`` (a symlink is unlinked, never followed); the first problem, or None."""
    if path.is_symlink() or not path.is_dir():
        try:
            path.unlink()
        except OSError as exc:
            return exc.strerror or str(exc)
        return None
    problems: list[str] = []

    def collect(_func: object, failed: str, info: tuple[type, BaseException, object]) -> None:
        problems.append(f"{failed}: {getattr(info[1], 'strerror', None) or info[1]}")

    shutil.rmtree(path, onerror=collect)
    if problems:
        more = f" and {len(problems) - 1} more" if len(problems) > 1 else ""
        return problems[0] + more
    return None
