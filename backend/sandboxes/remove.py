"""``msb rm`` for one stopped sandbox: its catalog row (runs, rootfs pin, labels cascade) and its folder.

microsandbox deletes the folder, then the row, with no transaction around them. Here the folder is
first *renamed* aside inside the write transaction (a cheap, atomic step that can be undone), the row
is deleted and committed, and only then is the renamed folder deleted. So a refusal or a failed commit
leaves the sandbox exactly as it was, and a folder that cannot be fully deleted afterwards is reported
with its path.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncConnection

from backend.errors import (
    SandboxNotFoundError,
    SandboxNotRemovableError,
    SandboxRemoveError,
    SandboxStillRunningError,
)
from backend.fileio import pid_alive
from backend.sandboxes.models import ACTIVE_STATUSES, KNOWN_STATUSES
from backend.sandboxes.names import validate_sandbox_name

if TYPE_CHECKING:
    from backend.home import HomeContext


def _exists(path: Path) -> bool:
    try:
        path.lstat()
    except FileNotFoundError:
        return False
    return True


def _restore(moved: Path, original: Path) -> None:
    if _exists(moved) and not _exists(original):
        os.rename(moved, original)


async def remove_sandbox(backend: HomeContext, name: str) -> None:
    """See :meth:`backend.sandboxes.service.Sandboxes.remove`."""
    name = validate_sandbox_name(name)
    action = f"remove sandbox {name}"
    backend.ensure_writable(action)
    folder = backend.sandboxes_dir() / name
    aside = folder.with_name(f".{name}.removing-{secrets.token_hex(4)}")

    async def work(conn: AsyncConnection) -> None:
        found = (await conn.exec_driver_sql("SELECT id, status FROM sandbox WHERE name = ?", (name,))).all()
        if not found:
            raise SandboxNotFoundError(name)
        first: tuple[Any, ...] = tuple(found[0])
        sandbox_id, status = first[0], first[1]
        if status in ACTIVE_STATUSES:
            raise SandboxStillRunningError(name)
        if status not in KNOWN_STATUSES:
            raise SandboxNotRemovableError(
                name,
                f"its status {status!r} is not one microsandbox 0.5 knows, so it may still be running; "
                "check it with a newer msb",
            )
        runs = (await conn.exec_driver_sql(
            "SELECT id, pid FROM run WHERE sandbox_id = ? AND status = 'Running' AND pid IS NOT NULL",
            (sandbox_id,),
        )).all()
        for run_id, pid in (tuple[Any, ...](run)[:2] for run in runs):
            if isinstance(pid, int) and pid_alive(pid):
                raise SandboxNotRemovableError(
                    name,
                    f"process {pid} of its run {run_id} is still alive although the status is {status}; "
                    f"stop it first (msb stop {name}, or kill {pid})",
                )
        moved = False
        try:
            if _exists(folder):
                os.rename(folder, aside)
                moved = True
            await conn.exec_driver_sql("DELETE FROM sandbox WHERE id = ?", (sandbox_id,))
        except BaseException:
            if moved:
                _restore(aside, folder)
            raise

    try:
        await (await backend.db()).write(action, work)
    except OSError as exc:
        raise SandboxRemoveError(
            f"cannot remove sandbox '{name}': its folder `{folder}` could not be moved aside "
            f"({exc.strerror or exc}); nothing was removed. Check the folder's permissions.",
            name,
        ) from exc
    except BaseException:
        _restore(aside, folder)
        raise
    if not _exists(aside):
        return
    try:
        # Shielded: the row is gone, so the folder must go too even if the caller is cancelled now.
        await asyncio.shield(asyncio.to_thread(_delete_tree, aside))
    except OSError as exc:
        raise SandboxRemoveError(
            f"sandbox '{name}' was removed from the catalog, but its old folder could not be fully "
            f"deleted ({exc.strerror or exc}): delete `{aside}` by hand",
            name,
        ) from exc


def _delete_tree(path: Path) -> None:
    if path.is_symlink() or not path.is_dir():
        path.unlink()
        return
    shutil.rmtree(path)
