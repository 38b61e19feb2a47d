"""Backend calls finish even when their caller is cancelled, and closing waits for them and for reads.

Before, the app had to route every call through ``MsbApp.run_db`` for this; now the backend does it
(``backend.db.inflight``), so a worker cancelled by a refresh or by quitting cannot leave a connection
checked out or a create half done, and no driver thread outlives :meth:`LocalBackend.close`.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from backend import LocalBackend
from backend.db import sync_writer
from backend.sandboxes.service import Sandboxes
from backend.volumes.models import VolumeConfig
from backend.volumes.service import Volumes


def _driver_threads() -> list[threading.Thread]:
    """aiosqlite's connection threads (not daemons: one left alive keeps the process from exiting)."""
    return [t for t in threading.enumerate()
            if t is not threading.main_thread() and t.is_alive() and not t.daemon
            and not t.name.startswith(("asyncio_", "ThreadPoolExecutor"))]


async def test_close_waits_for_a_read_in_flight(backend: LocalBackend) -> None:
    database = await backend.db()
    inside, release = asyncio.Event(), asyncio.Event()
    order: list[str] = []

    async def reader() -> None:
        async with database.read() as conn:
            assert conn is not None
            inside.set()
            await release.wait()
            await conn.exec_driver_sql("SELECT 1")
            order.append("read done")

    task = asyncio.ensure_future(reader())
    await inside.wait()
    closing = asyncio.ensure_future(database.close())
    await asyncio.sleep(0.05)
    assert not closing.done(), "close must not dispose under a checked-out connection"
    release.set()
    await closing
    order.append("closed")
    await task
    assert order == ["read done", "closed"]


async def test_a_cancelled_caller_does_not_cut_a_call_short(backend: LocalBackend) -> None:
    database = await backend.db()
    started, release = asyncio.Event(), asyncio.Event()
    finished: list[str] = []

    async def call() -> str:
        started.set()
        await release.wait()
        finished.append("yes")
        return "done"

    caller = asyncio.ensure_future(database.finish(call()))
    await started.wait()
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    closing = asyncio.ensure_future(database.close())
    await asyncio.sleep(0.05)
    assert not closing.done(), "close waits for the call"
    release.set()
    await closing
    assert finished == ["yes"]


async def test_a_create_whose_worker_is_cancelled_still_completes(
    backend: LocalBackend, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The row is written in a thread that a cancellation cannot stop: the create must not undo its
    folder behind a committed row, so it runs to the end, closing waits for it, and the volume is whole."""
    inside, release = threading.Event(), threading.Event()
    real_attempt = sync_writer.RowWriter._attempt

    def attempt(self: sync_writer.RowWriter, work: Callable[[sqlite3.Connection], Any]) -> Any:
        inside.set()
        assert release.wait(10)
        return real_attempt(self, work)

    monkeypatch.setattr(sync_writer.RowWriter, "_attempt", attempt)
    caller = asyncio.ensure_future(backend.volumes().create(VolumeConfig("v")))
    assert await asyncio.to_thread(inside.wait, 10)
    caller.cancel()
    await asyncio.sleep(0.02)
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await caller
    await backend.close()  # waits for the create
    with sqlite3.connect(home / "db" / "msb.db") as conn:
        assert conn.execute("SELECT name FROM volume").fetchall() == [("v",)]
    conn.close()
    assert (home / "volumes" / "v").is_dir()


async def test_close_leaves_no_driver_thread(home: Path) -> None:
    before = set(_driver_threads())
    backend = LocalBackend.lazy()
    volumes = backend.volumes()
    await volumes.create(VolumeConfig("a"))
    reads = [asyncio.ensure_future(volumes.list()) for _ in range(5)]
    await asyncio.sleep(0)
    for read in reads:
        read.cancel()
    await backend.close()
    for _ in range(100):
        left = set(_driver_threads()) - before
        if not left:
            break
        await asyncio.sleep(0.01)
    assert not left


@pytest.mark.parametrize(("facade", "method"), [
    (Volumes, "get"), (Volumes, "list"), (Volumes, "create"), (Volumes, "remove"), (Volumes, "cross_refs"),
    (Sandboxes, "list"), (Sandboxes, "window"), (Sandboxes, "count"), (Sandboxes, "counts_by_status"),
    (Sandboxes, "get"), (Sandboxes, "remove"),
])
def test_every_catalog_call_of_the_facades_finishes(facade: type, method: str) -> None:
    assert getattr(facade, method).__code__.co_name == "run_to_completion"
