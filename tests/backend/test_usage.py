"""Usage scans: figures that match du, hard links once, symlinks never followed, progress, cancel.

Each behaviour is checked for both walks: GNU find (the usual one) and the Python fallback.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import sqlite3
import threading
from pathlib import Path

import pytest

from backend import LocalBackend
from backend.volumes.models import VolumeConfig
from backend.volumes.usage import ChildSize, UsageProgress, child_sizes, scan_usage
from tests.backend.usage_support import SCANNERS, du, make_tree, use_scanner


@pytest.fixture(params=SCANNERS)
def scanner(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The walk the test runs with: ``find`` or ``python``."""
    name: str = request.param
    use_scanner(monkeypatch, name)
    return name


@pytest.mark.skipif(shutil.which("du") is None, reason="du is not installed")
def test_totals_match_du(tmp_path: Path, scanner: str) -> None:
    make_tree(tmp_path / "t")
    os.link(tmp_path / "t" / "d0" / "top.txt", tmp_path / "t" / "d1" / "hardlink")
    os.link(tmp_path / "t" / "d0" / "top.txt", tmp_path / "t" / "d0" / "inner" / "hardlink2")
    os.symlink("/etc", tmp_path / "t" / "link")
    (tmp_path / "t" / "empty" / "emptier").mkdir(parents=True)
    with open(tmp_path / "t" / "sparse", "wb") as handle:
        handle.truncate(50 * 1024 * 1024)
        handle.seek(10 * 1024 * 1024)
        handle.write(b"z" * 10_000)
    usage = scan_usage(tmp_path / "t")
    assert usage.scanner == scanner
    assert usage.complete and usage.errors == 0
    assert usage.apparent_bytes == du(["-sb"], tmp_path / "t")
    assert usage.allocated_bytes == du(["-sB1"], tmp_path / "t")
    assert usage.files == 5 * 41 + 2  # the hard links count once; the symlink and sparse file count
    assert usage.dirs == 12


def test_tree_has_subtree_totals_per_folder(tmp_path: Path, scanner: str) -> None:
    make_tree(tmp_path / "t", dirs=2, files=3)
    usage = scan_usage(tmp_path / "t")
    assert usage.scanner == scanner
    assert usage.tree is not None
    d0 = usage.tree.find(("d0",))
    inner = usage.tree.find(("d0", "inner"))
    assert d0 is not None and inner is not None and usage.tree.find(("nope",)) is None
    inner_own = os.stat(tmp_path / "t" / "d0" / "inner").st_size
    assert inner.apparent_bytes == inner_own + sum(f * 101 for f in range(3))
    assert inner.files == 3 and inner.dirs == 0 and inner.complete
    assert d0.apparent_bytes == inner.apparent_bytes + 5000 + os.stat(tmp_path / "t" / "d0").st_size
    assert d0.files == 4 and d0.dirs == 1
    assert sum(c.apparent_bytes for c in usage.tree.children.values()) + os.stat(tmp_path / "t").st_size \
        == usage.apparent_bytes
    walked = [p for p, _ in usage.tree.walk()]
    assert sorted(walked) == ["/", "/d0", "/d0/inner", "/d1", "/d1/inner"]
    assert walked.index("/d0") < walked.index("/d0/inner")  # parents first


def test_symlinks_to_folders_are_not_followed(tmp_path: Path, scanner: str) -> None:
    big = tmp_path / "big"
    big.mkdir()
    (big / "data").write_bytes(b"z" * 100_000)
    scanned = tmp_path / "scanned"
    scanned.mkdir()
    os.symlink(big, scanned / "to-big")
    usage = scan_usage(scanned)
    assert usage.scanner == scanner
    assert usage.apparent_bytes < 100_000
    assert usage.files == 1 and usage.dirs == 0


def test_progress_is_reported_and_cancel_returns_partial_figures(tmp_path: Path, scanner: str) -> None:
    make_tree(tmp_path / "t", dirs=30, files=100)
    full = scan_usage(tmp_path / "t")
    cancel = threading.Event()
    reports: list[UsageProgress] = []

    def on_progress(progress: UsageProgress) -> None:
        reports.append(progress)
        if progress.dirs >= 10:
            cancel.set()

    partial = scan_usage(tmp_path / "t", progress=on_progress, cancel=cancel, interval_s=0)
    assert partial.scanner == full.scanner == scanner
    assert not partial.complete
    assert 0 < partial.files < full.files
    assert 0 < partial.apparent_bytes < full.apparent_bytes
    assert partial.tree is not None and not partial.tree.complete
    assert reports and reports[-1].files == partial.files
    assert all(a.files <= b.files for a, b in itertools.pairwise(reports))
    done = [node for _, node in partial.tree.walk() if node.complete]
    assert done and all(node.files > 0 for node in done if node.name == "inner")


def test_cancel_before_start_gives_an_incomplete_empty_scan(tmp_path: Path, scanner: str) -> None:
    make_tree(tmp_path / "t", dirs=2, files=2)
    cancel = threading.Event()
    cancel.set()
    usage = scan_usage(tmp_path / "t", cancel=cancel)
    assert usage.scanner == scanner
    assert not usage.complete and usage.dirs == 0


def test_unreadable_folders_are_counted_as_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Python walk (find's own errors: test_usage_find.py, with real permissions)."""
    use_scanner(monkeypatch, "python")
    make_tree(tmp_path / "t", dirs=3, files=2)
    real_open = os.open

    def deny(path: object, flags: int, *args: object, **kwargs: object) -> int:
        if path == "d1":
            raise PermissionError(13, "Permission denied")
        return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("backend.volumes.usage.os.open", deny)
    usage = scan_usage(tmp_path / "t")
    assert usage.complete and usage.errors == 1
    assert usage.error_samples == ("/d1: Permission denied",)
    assert usage.files == 2 * 3
    assert usage.tree is not None
    d1 = usage.tree.children["d1"]  # it is still a folder of its own size, as du and find count it
    assert d1.errors == 1 and d1.files == 0 and d1.apparent_bytes == os.stat(tmp_path / "t" / "d1").st_size


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads folders whatever their mode")
def test_unreadable_folder_with_real_permissions(tmp_path: Path, scanner: str) -> None:
    make_tree(tmp_path / "t", dirs=2, files=2)
    os.chmod(tmp_path / "t" / "d0", 0)
    try:
        usage = scan_usage(tmp_path / "t")
    finally:
        os.chmod(tmp_path / "t" / "d0", 0o755)
    assert usage.errors >= 1


def test_child_sizes_reuse_the_tree_or_scan(tmp_path: Path, scanner: str) -> None:
    make_tree(tmp_path / "t", dirs=2, files=3)
    (tmp_path / "t" / "file").write_bytes(b"f" * 10)
    usage = scan_usage(tmp_path / "t")
    fd = os.open(tmp_path / "t", os.O_RDONLY | os.O_DIRECTORY)
    try:
        with_tree = {row.name: row for row in child_sizes(fd, usage.tree)}
        fresh = {row.name: row for row in child_sizes(fd)}
    finally:
        os.close(fd)
    assert with_tree == fresh
    assert with_tree["file"] == ChildSize("file", "file", 10, os.stat(tmp_path / "t" / "file").st_blocks * 512, 0)
    assert usage.tree is not None
    d0 = usage.tree.children["d0"]
    assert with_tree["d0"].apparent_bytes == d0.apparent_bytes and with_tree["d0"].items == 4 + 1


async def test_volume_usage_for_dir_and_disk_and_no_write_back(backend: LocalBackend) -> None:
    volumes = backend.volumes()
    await volumes.create(VolumeConfig("v"))
    await volumes.create(VolumeConfig.disk("d", capacity_mib=100))
    await volumes.fs_write("v", "a/b", b"q" * 3000)
    usage = await volumes.usage("v")
    assert usage.files == 1 and usage.dirs == 1 and usage.complete
    assert usage.apparent_bytes == 3000 + 2 * os.stat(backend.volumes_dir() / "v").st_size
    disk = await volumes.usage("d")
    assert disk.apparent_bytes == 100 * 1024 * 1024 and 0 < disk.allocated_bytes < 100 * 1024 * 1024
    with sqlite3.connect(backend.home() / "db" / "msb.db") as conn:
        assert conn.execute("SELECT size_bytes FROM volume").fetchall() == [(None,), (None,)]
    rows = await volumes.child_sizes("v", "", tree=usage.tree)
    assert [(r.name, r.items) for r in rows] == [("a", 1)]


async def test_cancelling_the_awaiting_task_stops_the_scan(backend: LocalBackend) -> None:
    volumes = backend.volumes()
    await volumes.create(VolumeConfig("many"))
    make_tree(volumes.root("many").folder, dirs=40, files=150)
    cancel, started, release = threading.Event(), threading.Event(), threading.Event()
    reports: list[UsageProgress] = []

    def on_progress(progress: UsageProgress) -> None:
        reports.append(progress)
        started.set()
        release.wait(5)

    task = asyncio.create_task(volumes.usage("many", progress=on_progress, cancel=cancel, interval_s=0))
    while not started.is_set():
        await asyncio.sleep(0.001)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cancel.is_set()
    release.set()
    for _ in range(500):  # the scan thread sends one last report when it stops
        if len(reports) >= 2:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    assert len(reports) == 2
    assert reports[-1].files < 40 * 151
