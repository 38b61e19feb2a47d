"""Snapshots of the volume browser at 80x24 and 120x40, on the fixed demo home.

File times and modes in the copied home are set to fixed values first (the demo writes them at build
time), so ages and modes on screen do not depend on when or where the tests run. Sizes on disk assume
a file system with 4 KiB blocks and 4 KiB folders (ext4, as on the CI runners).
"""

from __future__ import annotations

import os
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from tests.tui.support import FIXED_NOW, make_app, settle
from tests.tui.volume_browser_helpers import (
    cursor_to,
    enter_folder,
    loaded,
    open_volume,
    select,
    write_into_image,
)

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
FILE_TIME = (FIXED_NOW - timedelta(hours=3)).timestamp()


@pytest.fixture
def volumes_home(demo_home: Path) -> Path:
    """The demo home with every volume entry's time and mode fixed, and the disk image sparse again."""
    image = demo_home / "volumes" / "pg-disk" / "disk.raw"
    if image.exists():
        make_sparse(image)
    fix_times_and_modes(demo_home / "volumes")
    return demo_home


def make_sparse(path: Path, block: int = 4096) -> None:
    """Rewrite ``path`` with holes where whole blocks are zero (copying the demo home filled them in)."""
    temp = path.with_name(path.name + ".sparse")
    zero = bytes(block)
    with path.open("rb") as source, temp.open("wb") as target:
        while chunk := source.read(block):
            if chunk == zero[: len(chunk)]:
                target.seek(len(chunk), os.SEEK_CUR)
            else:
                target.write(chunk)
        target.truncate()
    temp.replace(path)


def fix_times_and_modes(volumes: Path) -> None:
    for folder, dirs, files in os.walk(volumes, topdown=False):
        for name in files:
            path = Path(folder) / name
            if path.is_file() and not path.is_symlink():
                path.chmod(0o644)
            os.utime(path, (FILE_TIME, FILE_TIME), follow_symlinks=False)
        for name in dirs:
            path = Path(folder) / name
            if not path.is_symlink():
                path.chmod(0o755)
                os.utime(path, (FILE_TIME, FILE_TIME))


def add_hostile_names(home: Path) -> None:
    scratch = home / "volumes" / "scratch"
    (scratch / "new\nline.txt").write_text("two\nlines\n")
    (scratch / "\x1b[31mred.txt").write_text("\x1b[2Jwipe the screen\x07\n")
    (scratch / os.fsdecode(b"latin-\xe9t\xe9.txt")).write_bytes(b"caf\xe9\n")
    (scratch / "\u202etxt.exe").write_text("bidi override\n")
    os.mkfifo(scratch / "a-fifo")
    os.symlink("/etc/passwd", scratch / "escape-link")
    fix_times_and_modes(scratch)


def _app(home: Path, **kwargs: Any) -> Any:
    return make_app(home, initial_screen="volumes", **kwargs)


@pytest.mark.parametrize("size", SIZES)
def test_volume_list(snap_compare: Any, volumes_home: Path, size: tuple[int, int]) -> None:
    """Every demo volume with its usage bar, files, age, labels and users; project-data selected:
    its mounts (api-server writes to it while running: the ! flag and the warning)."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        await select(pilot, "project-data")

    assert snap_compare(_app(volumes_home), terminal_size=size, run_before=run_before)


def test_flags_for_missing_and_orphan_folders(snap_compare: Any, volumes_home: Path) -> None:
    """scratch's folder is gone (✖) and `leftover` is a folder no row names (?), sorted by flags."""
    shutil.rmtree(volumes_home / "volumes" / "scratch")
    (volumes_home / "volumes" / "leftover").mkdir()
    (volumes_home / "volumes" / "leftover" / "notes.txt").write_text("kept\n")
    fix_times_and_modes(volumes_home / "volumes" / "leftover")

    async def run_before(pilot: Pilot[Any]) -> None:
        screen = await loaded(pilot)
        await pilot.click("#volume-table", offset=(screen.size.width - 3, 0))  # the FLAG header
        await settle(pilot)
        await select(pilot, "scratch")

    assert snap_compare(_app(volumes_home), terminal_size=(120, 40), run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_folder_listing_with_preview(snap_compare: Any, volumes_home: Path, size: tuple[int, int]) -> None:
    """project-data › api › uploads › 2026 › 11: sizes apparent and on disk, bars, modes;
    report.csv previewed (its head and tail)."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        browser = await open_volume(pilot, "project-data")
        await enter_folder(pilot, browser, "api", "uploads", "2026", "11")
        await cursor_to(pilot, browser, "report.csv")

    assert snap_compare(_app(volumes_home), terminal_size=size, run_before=run_before)


def test_top_folder_sorted_by_size(snap_compare: Any, volumes_home: Path) -> None:
    """The top of project-data, largest first, with the running-writer banner; settings.json is
    not here, so api/ is selected and previewed as a folder."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        browser = await open_volume(pilot, "project-data")
        await cursor_to(pilot, browser, "api")

    assert snap_compare(_app(volumes_home), terminal_size=(80, 24), run_before=run_before)


def test_json_preview(snap_compare: Any, volumes_home: Path) -> None:
    """api/settings.json pretty-printed and highlighted."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        browser = await open_volume(pilot, "project-data")
        await enter_folder(pilot, browser, "api")
        await cursor_to(pilot, browser, "settings.json")

    assert snap_compare(_app(volumes_home), terminal_size=(120, 40), run_before=run_before)


def test_binary_preview(snap_compare: Any, volumes_home: Path) -> None:
    """site/assets/logo.png shown as a hex dump."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        browser = await open_volume(pilot, "project-data")
        await enter_folder(pilot, browser, "site", "assets")
        await cursor_to(pilot, browser, "logo.png")

    assert snap_compare(_app(volumes_home), terminal_size=(80, 24), run_before=run_before)


def test_hostile_names_are_escaped(snap_compare: Any, volumes_home: Path) -> None:
    """scratch with a newline, an escape sequence, Latin-1 bytes and a bidi override in names, a FIFO
    (|) and a symlink (@): every name on one line, escaped; the escape-sequence file's content shown
    with visible control symbols."""
    add_hostile_names(volumes_home)

    async def run_before(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        browser = await open_volume(pilot, "scratch")
        await cursor_to(pilot, browser, "\x1b[31mred.txt")

    assert snap_compare(_app(volumes_home), terminal_size=(80, 24), run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_create_volume_dialog(snap_compare: Any, volumes_home: Path, size: tuple[int, int]) -> None:
    """n: the create dialog with a disk size too small; the backend's message under the form."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        await pilot.press("n")
        await settle(pilot)
        screen = pilot.app.screen
        screen.query_one("#volume-name", Input).value = "pg-archive"
        from textual.widgets import Select

        screen.query_one("#volume-kind", Select).value = "disk"
        screen.query_one("#volume-size", Input).value = "64M"
        screen.query_one("#volume-labels", Input).value = "app=db"
        await settle(pilot)

    assert snap_compare(_app(volumes_home), terminal_size=size, run_before=run_before)


def test_remove_volume_confirmation(snap_compare: Any, volumes_home: Path) -> None:
    """x on build-cache: what goes (from the scan), the three sandboxes that mount it, the typed name."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        await select(pilot, "build-cache")
        await pilot.press("x")
        await settle(pilot)

    assert snap_compare(_app(volumes_home), terminal_size=(80, 24), run_before=run_before)


def test_delete_folder_confirmation(snap_compare: Any, volumes_home: Path) -> None:
    """x on site/: the counts and the entries that would go, and the folder's name to type."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        browser = await open_volume(pilot, "project-data")
        await cursor_to(pilot, browser, "site")
        await pilot.press("x")
        await settle(pilot)

    assert snap_compare(_app(volumes_home), terminal_size=(80, 24), run_before=run_before)


def test_disk_volume_inside_its_image(snap_compare: Any, volumes_home: Path) -> None:
    """pg-disk: the ext4 image read with debugfs -c (capacity, allocated, used inside); its files listed
    by name with their sizes, postgresql.conf previewed."""
    if not (volumes_home / "volumes" / "pg-disk" / "disk.raw").exists() or not shutil.which(
            "debugfs", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin"):
        pytest.skip("needs mkfs.ext4 and debugfs (e2fsprogs)")

    write_into_image(volumes_home / "volumes" / "pg-disk" / "disk.raw", ["base", "base/1"],
                     {"PG_VERSION": b"17\n",
                      "postgresql.conf": b"# demo\nlisten_addresses = '*'\nport = 5432\n"})

    async def run_before(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        browser = await open_volume(pilot, "pg-disk")
        await cursor_to(pilot, browser, "postgresql.conf")

    assert snap_compare(_app(volumes_home), terminal_size=(80, 24), run_before=run_before)
