"""``msb-tui serve`` end to end: a real textual-serve server, the real app, headless Chromium.

The browser loads textual-serve's page, whose xterm.js terminal runs ``python -m tui --read-only`` in a
subprocess; the test reads the terminal's rows from the page, types keys into it, and checks that the
sandbox list of the seeded home is drawn and that the served app refuses to change the home.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("textual_serve", reason="textual-serve is not installed (pip install textual-serve)")
aiohttp = pytest.importorskip("aiohttp", reason="aiohttp (a textual-serve dependency) is not installed")

from backend.demo import DEMO_NOW, build_demo_home
from tests.e2e.cdp import chromium_page, find_chromium, kill_group

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = find_chromium()
#: The whole browser scenario must finish within this (a cold start takes ~5 s on 2 cores).
SCENARIO_TIMEOUT = 60.0

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not installed: the browser test needs Debian's `chromium` package "
    "(apt-get install chromium; .ci/run installs it)",
)


def free_loopback_port() -> int:
    """A port nothing listens on right now (the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def group_alive(pgid: int) -> bool:
    """True while any process of group ``pgid`` exists."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def sandbox_names(home: Path) -> set[str]:
    """The sandbox names in the home's catalog, read with plain sqlite3 (not through the app)."""
    with sqlite3.connect(f"file:{home / 'db' / 'msb.db'}?mode=ro", uri=True) as conn:
        return {name for (name,) in conn.execute("SELECT name FROM sandbox")}


@pytest.fixture
def demo_home(tmp_path: Path) -> Path:
    """The demo home (18 sandboxes, volumes, config.json) built for the fixed demo instant."""
    home = tmp_path / "home"
    asyncio.run(build_demo_home(home, now=DEMO_NOW))
    return home


@pytest.fixture
def served(demo_home: Path, tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    """``python -m tui.serve`` on a free loopback port, in its own process group; yields (url, process,
    log file) once it answers HTTP, and kills the server and every app it started afterwards."""
    port = free_loopback_port()
    log_path = tmp_path / "serve.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MSB_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tui.serve", "--home", str(demo_home), "--port", str(port),
             "--screen", "config"],
            cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        asyncio.run(_wait_until_serving(url, process, log_path))
        yield url, process, log_path
    finally:
        kill_group(process)


async def _wait_until_serving(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    async with aiohttp.ClientSession() as session:
        while True:
            if process.poll() is not None:
                raise AssertionError(f"the server exited with {process.returncode}:\n{log_path.read_text()}")
            try:
                async with session.get(url) as response:
                    if response.status == 200 and "textual-terminal" in await response.text():
                        return
            except aiohttp.ClientConnectionError:
                pass
            if loop.time() > deadline:
                raise AssertionError(f"the server did not answer {url} within 20 s:\n{log_path.read_text()}")
            await asyncio.sleep(0.1)


async def _browse(url: str, binary: str) -> tuple[str, str, str]:
    """Drive the served app like a user; returns the three screens the assertions look at."""
    async with chromium_page(binary) as page:
        await page.open_terminal_page(url)
        # Started with --screen config: the header (with its badge) is up, the sandbox rows are not.
        await page.wait_for_text(lambda text: "READ-ONLY" in text and "3 Config" in text, 30, "the app's header")
        await page.evaluate("window.__msbTerminals[0].focus()")
        await page.press("1")
        listed = await page.wait_for_text(
            lambda text: "web-frontend" in text and "ci-runner-7" in text, 15, "the sandbox list")

        await page.press("/")
        await page.wait_for_text(lambda text: "filter: name" in text, 10, "the filter box")
        await page.type_text("legacy")
        await page.press("Enter")
        filtered = await page.wait_for_text(
            lambda text: "legacy-alpine" in text and "web-frontend" not in text, 10,
            "the list filtered to legacy-alpine")

        # Remove the (stopped) sandbox: the read-only served app must refuse it.
        await page.press("x")
        refused = await page.wait_for_text(
            lambda text: "cannot remove sandbox" in text, 10, "the read-only refusal")
        return listed, filtered, refused


def test_served_app_draws_the_sandbox_list_and_is_read_only(
    served: tuple[str, subprocess.Popen[bytes], Path], demo_home: Path,
) -> None:
    url, process, log_path = served
    assert CHROMIUM is not None
    names_before = sandbox_names(demo_home)

    async def scenario() -> tuple[str, str, str]:
        async with asyncio.timeout(SCENARIO_TIMEOUT):
            return await _browse(url, CHROMIUM)

    listed, filtered, refused = asyncio.run(scenario())

    assert "READ-ONLY" in listed.splitlines()[0]
    assert "18 sandboxes" in listed
    assert "ci-runner-7" not in filtered  # filtering really happened in the served app
    assert "the backend was opened read-only" in refused
    assert sandbox_names(demo_home) == names_before
    assert (demo_home / "sandboxes" / "legacy-alpine").is_dir()
    assert process.poll() is None, log_path.read_text()
    # The served app opened the home given to `serve --home` (the header names it).
    assert str(demo_home) in listed

    # SIGTERM stops the server, which stops the app it started for the browser tab.
    os.killpg(process.pid, signal.SIGTERM)
    assert process.wait(15) == 0, log_path.read_text()
    for _ in range(100):
        if not group_alive(process.pid):
            break
        time.sleep(0.05)
    assert not group_alive(process.pid), "a served app outlived the server"
