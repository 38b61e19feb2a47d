"""Terminal faults: a 40x12 terminal, resize storms, and a lost terminal (SIGHUP) in a real pty.

Nothing may raise, hang or leave a process behind; after a hang-up the process exits on its own within
seconds, prints no traceback, and closes the catalog cleanly (its ``-wal`` and ``-shm`` are
checkpointed away, as they are after a normal quit).
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import os
import pty
import random
import select
import signal
import sqlite3
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from textual.drivers.headless_driver import HeadlessDriver
from textual.events import Resize
from textual.geometry import Size

from backend.demo import DEMO_NOW, add_bulk_sandboxes
from backend.local import LocalBackend
from backend.volumes.models import VolumeConfig
from tests.reliability.support import copy_home
from tests.reliability.ui_support import goto, screen_text, show_sandbox, until
from tests.reliability.ui_sweep import settle
from tests.tui.support import make_app
from tui.app import MsbApp
from tui.modals.confirm import ConfirmModal
from tui.modals.help import HelpModal

ROOT = Path(__file__).resolve().parents[2]
STORM_BURSTS = 4  # per screen
BURST = 30  # resizes queued before the app gets to handle them
SIZES = [(40, 12), (250, 70), (80, 24), (41, 13), (120, 10), (20, 6), (200, 15), (60, 50), (10, 3), (132, 43),
         (1, 1)]


def assert_drawn(app: object, size: tuple[int, int]) -> None:
    lines = screen_text(app).rstrip("\n").split("\n")  # type: ignore[arg-type]
    assert len(lines) == size[1] and all(len(line) <= size[0] for line in lines), (size, lines[:3])


async def test_a_40x12_terminal_shows_every_screen_and_dialog(demo_template: Path, tmp_path: Path) -> None:
    home = copy_home(demo_template, tmp_path / "home")
    app = make_app(home)
    async with app.run_test(size=(40, 12), notifications=True) as pilot:
        await settle(pilot)
        await show_sandbox(pilot, "db-migrate", logs=True)
        assert_drawn(app, (40, 12))
        await pilot.press("x")  # the remove dialog must fit (and Cancel keeps everything)
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        assert_drawn(app, (40, 12))
        await pilot.press("escape", "question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpModal)
        await pilot.press("escape")
        await goto(pilot, "volumes")
        screen = app.screen_stack[0]
        assert await until(pilot, lambda: screen.loaded)  # type: ignore[attr-defined]
        screen.table.move_cursor([row.name for row in screen.shown].index("project-data"))  # type: ignore[attr-defined]
        screen.open_selected_volume()  # type: ignore[attr-defined]
        browser = screen.browser  # type: ignore[attr-defined]
        assert await until(pilot, lambda: browser.listed)
        browser.table.move_cursor([row.name for row in browser.shown].index("README.md"))
        assert await until(pilot, lambda: "README.md" in screen_text(app))
        assert_drawn(app, (40, 12))
        await goto(pilot, "config")
        await settle(pilot)
        await pilot.press("tab", "tab", "f2")
        await settle(pilot)
        assert_drawn(app, (40, 12))
        assert app.is_running and app._exception is None
    assert (home / "sandboxes" / "db-migrate").is_dir()


def resize_now(app: MsbApp, width: int, height: int) -> None:
    """What a SIGWINCH does: a Resize for the app, without waiting for it to be handled (as
    ``Pilot.resize_terminal`` would), so many queue up as in a real storm."""
    size = Size(width, height)
    if isinstance(app._driver, HeadlessDriver):
        app._driver._size = size
    app.post_message(Resize(size, size))


async def test_a_resize_storm_on_every_screen_leaves_a_working_app(demo_template: Path,
                                                                    tmp_path: Path) -> None:
    home = copy_home(demo_template, tmp_path / "home")
    rng = random.Random(9)
    app = make_app(home)
    resizes = 0
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for mode, keys in (("sandboxes", ("down", "j", "d")), ("volumes", ("down", "enter", "down")),
                           ("config", ("tab", "down", "f2"))):
            await goto(pilot, mode)
            for burst in range(STORM_BURSTS):
                for step in range(BURST):
                    size = rng.choice(SIZES) if step % 3 else (rng.randint(1, 300), rng.randint(1, 90))
                    resize_now(app, *size)
                    resizes += 1
                await pilot.press(keys[burst % len(keys)])
                await pilot.pause(0)
            await pilot.resize_terminal(100, 30)
            await settle(pilot)
            assert_drawn(app, (100, 30))
            assert app.is_running and app._exception is None
        await show_sandbox(pilot, "api-server")  # still loads details after the storm
    assert app._exception is None
    assert resizes == 3 * STORM_BURSTS * BURST
    print(f"\n[reliability] resize storm: {resizes} resizes in bursts of {BURST} on 3 screens, no error")


# -- a real terminal ----------------------------------------------------------------------------------


def _read_until(fd: int, needle: bytes, timeout: float) -> bytes:
    out = b""
    deadline = time.monotonic() + timeout
    while needle not in out and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                out += os.read(fd, 65536)
            except OSError:
                break
    return out


def _drain(fd: int, timeout: float) -> bytes:
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError as exc:  # EIO: the other side is gone
                if exc.errno == errno.EIO:
                    break
                raise
            if not chunk:
                break
            out += chunk
    return out


def _wait(pid: int, timeout: float) -> int | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.05)
    return None


@pytest.mark.parametrize("how", ["sighup", "terminal-closed"])
def test_a_lost_terminal_ends_the_app_cleanly(how: str, demo_template: Path, tmp_path: Path) -> None:
    """``sighup``: the signal alone (the output is read to the end, so a traceback would be seen);
    ``terminal-closed``: the terminal really goes away (the kernel sends SIGHUP, writes then fail)."""
    home = copy_home(demo_template, tmp_path / "home")
    status: int | None = None
    pid, fd = pty.fork()
    if pid == 0:  # the child: a session leader whose controlling terminal is the pty
        os.chdir(ROOT)
        os.environ.update({"TERM": "xterm-256color", "MSB_TUI_REFRESH_SECS": "1"})
        os.environ.pop("MSB_HOME", None)
        os.execv(sys.executable, [sys.executable, "-m", "tui", "--home", str(home)])
    try:
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        output = _read_until(fd, b"sandboxes", 60)
        assert b"sandboxes" in output, output[-2000:]
        output += _read_until(fd, b"\x00never\x00", 1.0)  # let it draw and refresh a little
        assert (home / "db" / "msb.db-wal").exists(), "the session should have the catalog open"
        started = time.monotonic()
        if how == "sighup":
            os.kill(pid, signal.SIGHUP)
            output += _drain(fd, 15)
        else:
            os.close(fd)
            fd = -1
        status = _wait(pid, 15)
        elapsed = time.monotonic() - started
    finally:
        if fd >= 0:
            os.close(fd)
        if status is None:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    assert status is not None, "the app was still running 15 s after losing its terminal"
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 128 + signal.SIGHUP, (
        f"expected a clean exit with status 129, got {status:#x}")
    assert b"Traceback" not in output, output[-3000:].decode(errors="replace")
    leftovers = sorted(p.name for p in (home / "db").iterdir())
    # microsandbox's migration lock file stays, as microsandbox leaves it; no -wal or -shm.
    assert leftovers == ["msb.db", "msb.db.migration.lock"], f"the catalog was not closed cleanly: {leftovers}"
    with sqlite3.connect(home / "db" / "msb.db", timeout=0) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        conn.execute("BEGIN IMMEDIATE")  # nobody holds a lock
        conn.execute("ROLLBACK")
    conn.close()
    print(f"\n[reliability] lost terminal ({how}): exit 129 after {elapsed:.2f} s, no traceback, catalog closed")


def _home_with_volumes(path: Path, volumes: int) -> None:
    async def fill() -> None:
        await add_bulk_sandboxes(path, 2_000, now=DEMO_NOW)
        backend = LocalBackend.builder().home(path).config_file(path / "config.json").build_lazy()
        try:
            for index in range(volumes):
                await backend.volumes().create(VolumeConfig(name=f"vol-{index:04d}"))
                for file in range(20):
                    (backend.volume_path(f"vol-{index:04d}") / f"f{file}").write_bytes(b"x" * file)
        finally:
            await backend.close()

    asyncio.run(fill())


def test_quitting_while_usage_scans_read_the_catalog_exits_promptly(tmp_path: Path) -> None:
    # Seen once in ~10 starts before backend calls finished on their own: a scan cancelled inside its
    # catalog read left a task that never finished, and the process hung at exit.
    home = tmp_path / "home"
    home.mkdir()
    _home_with_volumes(home, 300)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MSB_")}
    env["MSB_TUI_EXIT_AFTER_FIRST_FRAME"] = "1"
    for _ in range(8):
        done = subprocess.run([sys.executable, "-m", "tui", "--home", str(home), "--screen", "volumes"],
                              env=env, capture_output=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        assert b"MSB_TUI_FIRST_FRAME" in done.stdout
