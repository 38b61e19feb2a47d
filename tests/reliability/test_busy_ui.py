"""A write lock held by another process for longer than the busy timeout, seen from the app.

Two real situations: the home needs a migration when the app opens it (the header shows "database
busy" and retries until the lock goes), and an operator removes a sandbox while a runtime holds the
lock (the removal is refused with "Database busy", nothing changes, and the same removal works once the
lock goes). The lock is a ``BEGIN IMMEDIATE`` in a separate process; the busy timeout is set to 0 s in
config.json so the retries are over in about a second.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from tests.reliability.support import copy_home
from tests.reliability.ui_support import screen_text, show_sandbox, until
from tests.reliability.ui_sweep import settle
from tests.tui.support import make_app
from tui.header_state import BackendState
from tui.modals.confirm import ConfirmModal
from tui.screens.sandboxes.table import SandboxTable


@asynccontextmanager
async def write_lock(db: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    """Another process holding the catalog's write lock until the block ends."""
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c",
        "import sqlite3, sys\n"
        f"c = sqlite3.connect({str(db)!r}, isolation_level=None)\n"
        "c.execute('BEGIN IMMEDIATE'); print('locked', flush=True); sys.stdin.readline()\n",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )
    assert holder.stdin is not None and holder.stdout is not None
    try:
        assert (await asyncio.wait_for(holder.stdout.readline(), 30)).strip() == b"locked"
        yield holder
    finally:
        if holder.returncode is None:
            holder.stdin.write(b"go\n")
            await holder.wait()


def quick_busy_timeout(home: Path) -> None:
    config = home / "config.json"
    text = config.read_text()
    config.write_text(text.replace('"busy_timeout_secs": 5', '"busy_timeout_secs": 0'))
    assert '"busy_timeout_secs": 0' in config.read_text()


async def test_opening_a_locked_home_that_needs_migrating_shows_busy_then_recovers(
    demo_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = copy_home(demo_template, tmp_path / "home")
    quick_busy_timeout(home)
    db = home / "db" / "msb.db"
    with sqlite3.connect(db) as conn:  # a home from before microsandbox's last migration
        conn.execute("DELETE FROM seaql_migrations WHERE version = 'm20260621_000002_create_maintenance_lease'")
        conn.execute("DROP TABLE maintenance_lease")
    conn.close()
    monkeypatch.setattr("tui.app.BUSY_FIRST_DELAY", 0.1)
    monkeypatch.setattr("tui.app.BUSY_MAX_DELAY", 0.4)
    app = make_app(home)
    async with write_lock(db) as holder, app.run_test(size=(120, 30)) as pilot:
        assert await until(pilot, lambda: app.backend_state is BackendState.BUSY), app.header_state
        assert "database busy" in " ".join(screen_text(app).split())
        assert app.is_running
        holder.stdin.write(b"go\n")  # type: ignore[union-attr]
        await holder.wait()
        assert await until(pilot, lambda: app.backend_state is BackendState.READY), app.header_state
        assert await until(pilot, lambda: app.screen.query_one(SandboxTable).total == 18)
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM seaql_migrations").fetchone()[0] == 13
    conn.close()


async def test_a_removal_while_a_runtime_holds_the_lock_is_refused_then_works(
    demo_template: Path, tmp_path: Path
) -> None:
    home = copy_home(demo_template, tmp_path / "home")
    quick_busy_timeout(home)
    app = make_app(home)
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        await settle(pilot)
        await show_sandbox(pilot, "db-migrate")

        async def remove() -> None:
            await pilot.press("x")
            await settle(pilot, 1)
            modal = app.screen
            assert isinstance(modal, ConfirmModal)
            modal.query_one("#confirm-input").value = "db-migrate"  # type: ignore[attr-defined]
            await settle(pilot, 1)
            modal.query_one("#confirm").press()  # type: ignore[attr-defined]

        async with write_lock(home / "db" / "msb.db"):
            await remove()
            assert await until(pilot, lambda: any(n.title == "Database busy" for n in app._notifications))
            assert (home / "sandboxes" / "db-migrate").is_dir()
            assert app.is_running
        await remove()
        assert await until(pilot, lambda: not (home / "sandboxes" / "db-migrate").exists())
    with sqlite3.connect(home / "db" / "msb.db") as conn:
        assert conn.execute("SELECT count(*) FROM sandbox WHERE name = 'db-migrate'").fetchone()[0] == 0
    conn.close()
