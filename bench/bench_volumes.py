"""Volumes: ``list()`` and ``create()`` against the microsandbox SDK, ``usage()`` against ``du -sb``.

- list: a home with 2,000 volumes (made by our ``create``: a mix of dir and disk rows, some with
  labels), ``Volumes.list()`` against the SDK's ``Volume.list()`` on the same home. The label cache
  is emptied before every timed call, so nothing parsed earlier is reused.
- create: 200 directory volumes each, ours into one fresh home and the SDK's into another; the median
  of one call.
- usage: a directory volume holding 100,000 files in 1,100 folders (quick: 20,000), warm page cache,
  ``Volumes.usage()`` (apparent and allocated bytes, counts, per-folder tree; GNU find does the walk)
  against ``du -sb`` (apparent bytes only), the ``du`` process start included. The two alternate, call
  by call, so that both see the same load on a shared machine. The Python walk (the fallback where
  find is unusable) and a bare ``scandir`` + ``lstat`` loop that records nothing are timed too, to
  show what any Python scan costs on the same files.

The SDK side runs in a subprocess that imports the SDK, warms up, and times only the calls with
``time.perf_counter``, printing the median; it is skipped with a note when the SDK is not importable.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

from backend.local import LocalBackend
from backend.volumes.usage import Usage, walk_usage
from backend.volumes.models import VolumeConfig
from backend.volumes.service import _labels_from_json
from bench.common import Result, measure

SDK_SCRIPT = r"""
import asyncio, json, statistics, sys, time
import microsandbox as msb

async def main(mode, count):
    samples = []
    if mode == "list":
        await msb.Volume.list()
        for _ in range(count):
            start = time.perf_counter()
            await msb.Volume.list()
            samples.append(time.perf_counter() - start)
    else:
        await msb.Volume.create("sdk-warm-up")
        for index in range(count):
            start = time.perf_counter()
            await msb.Volume.create(f"sdk-{index}")
            samples.append(time.perf_counter() - start)
    print(json.dumps({"median": statistics.median(samples)}))

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


def _sdk_missing() -> str | None:
    if importlib.util.find_spec("microsandbox") is None:
        return "SDK not importable"
    return None


def _sdk_median(home: Path, mode: str, count: int) -> tuple[float | None, str]:
    missing = _sdk_missing()
    if missing:
        return None, missing
    env = {**os.environ, "MSB_HOME": str(home)}
    env.pop("MSB_CONFIG_PATH", None)
    result = subprocess.run([sys.executable, "-c", SDK_SCRIPT, mode, str(count)], env=env,
                            capture_output=True, text=True, timeout=600, check=False)
    if result.returncode != 0:
        return None, f"SDK failed: {result.stderr.strip().splitlines()[-1:]}"
    return float(json.loads(result.stdout)["median"]), ""


def _backend(home: Path) -> LocalBackend:
    return LocalBackend.builder().home(home).config_file(home / "config.json").build_lazy()


async def _fill(home: Path, count: int) -> None:
    backend = _backend(home)
    try:
        volumes = backend.volumes()
        for index in range(count):
            if index % 10 == 0:
                config = VolumeConfig.disk(f"disk-{index:05d}", capacity_mib=100)
            else:
                labels = [("team", f"t{index % 7}"), ("env", "dev")] if index % 3 == 0 else []
                config = VolumeConfig.directory(f"vol-{index:05d}", quota_mib=index % 500 or None, labels=labels)
            await volumes.create(config)
    finally:
        await backend.close()


async def _ours_list(home: Path, repeat: int) -> tuple[float, int]:
    backend = _backend(home)
    try:
        volumes = backend.volumes()
        listed = await volumes.list()
        samples = []
        for _ in range(repeat):
            _labels_from_json.cache_clear()
            start = time.perf_counter()
            await volumes.list()
            samples.append(time.perf_counter() - start)
        return statistics.median(samples), len(listed)
    finally:
        await backend.close()


async def _ours_create(home: Path, count: int) -> float:
    backend = _backend(home)
    try:
        volumes = backend.volumes()
        await volumes.create(VolumeConfig("ours-warm-up"))
        samples = []
        for index in range(count):
            start = time.perf_counter()
            await volumes.create(VolumeConfig(f"ours-{index}"))
            samples.append(time.perf_counter() - start)
        return statistics.median(samples)
    finally:
        await backend.close()


def _make_files(root: Path, files: int) -> None:
    per_folder = 100
    for index in range(files):
        folder = root / f"d{index // 1000:03d}" / f"e{(index // per_folder) % 10}"
        if index % per_folder == 0:
            folder.mkdir(parents=True, exist_ok=True)
        with open(folder / f"f{index % per_folder}", "wb") as handle:
            handle.write(b"x" * ((index * 37) % 4000))


def _du(folder: Path) -> int:
    done = subprocess.run(["du", "-sb", str(folder)], capture_output=True, text=True, check=True)
    return int(done.stdout.split()[0])


async def _usage_against_du(home: Path, folder: Path, repeat: int) -> tuple[float, float | None, Usage, int]:
    """Medians of ``Volumes.usage()`` and of ``du -sb``, called in turn; the usage and du's total."""
    backend = _backend(home)
    has_du = shutil.which("du") is not None
    try:
        volumes = backend.volumes()
        usage = await volumes.usage("files")
        du_total = _du(folder) if has_du else 0
        ours, theirs = [], []
        for _ in range(repeat):
            start = time.perf_counter()
            await volumes.usage("files")
            ours.append(time.perf_counter() - start)
            if has_du:
                start = time.perf_counter()
                _du(folder)
                theirs.append(time.perf_counter() - start)
        return statistics.median(ours), statistics.median(theirs) if has_du else None, usage, du_total
    finally:
        await backend.close()


def _bare_scan(folder: Path, repeat: int) -> float:
    """The least any Python scan can do: ``scandir`` and one ``lstat`` per entry, nothing recorded."""

    def walk() -> int:
        total, stack = 0, [str(folder)]
        while stack:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    else:
                        total += entry.stat(follow_symlinks=False).st_size
        return total

    return measure(walk, repeat=repeat)


def run(workdir: Path, quick: bool) -> list[Result]:
    """Run the three comparisons; see the module docstring."""
    results: list[Result] = []
    repeat = 15  # a list call takes ~20 ms: enough samples for a stable median even in quick mode

    list_home = workdir / "list-home"
    list_home.mkdir()
    asyncio.run(_fill(list_home, 2000))
    ours_list, count = asyncio.run(_ours_list(list_home, repeat))
    sdk_list, note = _sdk_median(list_home, "list", repeat)
    results.append(Result(f"volumes list() of {count}", ours_list, "SDK Volume.list()", sdk_list, 1.0,
                          note=note))

    ours_home, sdk_home = workdir / "create-ours", workdir / "create-sdk"
    ours_home.mkdir()
    sdk_home.mkdir()
    ours_create = asyncio.run(_ours_create(ours_home, 200))
    sdk_create, note = _sdk_median(sdk_home, "create", 200)
    results.append(Result("volumes create() dir, 200", ours_create, "SDK Volume.create()", sdk_create, 1.5,
                          note=note))

    files = 20_000 if quick else 100_000
    usage_home = workdir / "usage-home"
    usage_home.mkdir()

    async def make_volume() -> Path:
        backend = _backend(usage_home)
        try:
            return (await backend.volumes().create(VolumeConfig("files"))).path
        finally:
            await backend.close()

    folder = asyncio.run(make_volume())
    _make_files(folder, files)
    repeat = 5 if quick else 7
    ours_usage, du_s, usage, du_total = asyncio.run(_usage_against_du(usage_home, folder, repeat))
    if du_s is None:
        note = "du not installed"
    elif usage.apparent_bytes != du_total or usage.files != files:
        note = f"totals differ: {usage.apparent_bytes} vs {du_total}"
    else:
        note = f"walked by {usage.scanner}"
    results.append(Result(f"volumes usage() {files} files", ours_usage, "du -sb", du_s, 1.3, note=note))
    if du_s is not None:
        walk_s = measure(lambda: walk_usage(folder), repeat=3 if quick else 5)
        results.append(Result(f"usage() Python walk (fallback), {files} files", walk_s, "du -sb", du_s, None,
                              note="where GNU find is unusable"))
        bare_s = _bare_scan(folder, 3 if quick else 5)
        results.append(Result(f"bare Python scandir+lstat loop, {files} files", bare_s, "du -sb", du_s, None,
                              note=f"the floor for any Python scan; the walk is {walk_s / bare_s:.2f}x it"))
    with sqlite3.connect(list_home / "db" / "msb.db") as conn:  # sanity: rows are what microsandbox reads
        assert conn.execute("SELECT count(*) FROM volume").fetchone()[0] == 2000
    return results
