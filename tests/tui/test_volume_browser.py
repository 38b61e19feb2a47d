"""Pilot tests of the volume list: rows, usage scans, flags, filter, sort, copy, create and remove."""

from __future__ import annotations

import shutil
from pathlib import Path

from textual.widgets import Button, Input, Select

from backend.demo import DEMO_DISK_VOLUME
from tests.tui.support import make_app, settle, static_text
from tests.tui.volume_browser_helpers import browser_screen, loaded, notifications, select, shown_names
from tui.modals.confirm import ConfirmModal
from tui.screens.volumes.modals import CreateVolumeModal
from tui.screens.volumes.table import VolumeFilter


def has_disk_volume(home: Path) -> bool:
    return (home / "volumes" / DEMO_DISK_VOLUME[0] / "disk.raw").exists()


async def test_lists_every_volume_with_usage_from_a_scan_and_who_mounts_it(demo_home: Path) -> None:
    app = make_app(demo_home, initial_screen="volumes")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await loaded(pilot)
        expected = ["build-cache", "ml-models", "project-data", "scratch"]
        if has_disk_volume(demo_home):
            expected.insert(2, "pg-disk")
        assert shown_names(screen) == expected
        models = screen.usages["ml-models"].usage
        assert models is not None and models.complete
        assert models.files == 4 and models.apparent_bytes >= 3 * 1024 * 1024
        project = next(r for r in screen.rows if r.name == "project-data")
        writers = {m.sandbox for m in project.ref.running_writers} if project.ref else set()
        assert writers == {"api-server"} and "writer" in project.flags
        mounts = {(m.sandbox, m.readonly) for m in project.mounts}
        assert mounts >= {("web-frontend", True), ("etl-nightly", False)}
        assert "used" in [c.key for c in screen.table.columns]
        models_row = next(r for r in screen.rows if r.name == "ml-models")
        assert screen.table.used_cell(models_row).plain.endswith(" 3.1 MiB")
        summary = static_text(screen.query_one("#summary-counts"))
        assert summary.startswith(f"{len(expected)} volumes")
        assert "mounted but unknown: old-exports" in summary


async def test_missing_folders_and_orphan_folders_are_flagged(demo_home: Path) -> None:
    shutil.rmtree(demo_home / "volumes" / "scratch")
    (demo_home / "volumes" / "leftover").mkdir()
    (demo_home / "volumes" / "leftover" / "data.txt").write_text("still here\n")
    app = make_app(demo_home, initial_screen="volumes")
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        screen = await loaded(pilot)
        rows = {r.name: r for r in screen.rows}
        assert rows["scratch"].flags == ("missing",)
        assert rows["leftover"].kind == "orphan" and rows["leftover"].flags == ("orphan",)
        leftover = screen.usages["leftover"].usage
        assert leftover is not None and leftover.files == 1  # an orphan folder is scanned too
        await select(pilot, "scratch")
        assert "is missing" in static_text(screen.query_one("#volume-detail-body"))
        await pilot.press("enter")
        await settle(pilot)
        assert screen.view == "list" and any("missing" in m for m in notifications(app))
        await select(pilot, "leftover")
        await pilot.press("x")  # an orphan folder has no row: remove explains instead of acting
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmModal)
        assert any("no catalog row" in m for m in notifications(app))


async def test_filter_by_words_kind_label_user_and_flag(demo_home: Path) -> None:
    app = make_app(demo_home, initial_screen="volumes")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await loaded(pilot)
        await pilot.press("slash")
        box = screen.query_one("#filter", Input)
        assert box.display and box.has_focus
        await pilot.press(*"label:team=ml")
        await settle(pilot)
        assert shown_names(screen) == ["ml-models"]
        box.value = "by:web-frontend"
        await settle(pilot)
        assert shown_names(screen) == ["project-data"]
        box.value = "!kind:dir"
        await settle(pilot)
        assert all(r.kind != "dir" for r in screen.shown)
        box.value = "flag:writer data"
        await settle(pilot)
        assert shown_names(screen) == ["project-data"]
        box.value = "kind:floppy"
        await settle(pilot)
        assert box.has_class("-invalid") and "unknown kind" in str(box.tooltip)
        await pilot.press("escape")
        await settle(pilot)
        assert not box.display and len(screen.shown) == len(screen.rows)


def test_filter_parser_rejects_unknown_keys() -> None:
    cases = (("colour:red", "unknown filter key"), ('"open', "unbalanced"), ("flag:big", "unknown flag"))
    for text, message in cases:
        try:
            VolumeFilter.parse(text)
        except ValueError as exc:
            assert message in str(exc)
        else:
            raise AssertionError(f"{text!r} was accepted")


async def test_sort_by_any_column_with_keys_and_header_clicks(demo_home: Path) -> None:
    app = make_app(demo_home, initial_screen="volumes")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await loaded(pilot)
        view = screen.list_view
        assert view.sort_key == "name" and shown_names(screen) == sorted(shown_names(screen))
        await pilot.press("s", "s")  # name -> kind -> used
        await settle(pilot)
        assert view.sort_key == "used" and view.descending
        used = [screen.usages[n].usage.allocated_bytes for n in shown_names(screen)]  # type: ignore[union-attr]
        assert used == sorted(used, reverse=True)
        await pilot.press("S")
        await settle(pilot)
        assert shown_names(screen)[0] == "scratch"  # the smallest first
        await pilot.click("#volume-table", offset=(2, 0))  # the NAME header
        await settle(pilot)
        assert view.sort_key == "name" and shown_names(screen)[0] == "build-cache"


async def test_select_volume_from_the_app_moves_the_cursor(demo_home: Path) -> None:
    app = make_app(demo_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.show_volume("scratch")
        screen = await loaded(pilot)
        assert app.current_mode == "volumes"
        row = screen.selected()
        assert row is not None and row.name == "scratch"
        assert "owner=nobody" in static_text(screen.query_one("#volume-detail-body"))


async def test_copy_puts_the_host_path_and_the_name_on_the_clipboard(demo_home: Path) -> None:
    app = make_app(demo_home, initial_screen="volumes")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await loaded(pilot)
        await select(pilot, "ml-models")
        await pilot.press("y")
        assert app.clipboard == str(demo_home / "volumes" / "ml-models")
        await pilot.press("Y")
        assert app.clipboard == "ml-models"


async def test_create_volume_validates_inline_and_creates(demo_home: Path) -> None:
    app = make_app(demo_home, initial_screen="volumes")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        screen = await loaded(pilot)
        await pilot.press("n")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, CreateVolumeModal)
        name = modal.query_one("#volume-name", Input)
        create = modal.query_one("#create", Button)
        error = modal.query_one("#create-error")
        await pilot.press(*"-bad")
        await settle(pilot)
        assert create.disabled and name.has_class("-invalid")
        assert "must start with an alphanumeric character" in static_text(error)
        name.value = "ml-models"
        await settle(pilot)
        assert create.disabled and "volume already exists: ml-models" in static_text(error)
        name.value = "fresh"
        modal.query_one("#volume-kind", Select).value = "disk"
        await settle(pilot)
        assert create.disabled and "require .size" in static_text(error)
        modal.query_one("#volume-size", Input).value = "64M"
        await settle(pilot)
        assert create.disabled and "at least 67 MiB" in static_text(error)
        modal.query_one("#volume-size", Input).value = "1.5X"
        await settle(pilot)
        assert "invalid size" in static_text(error)
        modal.query_one("#volume-kind", Select).value = "dir"
        modal.query_one("#volume-size", Input).value = "2G"
        modal.query_one("#volume-labels", Input).value = "team=qa, scratch"
        await settle(pilot)
        assert not create.disabled and static_text(error) == ""
        await pilot.click("#create")
        screen = await loaded(pilot)
        assert not isinstance(app.screen, CreateVolumeModal)
        info = await app.backend.volumes().get("fresh")
        assert info.kind == "dir" and info.quota_mib == 2048
        assert info.labels == (("team", "qa"), ("scratch", ""))
        assert (demo_home / "volumes" / "fresh").is_dir()
        selected = screen.selected()
        assert selected is not None and selected.name == "fresh"


async def test_create_volume_shows_a_backend_error_in_the_dialog(demo_home: Path) -> None:
    (demo_home / "volumes" / "taken").mkdir()  # a folder with no row: only the backend knows at create time
    app = make_app(demo_home, initial_screen="volumes")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await loaded(pilot)
        # As if the folder had appeared after the list was read.
        screen.list_view.rows = [r for r in screen.rows if r.name != "taken"]
        await pilot.press("n")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, CreateVolumeModal)
        modal.existing.discard("taken")
        modal.query_one("#volume-name", Input).value = "taken"
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is modal, "the dialog stays open"
        assert "no volume row names it" in static_text(modal.query_one("#create-error"))
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, CreateVolumeModal)


async def test_remove_volume_names_the_mounting_sandboxes_and_needs_the_typed_name(demo_home: Path) -> None:
    app = make_app(demo_home, initial_screen="volumes")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        screen = await loaded(pilot)
        await select(pilot, "build-cache")
        await pilot.press("x")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, ConfirmModal) and modal.typed_name == "build-cache"
        text = "\n".join(modal.lines)
        assert "mounted by sandbox api-server (RUNNING," in text
        assert "builder-x86 (crashed," in text and "ci-runner-7 (RUNNING," in text
        assert "3 files" in text
        assert modal.query_one("#confirm", Button).disabled and modal.focused is modal.query_one("#cancel")
        await pilot.press("enter")  # Enter on the focused Cancel
        await settle(pilot)
        assert (demo_home / "volumes" / "build-cache").exists()
        await pilot.press("x")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, ConfirmModal)
        modal.query_one("#confirm-input", Input).value = "build-cache"
        await settle(pilot)
        await pilot.click("#confirm")
        screen = await loaded(pilot)
        # microsandbox (0.5.10+) refuses to remove a volume a running sandbox mounts, and so do we.
        assert "build-cache" in shown_names(screen)
        assert (demo_home / "volumes" / "build-cache").exists()
        assert any('volume "build-cache" is attached to active sandbox "api-server"' in n for n in notifications(app))


async def test_read_only_refuses_create_and_remove(demo_home: Path) -> None:
    app = make_app(demo_home, read_only=True, initial_screen="volumes")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        screen = await loaded(pilot)
        assert len(screen.rows) >= 4, "read-only still lists and scans"
        await pilot.press("n")
        await settle(pilot)
        assert app.screen is screen
        await select(pilot, "scratch")
        await pilot.press("x")
        await settle(pilot)
        assert app.screen is screen
        refused = [m for m in notifications(app) if "read-only" in m.lower()]
        assert len(refused) == 2
        assert (demo_home / "volumes" / "scratch").is_dir()
        # The key stays (so the refusal can say why); only the guard refuses.
        assert browser_screen(app).check_action("remove_volume", ()) is True
