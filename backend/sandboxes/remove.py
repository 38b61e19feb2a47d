"""``msb rm`` for one stopped sandbox: its catalog row (runs, rootfs pin, labels cascade) and its folder.

Like ``msb rm`` it first takes the sandbox's three locks (creation, lifecycle, snapshot lineage) with a
short bounded wait, refusing while a microsandbox process holds any of them. microsandbox then deletes
the folder, then the row, with no transaction around them. Here the folder is first *renamed* aside
inside the write transaction (see :class:`backend.fileio.FolderRemoval`), the row is deleted and
committed, and only then is the renamed folder deleted. So a refusal or a failed commit leaves the
sandbox exactly as it was, and a folder that cannot be fully deleted afterwards is reported with its path.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncConnection

from backend.errors import (
    SandboxLockedError,
    SandboxNotFoundError,
    SandboxNotRemovableError,
    SandboxRemoveError,
    SandboxStillRunningError,
)
from backend.fileio import FolderRemoval, pid_alive
from backend.locks import SandboxLockFiles, all_or_none
from backend.sandboxes.models import ACTIVE_STATUSES, KNOWN_STATUSES
from backend.sandboxes.names import validate_sandbox_name

if TYPE_CHECKING:
    from backend.home import HomeContext


#: How long removing waits for a microsandbox process to let go of the sandbox's locks.
SANDBOX_LOCK_WAIT_S = 2.0


def _lock_held(name: str, lock: Path) -> SandboxNotRemovableError:
    what = {"creation-locks": "is being created or started"}.get(lock.parent.name, "is in use")
    if lock.name.endswith(".snapshot-lineage.lock"):
        what = "has a snapshot being taken or restored"
    return SandboxLockedError(
        name, f"it {what} by a microsandbox process (it holds `{lock}`); try again when that is done, or stop "
        f"it first (msb stop {name})", lock,
    )


async def remove_sandbox(backend: HomeContext, name: str) -> None:
    """See :meth:`backend.sandboxes.service.Sandboxes.remove`."""
    name = validate_sandbox_name(name)
    action = f"remove sandbox {name}"
    backend.ensure_writable(action)
    database = await backend.db()
    backend.ensure_writable(action)
    folder = backend.sandboxes_dir() / name
    locks = SandboxLockFiles.for_sandbox(backend.home() / "run", name)
    removal = FolderRemoval(folder)

    async def work(conn: AsyncConnection, move_aside: Callable[[], None]) -> None:
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
        try:
            move_aside()
        except OSError as exc:
            raise SandboxRemoveError(
                f"cannot remove sandbox '{name}': its folder `{folder}` could not be moved aside "
                f"({exc.strerror or exc}); nothing was removed. Check the folder's permissions.",
                name,
            ) from exc
        await conn.exec_driver_sql("DELETE FROM sandbox WHERE id = ?", (sandbox_id,))

    # The three locks msb rm takes: while a runtime, a launcher or a snapshot holds one, the sandbox
    # is not ours to remove.
    async with all_or_none(locks.all(), timeout_s=SANDBOX_LOCK_WAIT_S, on_held=lambda p: _lock_held(name, p)):
        await removal.run(lambda move: database.write(action, lambda conn: work(conn, move)))
        problem = await removal.finish()
    if problem:
        raise SandboxRemoveError(
            f"sandbox '{name}' was removed from the catalog, but its old folder could not be fully "
            f"deleted ({problem}): delete `{removal.aside}` by hand",
            name,
        )
