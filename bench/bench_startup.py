"""Startup of ``msb-tui``: process start to the first complete frame of each screen, and peak memory.

Each run starts ``python -m tui --home H --screen S`` headless with ``MSB_TUI_EXIT_AFTER_FIRST_FRAME``
set: the app prints a marker once the screen has drawn its first frame of data and exits. The time is
taken from spawning the process to reading the marker; the memory is the child's ``ru_maxrss``. Homes:
an empty one and a large one with 100,000 sandboxes and 2,000 volumes (quick: 20,000 and 500). The
reference is a minimal Textual app that draws one static line and exits the same way. A second
reference, the same minimal app importing the libraries the project is built on (SQLAlchemy's asyncio
extension with the aiosqlite dialect, and a pydantic model), shows what the stack alone costs.

Byte-code caching is on (in a cache folder under the work folder) for every process alike, as on a
user's machine: an environment with ``PYTHONDONTWRITEBYTECODE`` would otherwise recompile the
project's modules, but not the installed libraries', on every start.

Targets: on the large home each screen within 1.3x of the empty one in time and within 60 MB more
memory; each within 2x of the minimal app (time and memory).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
from pathlib import Path

from backend.demo import DEMO_NOW, add_bulk_sandboxes
from backend.local import LocalBackend
from backend.volumes.models import VolumeConfig
from bench.common import Result

TIMEOUT_S = 120.0

MINIMAL_APP = """
import os
from textual.app import App
from textual.widgets import Static

class Minimal(App):
    def compose(self):
        yield Static("msb-tui reference: one static line")

    def on_mount(self):
        self.call_after_refresh(self.done)

    def done(self):
        os.write(1, b"MSB_TUI_FIRST_FRAME\\n")
        self.exit()

Minimal().run(headless=True)
"""

#: The minimal app after importing the stack every screen needs before it can show data.
STACK_APP = """
import sqlalchemy.ext.asyncio, sqlalchemy.dialects.sqlite.aiosqlite, aiosqlite
from pydantic import BaseModel

class Settings(BaseModel):
    name: str = "x"

Settings(name="y")
""" + MINIMAL_APP


#: Runs inside a small launcher process: starts the measured command, times it to the marker, waits
#: for it, and prints ``seconds maxrss_kib``. Linux counts a forked child's RSS *before* its exec in
#: ``ru_maxrss``, so the command must be forked from a small process, not from this benchmark.
LAUNCHER = """
import os, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.Popen(sys.argv[2:], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
elapsed = -1.0
deadline = start + float(sys.argv[1])
for line in proc.stdout:
    if b"MSB_TUI_FIRST_FRAME" in line:
        elapsed = time.perf_counter() - start
        break
    if time.perf_counter() > deadline:
        break
proc.stdout.close()
_pid, _status, usage = os.wait4(proc.pid, 0)
print(elapsed, usage.ru_maxrss)
"""


def _run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Seconds from spawning ``argv`` to its first-frame marker, and its peak RSS in MB."""
    done = subprocess.run([sys.executable, "-c", LAUNCHER, str(TIMEOUT_S), *argv], env=env,
                          capture_output=True, text=True, timeout=TIMEOUT_S + 30, check=True)
    elapsed_text, maxrss_text = done.stdout.split()
    elapsed = float(elapsed_text)
    if elapsed < 0:
        raise RuntimeError(f"{argv} exited without drawing a first frame")
    return elapsed, int(maxrss_text) / 1024  # ru_maxrss is in KiB on Linux


def _measure(argv: list[str], env: dict[str, str], repeat: int) -> tuple[float, float]:
    _run_once(argv, env)  # warm-up: page cache, .pyc files
    samples = [_run_once(argv, env) for _ in range(repeat)]
    return statistics.median(s[0] for s in samples), max(s[1] for s in samples)


async def _fill_large_home(home: Path, sandboxes: int, volumes: int) -> None:
    await add_bulk_sandboxes(home, sandboxes, now=DEMO_NOW)
    backend = LocalBackend.builder().home(home).config_file(home / "config.json").build_lazy()
    try:
        for index in range(volumes):
            await backend.volumes().create(VolumeConfig(name=f"vol-{index:05d}"))
    finally:
        await backend.close()


def run(workdir: Path, quick: bool) -> list[Result]:
    """Build the homes in ``workdir`` and compare startups (see the module docstring)."""
    sandboxes, volumes = (20_000, 500) if quick else (100_000, 2_000)
    repeat = 3 if quick else 5
    empty = workdir / "empty-home"
    large = workdir / "large-home"
    empty.mkdir()
    large.mkdir()
    asyncio.run(_fill_large_home(large, sandboxes, volumes))

    env = {k: v for k, v in os.environ.items() if not k.startswith("MSB_") and k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(workdir / "pycache")
    env["MSB_TUI_EXIT_AFTER_FIRST_FRAME"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).resolve().parent.parent),
                                                      env.get("PYTHONPATH")]))

    def tui(home: Path, screen: str) -> list[str]:
        return [sys.executable, "-m", "tui", "--home", str(home), "--screen", screen]

    minimal_t, minimal_mb = _measure([sys.executable, "-c", MINIMAL_APP], env, repeat)
    stack_t, stack_mb = _measure([sys.executable, "-c", STACK_APP], env, repeat)
    label = f"{sandboxes // 1000}k sandboxes + {volumes:,} volumes"
    results = [
        Result("startup: minimal app + stack imports", stack_t, "minimal Textual app", minimal_t, None,
               note="what the libraries alone cost"),
        Result("peak RSS: minimal app + stack imports", stack_mb, "minimal Textual app", minimal_mb, None,
               unit="MB"),
    ]
    for screen in ("sandboxes", "volumes", "config"):
        empty_t, empty_mb = _measure(tui(empty, screen), env, repeat)
        large_t, large_mb = _measure(tui(large, screen), env, repeat)
        results += [
            Result(f"startup to {screen} screen: empty home", empty_t, "minimal Textual app", minimal_t, 2.0,
                   note=f"{empty_t / stack_t:.2f}x minimal app + stack"),
            Result(f"startup to {screen} screen: {label}", large_t, "same screen, empty home", empty_t, 1.3),
            Result(f"peak RSS, {screen} screen: empty home", empty_mb, "minimal Textual app", minimal_mb, 2.0,
                   unit="MB", note=f"{empty_mb / stack_mb:.2f}x minimal app + stack"),
            Result(f"peak RSS, {screen} screen: {label}", large_mb, "same screen, empty home + 60 MB", empty_mb,
                   (empty_mb + 60) / empty_mb, unit="MB", note=f"+{large_mb - empty_mb:.0f} MB"),
        ]
    return results
