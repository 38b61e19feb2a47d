"""Reading inside disk volumes with debugfs: listings, file content, odd names, missing tools."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from backend import LocalBackend
from backend.errors import (
    DiskImageError,
    FsIsADirectoryError,
    FsNotADirectoryError,
    FsNotFoundError,
    FsSymlinkError,
    FsUnsupportedError,
    ToolMissingError,
)
from backend.volumes import disk_image
from backend.volumes.models import VolumeConfig

pytestmark = pytest.mark.skipif(
    shutil.which("mkfs.ext4", path=os.environ.get("PATH", "") + ":" + disk_image.SBIN) is None
    or shutil.which("debugfs", path=os.environ.get("PATH", "") + ":" + disk_image.SBIN) is None,
    reason="e2fsprogs (mkfs.ext4, debugfs) is not installed",
)


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("src")
    (source / "sub" / "deeper").mkdir(parents=True)
    (source / "hello.txt").write_bytes(b"hello")
    (source / "with space").write_bytes(b"s")
    (source / "new\nline").write_bytes(b"n")
    (source / 'q"uote').write_bytes(b"q")
    (source / "sub" / "deeper" / "f").write_bytes(b"deep")
    (source / "big").write_bytes(bytes(range(256)) * 1000)
    with open(os.path.join(os.fsencode(source), b"bad\xffname"), "wb") as handle:
        handle.write(b"raw")
    os.symlink("hello.txt", source / "link")
    path = tmp_path_factory.mktemp("img") / "disk.raw"
    with open(path, "wb") as handle:
        handle.truncate(80 * 1024 * 1024)
    mkfs = disk_image.find_tool("mkfs.ext4", "test")
    subprocess.run([mkfs, "-F", "-q", "-d", str(source), str(path)], check=True, capture_output=True)
    return path


def test_list_root_and_subfolders(image: Path) -> None:
    names = {e.name: e for e in disk_image.list_dir(image)}
    assert set(names) == {"lost+found", "hello.txt", "with space", "new\nline", 'q"uote', "sub", "big",
                          os.fsdecode(b"bad\xffname"), "link"}
    assert names["hello.txt"].kind == "file" and names["hello.txt"].size == 5
    assert names["sub"].kind == "directory" and names["sub"].size is None
    assert names["link"].kind == "symlink"
    assert [e.name for e in disk_image.list_dir(image, "/sub/deeper")] == ["f"]
    assert [e.name for e in disk_image.list_inode(image, names["sub"].inode)] == ["deeper"]


def test_read_files_with_any_name(image: Path) -> None:
    assert disk_image.read_file(image, "hello.txt") == b"hello"
    assert disk_image.read_file(image, "new\nline") == b"n"
    assert disk_image.read_file(image, 'q"uote') == b"q"
    assert disk_image.read_file(image, b"bad\xffname") == b"raw"
    assert disk_image.read_file(image, "sub/deeper/f") == b"deep"
    assert disk_image.read_file(image, "big") == bytes(range(256)) * 1000
    assert disk_image.read_file(image, "big", max_bytes=300) == (bytes(range(256)) * 2)[:300]


def test_bad_paths_inside_the_image(image: Path) -> None:
    with pytest.raises(FsNotFoundError):
        disk_image.read_file(image, "nope")
    with pytest.raises(FsIsADirectoryError):
        disk_image.read_file(image, "sub")
    with pytest.raises(FsSymlinkError):
        disk_image.read_file(image, "link")
    with pytest.raises(FsNotADirectoryError):
        disk_image.list_dir(image, "hello.txt")
    with pytest.raises(FsNotADirectoryError):
        disk_image.read_file(image, "hello.txt/x")


def test_superblock_usage(image: Path) -> None:
    usage = disk_image.filesystem_usage(image)
    assert usage.block_count * usage.block_size == 80 * 1024 * 1024
    assert 0 < usage.used_bytes < 80 * 1024 * 1024
    assert 0 < usage.free_inodes < usage.inode_count


def test_not_an_image_and_symlinked_images_are_refused(tmp_path: Path, image: Path) -> None:
    junk = tmp_path / "junk.raw"
    junk.write_bytes(b"\0" * 4096)
    with pytest.raises(DiskImageError, match="debugfs could not read"):
        disk_image.list_dir(junk)
    alias = tmp_path / "alias.raw"
    alias.symlink_to(image)
    with pytest.raises(DiskImageError, match="not a symlink"):
        disk_image.list_dir(alias)
    with pytest.raises(DiskImageError, match="does not exist"):
        disk_image.list_dir(tmp_path / "missing.raw")


def test_missing_debugfs_is_a_clear_error(image: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(disk_image, "SBIN", str(tmp_path))
    with pytest.raises(ToolMissingError, match="`debugfs` is not installed.*e2fsprogs"):
        disk_image.list_dir(image)


async def test_disk_volume_helpers(backend: LocalBackend) -> None:
    volumes = backend.volumes()
    await volumes.create(VolumeConfig.disk("d", capacity_mib=100))
    await volumes.create(VolumeConfig("plain"))
    assert [e.name for e in await volumes.disk_list("d")] == ["lost+found"]
    usage = await volumes.disk_usage("d")
    assert usage.block_size == 4096 and usage.block_count * 4096 == 100 * 1024 * 1024
    with pytest.raises(FsNotFoundError):
        await volumes.disk_read("d", "nothing")
    with pytest.raises(FsUnsupportedError, match="directory volume"):
        await volumes.disk_list("plain")


def test_empty_directory_slots_are_not_entries(image: Path) -> None:
    # mke2fs -d leaves lost+found full of empty slots (inode 0), which debugfs lists as "/0/000000/…".
    assert disk_image.list_dir(image, "/lost+found") == []
    assert all(e.inode != 0 for e in disk_image.list_dir(image))


def test_entries_carry_their_times_and_link_targets(image: Path, tmp_path: Path) -> None:
    names = {e.name: e for e in disk_image.list_dir(image)}
    made = os.stat(image).st_mtime
    assert all(e.modified is not None and abs(e.modified - made) < 3600 for e in names.values())
    assert names["link"].target == "hello.txt" and names["hello.txt"].target is None
    assert disk_image.read_link(image, "/link") == "hello.txt"
    source = tmp_path / "src"
    source.mkdir()
    os.symlink("t" * 200, source / "slow")  # past the inode's 60 bytes: stored in a block
    path = tmp_path / "slow.raw"
    with open(path, "wb") as handle:
        handle.truncate(80 * 1024 * 1024)
    subprocess.run([disk_image.find_tool("mkfs.ext4", "test"), "-F", "-q", "-d", str(source), str(path)],
                   check=True, capture_output=True)
    assert disk_image.read_link(path, "slow") == "t" * 200
    with pytest.raises(Exception, match="not a symlink"):
        disk_image.read_link(image, "/hello.txt")
