"""Another process creates and removes volumes and sandboxes in a loop while this backend lists, filters,
browses and (when writable) writes too. Neither side may see a failure caused by the other.

The other process is the published ``microsandbox==0.5.10`` SDK (``tests/interop/sdk_driver.py batch``)
where it is installed, and always our own stand-in (:mod:`tests.reliability.writer`), which is faster and
so makes more collisions. Races are expected and typed: a volume or sandbox removed between listing it
and opening it is "not found"; a row whose folder is not made yet is "folder missing". Anything else, in
particular any database error, fails the test.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import sqlite3
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from backend import LocalBackend, SandboxQuery
from backend.errors import (
    BackendError,
    DatabaseBusyError,
    FsNotFoundError,
    LogFileNotFoundError,
    SandboxNotFoundError,
    VolumeFolderMissingError,
    VolumeNotFoundError,
)
from backend.volumes.models import VolumeConfig

ROOT = Path(__file__).resolve().parents[2]
SDK_DRIVER = ROOT / "tests" / "interop" / "sdk_driver.py"
WRITER_SECONDS = 1.5
SDK_CYCLES = 30
#: Lost races, not failures: the other process removed (or has not finished making) the thing read.
RACES = (VolumeNotFoundError, SandboxNotFoundError, LogFileNotFoundError, VolumeFolderMissingError,
         FsNotFoundError)


@dataclass
class ReadStats:
    """What the reading side did while the writer ran."""

    rounds: int = 0
    calls: int = 0
    own_writes: int = 0
    races: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    volumes_seen: set[str] = field(default_factory=set)
    sandboxes_seen: set[str] = field(default_factory=set)


async def one_round(backend: LocalBackend, stats: ReadStats, *, write: bool) -> None:
    """List, filter and browse everything once, as the screens do; record races and errors."""
    volumes, sandboxes = backend.volumes(), backend.sandboxes()

    async def call(coro: object) -> object:
        stats.calls += 1
        try:
            return await coro  # type: ignore[misc]
        except RACES as exc:
            stats.races[type(exc).__name__] += 1
        except Exception as exc:  # noqa: BLE001 - every other error is a failure to report
            stats.errors.append(f"{type(exc).__name__}: {exc}")
        return None

    listed = await call(volumes.list()) or []
    await call(volumes.cross_refs())
    for info in listed[:2]:  # type: ignore[index]
        stats.volumes_seen.add(info.name)
        await call(volumes.fs_list(info.name, "data"))
        await call(volumes.fs_read(info.name, "data/file.txt"))
        await call(volumes.usage(info.name))
    page = await call(sandboxes.list(SandboxQuery.parse("label:team=ml status:stopped,running"), limit=50))
    await call(sandboxes.count(SandboxQuery.parse("c")))
    await call(sandboxes.counts_by_status())
    await call(sandboxes.window(SandboxQuery(sort="name", descending=False), 0, 20))
    for row in page.rows[:2] if page else ():  # type: ignore[attr-defined]
        stats.sandboxes_seen.add(row.name)
        if row.problems:
            stats.errors.append(f"row {row.name} read with problems: {row.problems}")
        await call(sandboxes.get(row.name))
        await call(sandboxes.log_files(row.name))
        await call(sandboxes.tail(row.name, "exec.log", 20))
    if write:
        name = f"ours-{stats.rounds}"
        await call(volumes.create(VolumeConfig(name)))
        await call(volumes.remove(name))
        stats.own_writes += 2
    stats.rounds += 1


async def read_until_done(backend: LocalBackend, process: asyncio.subprocess.Process, *, write: bool) -> ReadStats:
    stats = ReadStats()
    while process.returncode is None:
        await one_round(backend, stats, write=write)
        await asyncio.sleep(0)
    return stats


async def fresh_backend(home: Path, *, read_only: bool) -> LocalBackend:
    """Migrate the home with a writable backend first, then open the one under test."""
    writable = await LocalBackend.new()
    await writable.close()
    backend = LocalBackend.lazy(read_only=read_only)
    await backend.db()
    return backend


def assert_no_failures(stats: ReadStats) -> None:
    assert stats.errors == [], "the reading side saw failures:\n" + "\n".join(stats.errors[:20])
    assert stats.rounds >= 5 and stats.volumes_seen and stats.sandboxes_seen, stats


@pytest.mark.parametrize("mode", ["writable", "read-only"])
async def test_lists_and_browses_beside_a_busy_writer_process(home: Path, mode: str) -> None:
    backend = await fresh_backend(home, read_only=mode == "read-only")
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.reliability.writer", str(home), str(WRITER_SECONDS),
            cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        assert process.stdout is not None and process.stderr is not None
        assert (await asyncio.wait_for(process.stdout.readline(), 30)).strip() == b"ready"
        stats = await read_until_done(backend, process, write=mode == "writable")
        out, err = await process.communicate()
    finally:
        await backend.close()
    report = json.loads(out.decode().strip().splitlines()[-1])
    assert process.returncode == 0 and report["failures"] == [], (report, err.decode()[-2000:])
    assert report["cycles"] >= 10, report
    assert_no_failures(stats)
    print(f"\n[reliability] concurrent writer ({mode} reader): writer {report['cycles']} cycles / "
          f"{report['ops']} transactions / {report['busy_retries']} busy retries; reader {stats.rounds} rounds / "
          f"{stats.calls} calls / {stats.own_writes} own writes; lost races {dict(stats.races)}")


def sdk_commands(cycles: int) -> str:
    lines = []
    for i in range(cycles):
        lines += [f"volume-create sw{i} --label team=ml", f"volume-write sw{i} data/file.txt hello-{i}",
                  f"sandbox-create ss{i} --image /tmp --label team=ml"]
        if i >= 3:
            lines += [f"volume-remove sw{i - 3}", f"sandbox-remove ss{i - 3}"]
    return "\n".join(lines) + "\n"


@pytest.mark.skipif(importlib.util.find_spec("microsandbox") is None,
                    reason="the microsandbox==0.5.10 SDK is not installed (pip install -e '.[interop]')")
async def test_lists_and_browses_beside_the_microsandbox_sdk(home: Path) -> None:
    backend = await fresh_backend(home, read_only=False)
    commands = sdk_commands(SDK_CYCLES)
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable, str(SDK_DRIVER), "batch", env={**os.environ, "MSB_HOME": str(home)},
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        assert process.stdin is not None
        process.stdin.write(commands.encode())
        process.stdin.close()
        communicate = asyncio.ensure_future(process.communicate())
        stats = await read_until_done(backend, process, write=True)
        out, err = await communicate
    finally:
        await backend.close()
    results = [json.loads(line) for line in out.decode().splitlines() if line.strip()]
    failed = [r for r in results if r["exit"] != 0]
    assert len(results) == commands.count("\n") and failed == [], (failed[:5], err.decode()[-2000:])
    assert_no_failures(stats)
    print(f"\n[reliability] concurrent SDK writer: {len(results)} SDK operations, all succeeded; reader "
          f"{stats.rounds} rounds / {stats.calls} calls / {stats.own_writes} own writes; lost races "
          f"{dict(stats.races)}")


async def test_a_lock_held_past_the_busy_timeout_is_reported_then_cleared(home: Path) -> None:
    """A process holding the write lock longer than busy timeout plus retries: a volume create and a
    sandbox remove fail with "database busy" and leave nothing half done; once the lock goes, both work."""
    (home / "config.json").write_text('{"database": {"busy_timeout_secs": 0}}')
    backend = await LocalBackend.new()
    from tests.backend.sandbox_helpers import add_sandbox

    add_sandbox(home / "db" / "msb.db", "old", status="Stopped")
    (home / "sandboxes" / "old" / "logs").mkdir(parents=True)
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c",
        "import sqlite3, sys\n"
        f"c = sqlite3.connect({str(home / 'db' / 'msb.db')!r}, isolation_level=None)\n"
        "c.execute('BEGIN IMMEDIATE'); print('locked', flush=True); sys.stdin.readline()\n",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdin is not None
        assert (await asyncio.wait_for(holder.stdout.readline(), 30)).strip() == b"locked"
        with pytest.raises(DatabaseBusyError, match="database busy"):
            await backend.volumes().create(VolumeConfig("v"))
        assert not (home / "volumes" / "v").exists()
        with pytest.raises(DatabaseBusyError, match="database busy"):
            await backend.sandboxes().remove("old")
        assert (home / "sandboxes" / "old" / "logs").is_dir()
        assert [v.name for v in await backend.volumes().list()] == []  # reads go on meanwhile
        holder.stdin.write(b"release\n")
        await holder.wait()
        await backend.volumes().create(VolumeConfig("v"))
        await backend.sandboxes().remove("old")
        assert (home / "volumes" / "v").is_dir() and not (home / "sandboxes" / "old").exists()
    finally:
        if holder.returncode is None:
            holder.kill()
            await holder.wait()
        await backend.close()
    with sqlite3.connect(home / "db" / "msb.db") as conn:
        assert conn.execute("SELECT count(*) FROM sandbox").fetchone()[0] == 0
    conn.close()
    assert isinstance(DatabaseBusyError("x"), BackendError)


async def test_the_app_lists_filters_and_browses_beside_a_busy_writer(
    demo_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same writer against the running app: the sandbox list auto-refreshes every 0.2 s under a
    label filter, then the volume list is rescanned and a writer's volume opened while they come and go."""
    from backend.sandboxes.service import Sandboxes
    from backend.volumes.fs import VolumeRoot
    from backend.volumes.service import Volumes
    from tests.reliability.support import copy_home
    from tests.reliability.ui_support import goto
    from tests.reliability.ui_sweep import settle
    from tests.tui.support import make_app
    from tui.header_state import BackendState
    from tui.screens.sandboxes.table import SandboxTable

    calls: Counter[str] = Counter()
    for owner, name in ((Sandboxes, "window"), (Sandboxes, "count"), (Volumes, "list"),
                        (VolumeRoot, "open_dir_fd")):
        real = getattr(owner, name)

        def counted(*args: object, __real: object = real, __name: str = name, **kwargs: object) -> object:
            calls[__name] += 1
            return __real(*args, **kwargs)  # type: ignore[operator]

        monkeypatch.setattr(owner, name, counted)
    home = copy_home(demo_template, tmp_path / "home")
    monkeypatch.setenv("MSB_TUI_REFRESH_SECS", "0.2")
    app = make_app(home)
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        await settle(pilot)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.reliability.writer", str(home), "2",
            cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        assert process.stdout is not None
        assert (await asyncio.wait_for(process.stdout.readline(), 30)).strip() == b"ready"
        await goto(pilot, "volumes")
        screen: Any = app.screen_stack[0]
        for _ in range(4):  # rescan, open one of the writer's volumes (it may vanish meanwhile), back
            screen.action_rescan()  # the r key, without Pilot's wait for an idle CPU (scans keep it busy)
            await asyncio.sleep(0.15)
            await pilot.pause(0)
            names = [row.name for row in screen.shown]
            ours = [n for n in names if n.startswith("cw")]
            if ours and screen.view == "list":
                screen.table.move_cursor(names.index(ours[-1]))
                screen.open_selected_volume()
                await asyncio.sleep(0.15)
                await pilot.pause(0)
                screen.action_back_to_list()
        await goto(pilot, "sandboxes")
        await pilot.press("slash", *"label:team=ml", "enter")
        await asyncio.wait_for(process.wait(), 30)  # auto-refreshes under the filter meanwhile
        await settle(pilot, 1)
        listed_rows = app.screen.query_one(SandboxTable).total
        out, err = await process.communicate()
        await settle(pilot)
        errors = [(n.title, n.message) for n in app._notifications if n.severity == "error"]
        assert app.backend_state is BackendState.READY and app._exception is None
    report = json.loads(out.decode().strip().splitlines()[-1])
    assert process.returncode == 0 and report["failures"] == [], (report, err.decode()[-2000:])
    lost_races = ("not found", "missing", "no longer")
    assert [e for e in errors if not any(w in e[1] for w in lost_races)] == [], errors
    assert calls["count"] >= 3 and calls["list"] >= 3 and calls["open_dir_fd"] >= 1, calls
    assert listed_rows >= 1
    print(f"\n[reliability] concurrent writer vs the app: writer {report['cycles']} cycles / "
          f"{report['ops']} transactions; app {sum(calls.values())} catalog reads {dict(calls)}, no error")
