"""The published microsandbox==0.5.10 SDK and msb-tui keep each other out through the same locks."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from backend import LocalBackend
from backend.locks import LockTable
from backend.volumes.models import VolumeConfig
from tests.interop.conftest import DRIVER, SdkRunner

pytestmark = pytest.mark.interop


async def wait_until(condition: object, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_a_sdk_create_holding_the_name_lock_makes_a_removal_here_wait(home: Path, sdk: SdkRunner) -> None:
    sdk("volume-list")  # the SDK makes the home (its catalog, its lock folders)
    db = home / "db" / "msb.db"
    lock = home / "volumes" / ".locks" / "shared.lock"
    # Hold the catalog's write lock, so the SDK's create stops at its INSERT, inside its name lock,
    # with its folder already renamed into place.
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    creator = subprocess.Popen([sys.executable, str(DRIVER), "volume-create", "shared"],
                               env={**os.environ, "MSB_HOME": str(home)}, stdout=subprocess.PIPE, text=True)
    backend = LocalBackend.lazy()
    try:
        await wait_until(lambda: LockTable.read().held_by_other(lock) and (home / "volumes" / "shared").is_dir())
        removal = asyncio.ensure_future(backend.volumes().remove("shared"))
        await asyncio.sleep(1.0)
        assert not removal.done(), "the removal must wait for the SDK's create"
        blocker.execute("COMMIT")  # the SDK's INSERT goes through; it releases its lock
        await asyncio.wait_for(removal, 30)
        assert creator.wait(30) == 0, creator.stdout.read() if creator.stdout else ""
    finally:
        if blocker.in_transaction:
            blocker.execute("ROLLBACK")
        blocker.close()
        await backend.close()
    # The removal saw the finished volume (row and folder) and removed both.
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("SELECT count(*) FROM volume").fetchone() == (0,)
    assert not (home / "volumes" / "shared").exists()
    assert sdk("volume-list") == []


async def test_a_removal_here_holds_the_name_lock_the_sdk_waits_for(home: Path, sdk: SdkRunner) -> None:
    sdk("volume-create", "shared")
    backend = LocalBackend.lazy()
    try:
        await backend.volumes().create(VolumeConfig("other"))
        from backend.volumes.storage import volume_lock

        async with volume_lock(backend.volumes_dir(), "shared"):
            remover = subprocess.Popen([sys.executable, str(DRIVER), "volume-remove", "shared"],
                                       env={**os.environ, "MSB_HOME": str(home)}, stdout=subprocess.PIPE, text=True)
            await asyncio.sleep(1.0)
            assert remover.poll() is None, "the SDK's remove must wait for our lock"
            assert (home / "volumes" / "shared").is_dir()
        assert await asyncio.to_thread(remover.wait, 30) == 0
    finally:
        await backend.close()
    assert not (home / "volumes" / "shared").exists()
