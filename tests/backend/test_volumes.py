"""Volume rows and folders: reference cases (section 8.4, D1-D4), isolation (33-34), bad input."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backend import LocalBackend, backend_scope, set_default_backend, swap_default_backend, with_backend
from backend.errors import (
    DiskImageError,
    DiskTooSmallError,
    FsUnsupportedError,
    InvalidConfigError,
    PathTraversalError,
    ReadOnlyError,
    ToolMissingError,
    VolumeAlreadyExistsError,
    VolumeFolderExistsError,
    VolumeNotFoundError,
    VolumeRemoveError,
    VolumeStorageError,
)
from backend.volumes.models import VolumeConfig

MIB = 1024 * 1024


def rows(home: Path) -> list[dict[str, object]]:
    with sqlite3.connect(home / "db" / "msb.db") as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM volume ORDER BY id")]


def run_tool(argv: list[str]) -> str | None:
    """stdout of a quick tool run, or None when it failed."""
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    return result.stdout if result.returncode == 0 else None


def make_backend(home: Path) -> LocalBackend:
    return LocalBackend.builder().home(home).build_lazy()


# -- D1: names ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", "-x", ".x", "a/b", "a b", "_x", "a\nb", "é", "a/../b", ".."])
async def test_invalid_names_are_refused_with_the_reference_message(backend: LocalBackend, name: str) -> None:
    with pytest.raises(InvalidConfigError) as caught:
        await backend.volumes().create(VolumeConfig(name))
    if name:
        assert str(caught.value) == (
            "invalid config: volume name must start with an alphanumeric character and contain only "
            f"alphanumeric characters, dots, hyphens, and underscores: {name}"
        )
    else:
        assert str(caught.value) == "invalid config: volume name must not be empty"
    assert rows(backend.home()) == []
    assert not backend.volumes_dir().exists()


@pytest.mark.parametrize("name", ["a.b-c_d", "A1", "a..b", "a.", "x" * 247])
async def test_valid_names_are_accepted(backend: LocalBackend, name: str) -> None:
    info = await backend.volumes().create(VolumeConfig(name))
    assert info.name == name
    assert (backend.volumes_dir() / name).is_dir()


async def test_a_name_too_long_for_the_file_system_is_a_clear_error(backend: LocalBackend) -> None:
    # Created as microsandbox does, in a staging folder `.<name>.XXXXXX`, which must fit NAME_MAX (255).
    with pytest.raises(InvalidConfigError, match="volume name is 248 bytes long.*at most 247 bytes"):
        await backend.volumes().create(VolumeConfig("x" * 248))
    assert rows(backend.home()) == []


# -- D2: kinds ---------------------------------------------------------------------------------


async def test_dir_with_size_disk_without_size_and_disk_with_quota_are_refused(backend: LocalBackend) -> None:
    volumes = backend.volumes()
    cases = {
        VolumeConfig("a", "dir", capacity_mib=100): "directory named volumes do not support .size(...) / --size",
        VolumeConfig("b", "disk"): "disk named volumes require .size(...) / --size",
        VolumeConfig("c", "disk", quota_mib=5, capacity_mib=100): "disk named volumes do not support .quota(...)",
    }
    for config, message in cases.items():
        with pytest.raises(InvalidConfigError) as caught:
            await volumes.create(config)
        assert caught.value.detail == message
    assert rows(backend.home()) == []


@pytest.mark.parametrize("bad", [-1, 2**31, True, 1.5, "10"])
async def test_out_of_range_quota_is_refused_before_anything_is_written(backend: LocalBackend,
                                                                         bad: object) -> None:
    with pytest.raises(InvalidConfigError, match="quota_mib must be a whole number"):
        await backend.volumes().create(VolumeConfig("q", quota_mib=bad))  # type: ignore[arg-type]
    assert rows(backend.home()) == []


async def test_dir_volume_row_matches_the_reference(backend: LocalBackend) -> None:
    before = datetime.now(UTC)
    info = await backend.volumes().create(VolumeConfig.directory("data", quota_mib=512))
    (row,) = rows(backend.home())
    assert row["name"] == "data" and row["kind"] == "dir" and row["quota_mib"] == 512
    assert row["size_bytes"] is None and row["labels"] is None
    assert row["capacity_bytes"] is None and row["disk_format"] is None and row["disk_fstype"] is None
    assert row["created_at"] == row["updated_at"]
    stored = datetime.strptime(str(row["created_at"]), "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)
    assert before - timedelta(seconds=1) <= stored <= datetime.now(UTC)
    assert info.created_at == stored and info.path == backend.volumes_dir() / "data"
    assert info.disk_path is None and info.used_bytes == 0
    assert os.listdir(info.path) == []


async def test_disk_volume_is_a_sparse_ext4_image_of_the_requested_size(backend: LocalBackend) -> None:
    info = await backend.volumes().create(VolumeConfig.disk("big", capacity_mib=1024))
    (row,) = rows(backend.home())
    assert (row["kind"], row["capacity_bytes"], row["disk_format"], row["disk_fstype"], row["quota_mib"]) == (
        "disk", 1073741824, "raw", "ext4", None)
    image = backend.volumes_dir() / "big" / "disk.raw"
    assert info.disk_path == image
    st = image.stat()
    assert st.st_size == 1024 * MIB
    assert st.st_blocks * 512 < 64 * MIB  # sparse
    assert os.listdir(image.parent) == ["disk.raw"]
    header = run_tool([shutil.which("dumpe2fs") or "/usr/sbin/dumpe2fs", "-h", str(image)])
    assert header is not None
    assert "Filesystem magic number:  0xEF53" in header
    assert "Block size:               4096" in header
    # Nothing is left over from the staging folder.
    assert sorted(os.listdir(backend.volumes_dir())) == [".locks", "big"]


@pytest.mark.parametrize("size", [1, 66])
async def test_too_small_disk_leaves_neither_row_nor_folder(backend: LocalBackend, size: int) -> None:
    with pytest.raises(DiskTooSmallError, match="image size is too small for ext4 formatting"):
        await backend.volumes().create(VolumeConfig.disk("tiny", capacity_mib=size))
    assert rows(backend.home()) == []
    assert not (backend.volumes_dir() / "tiny").exists()


async def test_smallest_disk_the_reference_accepts_works(backend: LocalBackend) -> None:
    await backend.volumes().create(VolumeConfig.disk("d67", capacity_mib=67))
    assert (backend.volumes_dir() / "d67" / "disk.raw").stat().st_size == 67 * MIB


async def test_missing_mkfs_is_a_clear_error_and_leaves_nothing(backend: LocalBackend, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr("backend.volumes.disk_image.SBIN", str(tmp_path / "empty"))
    with pytest.raises(ToolMissingError, match="`mkfs.ext4` is not installed.*e2fsprogs"):
        await backend.volumes().create(VolumeConfig.disk("d", capacity_mib=100))
    assert rows(backend.home()) == []
    assert [n for n in os.listdir(backend.volumes_dir()) if n != ".locks"] == []


async def test_failing_mkfs_is_reported_and_leaves_nothing(backend: LocalBackend, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    tools = tmp_path / "tools"
    tools.mkdir()
    fake = tools / "mkfs.ext4"
    fake.write_text("#!/bin/sh\necho 'mke2fs: Device size reported to be zero.' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tools))
    with pytest.raises(DiskImageError, match="mkfs.ext4 failed: mke2fs: Device size reported to be zero"):
        await backend.volumes().create(VolumeConfig.disk("d", capacity_mib=100))
    assert rows(backend.home()) == []
    assert [n for n in os.listdir(backend.volumes_dir()) if n != ".locks"] == []


@pytest.mark.parametrize("kind", ["dir", "disk"])
async def test_an_unwritable_volumes_folder_is_a_typed_error(backend: LocalBackend, kind: str,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    real_mkdir = os.mkdir

    def refuse(path: str, *args: int, **kwargs: int) -> None:
        if Path(path).name == "v" or Path(path).name.startswith(".v."):
            raise PermissionError(13, "Permission denied")
        real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr("backend.volumes.storage.os.mkdir", refuse)
    config = VolumeConfig.disk("v", capacity_mib=100) if kind == "disk" else VolumeConfig("v")
    with pytest.raises(VolumeStorageError, match="cannot create volume `v`: .*Permission denied; check that"):
        await backend.volumes().create(config)
    assert rows(backend.home()) == []
    assert [n for n in os.listdir(backend.volumes_dir()) if n != ".locks"] == []


# -- D3: duplicates and missing --------------------------------------------------------------------


async def test_second_create_and_missing_remove_use_the_reference_messages(backend: LocalBackend) -> None:
    volumes = backend.volumes()
    await volumes.create(VolumeConfig("n"))
    (backend.volumes_dir() / "n" / "keep.txt").write_text("x")
    with pytest.raises(VolumeAlreadyExistsError) as caught:
        await volumes.create(VolumeConfig("n", quota_mib=4))
    assert str(caught.value) == "volume already exists: n"
    assert (backend.volumes_dir() / "n" / "keep.txt").read_text() == "x"
    assert len(rows(backend.home())) == 1
    with pytest.raises(VolumeNotFoundError) as missing:
        await volumes.remove("ghost")
    assert str(missing.value) == "volume not found: ghost"
    with pytest.raises(VolumeNotFoundError):
        await volumes.get("ghost")


async def test_existing_row_without_folder_still_counts_as_existing(backend: LocalBackend) -> None:
    volumes = backend.volumes()
    await volumes.create(VolumeConfig("gone"))
    os.rmdir(backend.volumes_dir() / "gone")
    with pytest.raises(VolumeAlreadyExistsError):
        await volumes.create(VolumeConfig("gone"))
    assert not (backend.volumes_dir() / "gone").exists()  # the create made nothing


async def test_orphan_folder_blocks_the_name_and_is_kept(backend: LocalBackend) -> None:
    orphan = backend.volumes_dir() / "orphan"
    orphan.mkdir(parents=True)
    (orphan / "precious").write_text("data")
    with pytest.raises(VolumeFolderExistsError, match="no volume row names it") as caught:
        await backend.volumes().create(VolumeConfig("orphan"))
    assert isinstance(caught.value, VolumeAlreadyExistsError)
    assert (orphan / "precious").read_text() == "data"
    assert rows(backend.home()) == []


async def test_a_file_where_the_volume_folder_goes_is_refused(backend: LocalBackend) -> None:
    backend.volumes_dir().mkdir(parents=True)
    (backend.volumes_dir() / "f").write_text("not a folder")
    with pytest.raises(VolumeFolderExistsError):
        await backend.volumes().create(VolumeConfig.disk("f", capacity_mib=100))
    assert (backend.volumes_dir() / "f").read_text() == "not a folder"


# -- D4: list, labels, used_bytes -----------------------------------------------------------------


async def test_list_is_newest_first_and_labels_round_trip_as_ordered_pairs(backend: LocalBackend) -> None:
    volumes = backend.volumes()
    await volumes.create(VolumeConfig("first", labels=[("team", "ml"), ("env", "dev"), ("team", "ops")]))
    await volumes.create(VolumeConfig.directory("second", labels={"b": "1", "a": ""}))
    await volumes.create(VolumeConfig("third"))
    with sqlite3.connect(backend.home() / "db" / "msb.db") as conn:
        conn.execute("UPDATE volume SET created_at = NULL WHERE name = 'third'")
    listed = await volumes.list()
    assert [v.name for v in listed] == ["second", "first", "third"]
    stored = {r["name"]: r["labels"] for r in rows(backend.home())}
    assert stored == {"first": '[["team","ml"],["env","dev"],["team","ops"]]',
                      "second": '[["b","1"],["a",""]]', "third": None}
    assert listed[1].labels == (("team", "ml"), ("env", "dev"), ("team", "ops"))
    assert all(v.used_bytes == 0 for v in listed)
    assert listed[2].created_at is None


async def test_rows_written_elsewhere_are_read_tolerantly(backend: LocalBackend) -> None:
    await backend.db()
    with sqlite3.connect(backend.home() / "db" / "msb.db") as conn:
        conn.executemany(
            "INSERT INTO volume (name, quota_mib, size_bytes, labels, created_at, updated_at, kind) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [("neg", -5, None, "not json", "2026-06-22 00:44:56.123456789", None, "weird"),
             ("unicode", None, 123, '[["ключ","значение"]]', "2026-06-22T00:44:57Z", None, "disk")],
        )
    listed = {v.name: v for v in await backend.volumes().list()}
    neg, uni = listed["neg"], listed["unicode"]
    assert neg.quota_mib == 0 and neg.kind == "dir" and neg.labels == ()
    assert neg.created_at == datetime(2026, 6, 22, 0, 44, 56, 123456, tzinfo=UTC)
    assert uni.kind == "disk" and uni.used_bytes == 123 and uni.labels == (("ключ", "значение"),)
    assert uni.created_at == datetime(2026, 6, 22, 0, 44, 57, tzinfo=UTC)
    assert uni.disk_path == backend.volumes_dir() / "unicode" / "disk.raw"
    assert [v.name for v in await backend.volumes().list()] == ["unicode", "neg"]


# -- remove ---------------------------------------------------------------------------------------


async def test_remove_deletes_row_and_folder_with_content(backend: LocalBackend) -> None:
    volumes = backend.volumes()
    await volumes.create(VolumeConfig("r"))
    await volumes.create(VolumeConfig.disk("rd", capacity_mib=80))
    await volumes.fs_write("r", "deep/er/file.txt", b"x")
    await volumes.remove("r")
    await volumes.remove("rd")
    assert rows(backend.home()) == []
    assert sorted(os.listdir(backend.volumes_dir())) == [".locks"]


async def test_remove_of_a_row_whose_folder_is_missing_works(backend: LocalBackend) -> None:
    await backend.volumes().create(VolumeConfig("nofolder"))
    os.rmdir(backend.volumes_dir() / "nofolder")
    await backend.volumes().remove("nofolder")
    assert rows(backend.home()) == []


async def test_remove_never_follows_a_planted_volume_symlink(backend: LocalBackend, tmp_path: Path) -> None:
    await backend.volumes().create(VolumeConfig("planted"))
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("keep")
    folder = backend.volumes_dir() / "planted"
    os.rmdir(folder)
    folder.symlink_to(outside)
    await backend.volumes().remove("planted")
    assert (outside / "keep").read_text() == "keep"
    assert not os.path.lexists(folder)


@pytest.mark.skipif(shutil.which("chattr") is None or os.geteuid() != 0, reason="needs chattr as root")
async def test_a_folder_that_cannot_be_deleted_is_reported(backend: LocalBackend) -> None:
    await backend.volumes().create(VolumeConfig("stuck"))
    pinned = backend.volumes_dir() / "stuck" / "pinned"
    pinned.write_text("x")
    if run_tool(["chattr", "+i", str(pinned)]) is None:
        pytest.skip("the file system does not support chattr +i")
    try:
        with pytest.raises(VolumeRemoveError, match="could not be deleted completely") as caught:
            await backend.volumes().remove("stuck")
        assert caught.value.row_removed is True
        assert caught.value.folder.name.startswith(".stuck.removing-")
        assert (caught.value.folder / "pinned").exists()
        assert rows(backend.home()) == []
    finally:
        for left in backend.volumes_dir().glob(".stuck.removing-*/pinned"):
            assert run_tool(["chattr", "-i", str(left)]) is not None


async def test_a_folder_that_cannot_be_moved_aside_keeps_everything(backend: LocalBackend,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    await backend.volumes().create(VolumeConfig("busy"))

    def refuse(src: object, dst: object, **_: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("backend.volumes.service.os.rename", refuse)
    with pytest.raises(VolumeRemoveError, match="cannot be moved aside.*nothing was changed") as caught:
        await backend.volumes().remove("busy")
    assert caught.value.row_removed is False
    assert [r["name"] for r in rows(backend.home())] == ["busy"]
    assert (backend.volumes_dir() / "busy").is_dir()


# -- read-only ------------------------------------------------------------------------------------


async def test_read_only_backend_refuses_every_mutation(backend: LocalBackend, home: Path) -> None:
    await backend.volumes().create(VolumeConfig("v"))
    await backend.volumes().fs_write("v", "a.txt", b"a")
    ro = LocalBackend.lazy(read_only=True)
    try:
        volumes = ro.volumes()
        calls = [
            volumes.create(VolumeConfig("w")),
            volumes.remove("v"),
            volumes.fs_write("v", "b.txt", b"b"),
            volumes.fs_mkdir("v", "d"),
            volumes.fs_remove("v", "a.txt"),
            volumes.fs_remove_dir("v", "x"),
            volumes.fs_copy("v", "a.txt", "c.txt"),
            volumes.fs_rename("v", "a.txt", "c.txt"),
        ]
        for call in calls:
            with pytest.raises(ReadOnlyError):
                await call
        with pytest.raises(ReadOnlyError):
            await volumes.fs_write_stream("v", "s.txt")
        with pytest.raises(ReadOnlyError):
            volumes.root("v").write_bytes("r.txt", b"r")
        assert await volumes.fs_read("v", "a.txt") == b"a"
        assert [v.name for v in await volumes.list()] == ["v"]
        assert (await volumes.usage("v")).files == 1
    finally:
        await ro.close()
    assert sorted(os.listdir(home / "volumes" / "v")) == ["a.txt"]
    assert [r["name"] for r in rows(home)] == ["v"]


async def test_a_newer_catalog_is_never_written(home: Path) -> None:
    first = LocalBackend.lazy()
    await first.volumes().create(VolumeConfig("old"))
    await first.close()
    with sqlite3.connect(home / "db" / "msb.db") as conn:
        conn.execute("INSERT INTO seaql_migrations VALUES ('m20270101_000001_future_feature', 1790000000)")
    newer = LocalBackend.lazy()
    try:
        with pytest.raises(ReadOnlyError, match="newer microsandbox"):
            await newer.volumes().create(VolumeConfig("new"))
        with pytest.raises(ReadOnlyError, match="newer microsandbox"):
            await newer.volumes().remove("old")
        assert [v.name for v in await newer.volumes().list()] == ["old"]
    finally:
        await newer.close()
    assert sorted(os.listdir(home / "volumes")) == [".locks", "old"]
    assert [r["name"] for r in rows(home)] == ["old"]


async def test_read_only_home_without_a_database_lists_nothing(home: Path) -> None:
    ro = LocalBackend.lazy(read_only=True)
    try:
        assert await ro.volumes().list() == []
        with pytest.raises(VolumeNotFoundError):
            await ro.volumes().get("x")
    finally:
        await ro.close()
    assert list(home.iterdir()) == []


# -- isolation (33, 34) -----------------------------------------------------------------------------


async def test_fs_write_uses_the_called_backend_inside_another_scope(tmp_path: Path) -> None:
    home_a, home_b = tmp_path / "a", tmp_path / "b"
    a, b = make_backend(home_a), make_backend(home_b)
    try:
        await b.volumes().create(VolumeConfig("vol"))
        await with_backend(a, b.volumes().fs_write("vol", "hello.txt", b"world"))
        with backend_scope(a):
            await b.volumes().fs_write("vol", "again.txt", b"!")
        assert (b.volume_path("vol") / "hello.txt").read_bytes() == b"world"
        assert (b.volume_path("vol") / "again.txt").read_bytes() == b"!"
        assert not (a.volumes_dir() / "vol" / "hello.txt").exists()
        assert not (home_a / "volumes").exists()
    finally:
        await a.close()
        await b.close()


async def test_remove_uses_the_called_backend_not_the_global_default(tmp_path: Path) -> None:
    a, b = make_backend(tmp_path / "a"), make_backend(tmp_path / "b")
    previous = swap_default_backend(a)
    try:
        await a.volumes().create(VolumeConfig("shared-name"))
        with pytest.raises(VolumeNotFoundError):
            await b.volumes().remove("shared-name")
        assert [v.name for v in await a.volumes().list()] == ["shared-name"]
        assert (a.volumes_dir() / "shared-name").is_dir()
    finally:
        set_default_backend(previous)
        await a.close()
        await b.close()


# -- storage access ---------------------------------------------------------------------------------


async def test_file_ops_need_a_row_and_refuse_disk_volumes(backend: LocalBackend) -> None:
    volumes = backend.volumes()
    with pytest.raises(VolumeNotFoundError):
        await volumes.fs_write("nope", "a", b"a")
    assert not (backend.volumes_dir() / "nope").exists()
    await volumes.create(VolumeConfig.disk("disk", capacity_mib=80))
    with pytest.raises(FsUnsupportedError, match="disk volume"):
        await volumes.fs_write("disk", "disk.raw", b"")
    assert (backend.volumes_dir() / "disk" / "disk.raw").stat().st_size == 80 * MIB


async def test_root_refuses_names_that_are_not_one_folder(backend: LocalBackend) -> None:
    for name in ("..", "a/b", "", "."):
        with pytest.raises(InvalidConfigError):
            backend.volumes().root(name)
    assert backend.volumes().root(".v.abc123").folder == backend.volumes_dir() / ".v.abc123"


async def test_d5_traversal_to_an_existing_sibling_and_exists_of_missing(backend: LocalBackend) -> None:
    volumes = backend.volumes()
    await volumes.create(VolumeConfig("vol"))
    await volumes.create(VolumeConfig("other"))
    await volumes.fs_write("other", "x", b"secret")
    with pytest.raises(PathTraversalError, match="path traversal outside volume root"):
        await volumes.fs_read("vol", "../other/x")
    assert await volumes.fs_exists("vol", "missing") is False
    with pytest.raises(PathTraversalError):
        await volumes.fs_exists("vol", "../other/x")


async def test_volumes_dir_from_config_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "h"
    home.mkdir()
    (home / "config.json").write_text(json.dumps({"paths": {"volumes": str(tmp_path / "elsewhere")}}))
    monkeypatch.setenv("MSB_HOME", str(home))
    backend = LocalBackend.lazy()
    try:
        info = await backend.volumes().create(VolumeConfig("v"))
        assert info.path == tmp_path / "elsewhere" / "v" and info.path.is_dir()
        assert not (home / "volumes").exists()
    finally:
        await backend.close()
