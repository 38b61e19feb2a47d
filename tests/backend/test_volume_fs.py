"""Host-side file operations on a directory volume: reference semantics (8.4) and bad input."""

from __future__ import annotations

import asyncio
import os
import stat
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from backend import LocalBackend
from backend.errors import (
    FsError,
    FsExistsError,
    FsInvalidDataError,
    FsInvalidPathError,
    FsIsADirectoryError,
    FsNotADirectoryError,
    FsNotEmptyError,
    FsNotFoundError,
    FsNotRegularFileError,
    FsPermissionError,
    FsRootError,
    FsSymlinkError,
    PathTraversalError,
    VolumeFolderMissingError,
)
from backend.volumes.fs import VolumeRoot
from backend.volumes.models import VolumeConfig
from backend.volumes.service import Volumes


@pytest.fixture
async def vol(backend: LocalBackend) -> AsyncIterator[Volumes]:
    volumes = backend.volumes()
    await volumes.create(VolumeConfig("vol"))
    yield volumes


def folder(volumes: Volumes, name: str = "vol") -> Path:
    return volumes.root(name).folder


# -- 8.4 cases 40-42 --------------------------------------------------------------------------------


@pytest.mark.parametrize("root", ["/", "", ".", "a/..", "//"])
async def test_remove_dir_refuses_the_volume_root(vol: Volumes, root: str) -> None:
    await vol.fs_write("vol", "nested/file.txt", b"x")
    with pytest.raises(FsRootError, match="volume root"):
        await vol.fs_remove_dir("vol", root)
    assert (folder(vol) / "nested" / "file.txt").read_bytes() == b"x"


async def test_remove_dir_removes_a_child_folder(vol: Volumes) -> None:
    await vol.fs_write("vol", "nested/file.txt", b"x")
    await vol.fs_remove_dir("vol", "nested")
    assert folder(vol).is_dir()
    assert not (folder(vol) / "nested").exists()


async def test_write_lands_under_the_volume_path_and_creates_parents(vol: Volumes) -> None:
    await vol.fs_write("vol", "/a/b/c.txt", b"hello")
    assert (folder(vol) / "a" / "b" / "c.txt").read_bytes() == b"hello"
    await vol.fs_write("vol", "a/b/c.txt", b"replaced")
    assert await vol.fs_read("vol", "a/b/c.txt") == b"replaced"
    assert sorted(os.listdir(folder(vol) / "a" / "b")) == ["c.txt"]  # no temp file left


# -- entries and metadata ----------------------------------------------------------------------------


async def test_list_gives_reference_entries(vol: Volumes) -> None:
    await vol.fs_write("vol", "nested/file.txt", b"12345")
    await vol.fs_mkdir("vol", "nested/sub")
    os.symlink("file.txt", folder(vol) / "nested" / "link")
    entries = {e.path: e for e in await vol.fs_list("vol", "nested")}
    assert set(entries) == {"/nested/file.txt", "/nested/sub", "/nested/link"}
    file, sub, link = entries["/nested/file.txt"], entries["/nested/sub"], entries["/nested/link"]
    assert (file.kind, file.size, stat.S_ISREG(file.mode), file.name) == ("file", 5, True, "file.txt")
    assert file.mode == os.lstat(folder(vol) / "nested" / "file.txt").st_mode  # type bits included
    assert sub.kind == "directory" and link.kind == "symlink"
    assert file.modified is not None and file.modified.microsecond == 0
    assert [e.path for e in await vol.fs_list("vol", "")] == ["/nested"]


async def test_stat_reports_the_entry_itself(vol: Volumes) -> None:
    await vol.fs_write("vol", "f", b"abc")
    os.chmod(folder(vol) / "f", 0o444)
    os.symlink("f", folder(vol) / "l")
    meta = await vol.fs_stat("vol", "f")
    assert (meta.kind, meta.size, meta.readonly, stat.S_IMODE(meta.mode)) == ("file", 3, True, 0o444)
    assert (await vol.fs_stat("vol", "l")).kind == "symlink"
    assert (await vol.fs_stat("vol", "/")).kind == "directory"
    with pytest.raises(FsNotFoundError, match="does not exist"):
        await vol.fs_stat("vol", "missing")


async def test_exists(vol: Volumes) -> None:
    await vol.fs_write("vol", "d/f", b"")
    os.symlink("/nonexistent", folder(vol) / "dangling")
    assert await vol.fs_exists("vol", "d/f") is True
    assert await vol.fs_exists("vol", "") is True
    assert await vol.fs_exists("vol", "dangling") is True  # the link itself is there
    assert await vol.fs_exists("vol", "d/f/x") is False
    assert await vol.fs_exists("vol", "nope/x") is False


# -- reading -------------------------------------------------------------------------------------


async def test_read_to_string_refuses_invalid_utf8(vol: Volumes) -> None:
    await vol.fs_write("vol", "bin", b"ok\xff\xfe")
    with pytest.raises(FsInvalidDataError, match="not valid UTF-8.*offset 2"):
        await vol.fs_read_to_string("vol", "bin")
    await vol.fs_write("vol", "text", "héllo".encode())
    assert await vol.fs_read_to_string("vol", "text") == "héllo"


async def test_reading_a_folder_or_the_root_is_an_error(vol: Volumes) -> None:
    await vol.fs_mkdir("vol", "d")
    for path in ("d", "", "/"):
        with pytest.raises(FsIsADirectoryError):
            await vol.fs_read("vol", path)


async def test_head_tail_reads_only_the_ends(vol: Volumes) -> None:
    data = bytes(range(256)) * 4000
    await vol.fs_write("vol", "big", data)
    preview = await vol.fs_read_head_tail("vol", "big", 100, 50)
    assert preview.truncated and preview.size == len(data)
    assert preview.head == data[:100] and preview.tail == data[-50:]
    small = await vol.fs_read_head_tail("vol", "big", len(data), 10)
    assert not small.truncated and small.head == data and small.tail == b""
    empty = await vol.fs_read_head_tail("vol", "big", 0, 0)
    assert (empty.head, empty.tail, empty.truncated) == (b"", b"", True)


async def test_fifo_is_refused_without_blocking(vol: Volumes) -> None:
    os.mkfifo(folder(vol) / "pipe")
    for call in (vol.fs_read_head_tail("vol", "pipe", 10, 10), vol.fs_read("vol", "pipe"),
                 vol.fs_copy("vol", "pipe", "copy")):
        with pytest.raises(FsNotRegularFileError, match="not a regular file"):
            await asyncio.wait_for(call, timeout=5)
    assert not (folder(vol) / "copy").exists()
    with pytest.raises(FsNotRegularFileError):
        await vol.fs_write("vol", "pipe", b"x")
    assert stat.S_ISFIFO(os.lstat(folder(vol) / "pipe").st_mode)


async def test_streams_round_trip_large_content(vol: Volumes) -> None:
    chunk = os.urandom(100_000)
    async with await vol.fs_write_stream("vol", "s/big.bin") as writer:
        for _ in range(7):
            await writer.write(chunk)
        assert not (folder(vol) / "s" / "big.bin").exists()  # invisible until closed
    sizes = [len(c) async for c in vol.fs_read_stream("vol", "s/big.bin")]
    assert max(sizes) <= 64 * 1024 and sum(sizes) == 700_000
    got = b"".join([c async for c in vol.fs_read_stream("vol", "s/big.bin", chunk_size=1 << 20)])
    assert got == chunk * 7


async def test_a_failed_stream_leaves_the_old_file(vol: Volumes) -> None:
    await vol.fs_write("vol", "keep", b"old")
    with pytest.raises(RuntimeError):
        async with await vol.fs_write_stream("vol", "keep") as writer:
            await writer.write(b"new partial")
            raise RuntimeError("boom")
    assert await vol.fs_read("vol", "keep") == b"old"
    assert sorted(os.listdir(folder(vol))) == ["keep"]


# -- writing -------------------------------------------------------------------------------------


async def test_write_refuses_folders_links_and_the_root(vol: Volumes) -> None:
    await vol.fs_mkdir("vol", "d")
    os.symlink("d", folder(vol) / "l")
    with pytest.raises(FsIsADirectoryError):
        await vol.fs_write("vol", "d", b"x")
    with pytest.raises(FsSymlinkError):
        await vol.fs_write("vol", "l", b"x")
    with pytest.raises(FsIsADirectoryError):
        await vol.fs_write("vol", "", b"x")
    assert os.readlink(folder(vol) / "l") == "d"


async def test_write_keeps_the_mode_of_the_file_it_replaces(vol: Volumes) -> None:
    await vol.fs_write("vol", "script", b"#!/bin/sh\n")
    os.chmod(folder(vol) / "script", 0o750)
    await vol.fs_write("vol", "script", b"#!/bin/sh\necho\n")
    assert stat.S_IMODE(os.stat(folder(vol) / "script").st_mode) == 0o750


async def test_overwrite_false_refuses_existing_targets(vol: Volumes) -> None:
    await vol.fs_write("vol", "a", b"a")
    await vol.fs_write("vol", "b", b"b")
    with pytest.raises(FsExistsError):
        await vol.fs_write("vol", "a", b"new", overwrite=False)
    with pytest.raises(FsExistsError):
        await vol.fs_copy("vol", "a", "b", overwrite=False)
    with pytest.raises(FsExistsError):
        await vol.fs_rename("vol", "a", "b", overwrite=False)
    assert (await vol.fs_read("vol", "a"), await vol.fs_read("vol", "b")) == (b"a", b"b")
    await vol.fs_write("vol", "c", b"c", overwrite=False)
    assert await vol.fs_read("vol", "c") == b"c"


async def test_a_file_where_a_folder_is_expected(vol: Volumes) -> None:
    await vol.fs_write("vol", "f", b"x")
    with pytest.raises(FsNotADirectoryError, match="`/f` is not a folder"):
        await vol.fs_write("vol", "f/inner", b"y")
    with pytest.raises(FsNotADirectoryError):
        await vol.fs_mkdir("vol", "f")
    with pytest.raises(FsNotADirectoryError):
        await vol.fs_mkdir("vol", "f/g")
    with pytest.raises(FsNotADirectoryError):
        await vol.fs_list("vol", "f")
    with pytest.raises(FsNotADirectoryError):
        await vol.fs_remove_dir("vol", "f")
    assert await vol.fs_read("vol", "f") == b"x"


async def test_mkdir_is_idempotent(vol: Volumes) -> None:
    await vol.fs_mkdir("vol", "a/b/c")
    await vol.fs_mkdir("vol", "a/b/c")
    await vol.fs_mkdir("vol", "")
    assert (folder(vol) / "a" / "b" / "c").is_dir()


async def test_remove_file_semantics(vol: Volumes) -> None:
    await vol.fs_write("vol", "d/f", b"x")
    with pytest.raises(FsIsADirectoryError, match="use remove_dir"):
        await vol.fs_remove("vol", "d")
    with pytest.raises(FsNotFoundError):
        await vol.fs_remove("vol", "missing")
    with pytest.raises(FsIsADirectoryError):
        await vol.fs_remove("vol", "/")
    await vol.fs_remove("vol", "d/f")
    assert os.listdir(folder(vol) / "d") == []


async def test_remove_dir_of_a_symlink_never_touches_the_target(vol: Volumes) -> None:
    await vol.fs_write("vol", "real/keep", b"x")
    os.symlink("real", folder(vol) / "alias")
    with pytest.raises(FsNotADirectoryError, match="symlink"):
        await vol.fs_remove_dir("vol", "alias")
    await vol.fs_remove("vol", "alias")  # removes the link only
    assert await vol.fs_read("vol", "real/keep") == b"x"


async def test_copy_copies_content_and_permission_bits(vol: Volumes) -> None:
    await vol.fs_write("vol", "src", b"payload")
    os.chmod(folder(vol) / "src", 0o640)
    await vol.fs_copy("vol", "src", "deep/dst")
    assert (folder(vol) / "deep" / "dst").read_bytes() == b"payload"
    assert stat.S_IMODE(os.stat(folder(vol) / "deep" / "dst").st_mode) == 0o640
    with pytest.raises(FsIsADirectoryError):
        await vol.fs_copy("vol", "deep", "deep2")
    with pytest.raises(FsNotFoundError):
        await vol.fs_copy("vol", "nope", "x")


async def test_rename_semantics(vol: Volumes) -> None:
    await vol.fs_write("vol", "a/f", b"1")
    await vol.fs_write("vol", "t", b"2")
    await vol.fs_rename("vol", "a/f", "t")  # replaces a file
    assert await vol.fs_read("vol", "t") == b"1"
    await vol.fs_rename("vol", "a", "x/y/a2")  # folders move, target parents are made
    assert (folder(vol) / "x" / "y" / "a2").is_dir()
    await vol.fs_write("vol", "full/f", b"")
    await vol.fs_mkdir("vol", "empty")
    with pytest.raises(FsNotEmptyError):
        await vol.fs_rename("vol", "empty", "full")
    with pytest.raises(FsError, match="into itself"):
        await vol.fs_rename("vol", "full", "full/inside")
    with pytest.raises(FsRootError):
        await vol.fs_rename("vol", "", "z")
    with pytest.raises(FsRootError):
        await vol.fs_rename("vol", "t", "/")
    with pytest.raises(FsNotFoundError):
        await vol.fs_rename("vol", "nope", "z")


# -- odd names ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["with space", "new\nline", "tab\there", "quote\"s", "ünï", "-dash", "..."])
async def test_odd_names_round_trip(vol: Volumes, name: str) -> None:
    await vol.fs_write("vol", f"dir {name}/{name}", name.encode())
    entries = await vol.fs_list("vol", f"dir {name}")
    assert [e.path for e in entries] == [f"/dir {name}/{name}"]
    assert await vol.fs_read("vol", entries[0].path) == name.encode()
    assert (folder(vol) / f"dir {name}" / name).read_bytes() == name.encode()


async def test_names_that_are_not_utf8_are_listed_and_usable(vol: Volumes) -> None:
    raw = b"bad\xff\xfename"
    Path(os.fsdecode(os.path.join(os.fsencode(folder(vol)), raw))).write_bytes(b"content")
    (entry,) = await vol.fs_list("vol", "")
    assert os.fsencode(entry.name) == raw
    assert await vol.fs_read("vol", entry.path) == b"content"
    assert await vol.fs_read("vol", raw) == b"content"  # bytes paths are accepted too
    await vol.fs_rename("vol", entry.path, "renamed")
    assert os.listdir(folder(vol)) == ["renamed"]


async def test_nul_bytes_and_overlong_names_are_invalid_paths(vol: Volumes) -> None:
    with pytest.raises(FsInvalidPathError, match="NUL"):
        await vol.fs_write("vol", "a\x00b", b"")
    with pytest.raises(FsInvalidPathError, match="longer than the file system allows"):
        await vol.fs_write("vol", "n" * 300, b"")
    assert os.listdir(folder(vol)) == []


# -- unreadable files and missing folders --------------------------------------------------------------


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
async def test_unreadable_file_gives_a_permission_error(vol: Volumes) -> None:
    await vol.fs_write("vol", "secret", b"x")
    os.chmod(folder(vol) / "secret", 0)
    with pytest.raises(FsPermissionError, match="permission denied"):
        await vol.fs_read("vol", "secret")


async def test_permission_errors_from_the_os_are_typed(vol: Volumes, monkeypatch: pytest.MonkeyPatch) -> None:
    await vol.fs_write("vol", "secret", b"x")
    real_open = os.open

    def deny(path: object, flags: int, *args: object, **kwargs: object) -> int:
        if path == "secret":
            raise PermissionError(13, "Permission denied")
        return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("backend.volumes.fdio.os.open", deny)
    with pytest.raises(FsPermissionError, match="cannot read `/secret` in volume `vol`.*permission denied"):
        await vol.fs_read("vol", "secret")


async def test_missing_volume_folder_is_reported(vol: Volumes) -> None:
    os.rmdir(folder(vol))
    with pytest.raises(VolumeFolderMissingError, match="does not exist"):
        await vol.fs_list("vol", "")
    with pytest.raises(VolumeFolderMissingError):
        await vol.fs_write("vol", "a", b"")
    assert not folder(vol).exists()  # not recreated behind the user's back
    assert await vol.fs_exists("vol", "a") is False


async def test_a_volume_folder_replaced_by_a_symlink_is_not_followed(vol: Volumes, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    os.rmdir(folder(vol))
    folder(vol).symlink_to(outside)
    with pytest.raises(VolumeFolderMissingError, match="is a symlink"):
        await vol.fs_write("vol", "x", b"x")
    assert list(outside.iterdir()) == []


async def test_traversal_through_missing_folders_is_refused(vol: Volumes) -> None:
    await vol.create(VolumeConfig("other"))
    for path in ("a/../../other/x", "../other/x", "/../other/x", "a/b/../../../other/x", ".."):
        with pytest.raises(PathTraversalError):
            await vol.fs_write("vol", path, b"escape")
    assert os.listdir(folder(vol, "other")) == []
    assert os.listdir(folder(vol)) == []
    await vol.fs_write("vol", "a/../b", b"inside")  # stays inside: fine, and `a` is not made
    assert os.listdir(folder(vol)) == ["b"]


async def test_sync_root_works_from_threads(vol: Volumes) -> None:
    root = await vol.open_root("vol")
    assert isinstance(root, VolumeRoot)

    def work(i: int) -> bytes:
        root.write_bytes(f"t/{i}", str(i).encode())
        return root.read_bytes(f"t/{i}")

    results: list[bytes] = []
    threads = [threading.Thread(target=lambda i=i: results.append(work(i))) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == sorted(str(i).encode() for i in range(8))
    assert len(root.list("t")) == 8


async def test_link_target_resolves_relative_links_inside_the_volume(vol: Volumes) -> None:
    root = await vol.open_root("vol")
    root.mkdir("releases/v2")
    os.symlink("releases/v2", folder(vol) / "current")
    os.symlink("../../..", folder(vol) / "releases" / "up")
    os.symlink("/data/x", folder(vol) / "abs")
    assert root.link_target("current") == "/releases/v2"
    with pytest.raises(PathTraversalError):
        root.link_target("releases/up")
    with pytest.raises(FsSymlinkError, match="inside the sandbox"):
        root.link_target("abs")
    with pytest.raises(FsSymlinkError, match="not a symlink"):
        root.readlink("releases")
