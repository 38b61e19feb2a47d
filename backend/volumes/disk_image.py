"""Disk volumes' ``disk.raw``: making it with ``mkfs.ext4`` and reading it with ``debugfs``, read-only.

microsandbox formats ``disk.raw`` with a built-in formatter (4 KiB blocks, a 64 MiB journal, no
reserved blocks, sparse). Here the system's e2fsprogs does it: ``mkfs.ext4`` with 4 KiB blocks and no
reserved blocks, on a sparse file of exactly the requested size. Its journal is sized by mke2fs
(e2fsprogs refuses a 64 MiB journal on small images), which any ext4 driver mounts the same way. The
reference's minimum of 67 MiB is kept, so a size accepted here is accepted by microsandbox too.

Reading uses ``debugfs -c`` (catastrophic mode: read-only, bitmaps not loaded), always addressing
inodes as ``<N>`` so no file name is ever parsed by debugfs, and always on a descriptor opened here
with ``O_NOFOLLOW`` (``/dev/fd/N``), so a ``disk.raw`` replaced by a symlink to a host device is not
read. An image in use by a running sandbox can be read, but may show a slightly stale state.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from backend.errors import (
    DiskImageError,
    DiskTooSmallError,
    FsIsADirectoryError,
    FsNotADirectoryError,
    FsNotFoundError,
    FsNotRegularFileError,
    FsSymlinkError,
    ToolMissingError,
)
from backend.volumes.models import FsKind, kind_of
from backend.volumes.paths import Parts, join, show, split_path

MIN_DISK_MIB = 67
MIB = 1024 * 1024
ROOT_INODE = 2
SBIN = "/usr/local/sbin:/usr/sbin:/sbin"
MKFS_ARGS = ("-F", "-q", "-b", "4096", "-m", "0",
             "-E", "root_owner=0:0,nodiscard,lazy_itable_init=1,lazy_journal_init=1")
_ENV = {"LC_ALL": "C", "PATH": os.defpath}


def find_tool(name: str, purpose: str) -> str:
    """The full path of an e2fsprogs program (also looked up in the sbin folders, which a non-root
    ``PATH`` often lacks), or :class:`ToolMissingError` saying how to install it."""
    found = shutil.which(name) or shutil.which(name, path=SBIN)
    if found is None:
        raise ToolMissingError(
            f"`{name}` is not installed, so {purpose}; install e2fsprogs "
            "(for example `apt install e2fsprogs` or `dnf install e2fsprogs`)"
        )
    return found


def check_capacity(capacity_mib: int) -> None:
    """Refuse sizes microsandbox's formatter would refuse (below 67 MiB)."""
    if capacity_mib < MIN_DISK_MIB:
        raise DiskTooSmallError(
            "failed to create disk.raw: image size is too small for ext4 formatting: disk volumes need "
            f"at least {MIN_DISK_MIB} MiB (a 64 MiB journal plus metadata), got {capacity_mib} MiB"
        )


async def create_image(path: Path, capacity_mib: int) -> None:
    """Create ``path`` as a sparse ext4 image of ``capacity_mib`` MiB; on any failure it is removed."""
    check_capacity(capacity_mib)
    tool = find_tool("mkfs.ext4", "disk volumes cannot be created")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise DiskImageError(f"failed to create disk.raw at `{path}`: {exc.strerror or exc}") from exc
    try:
        try:
            os.ftruncate(fd, capacity_mib * MIB)
        finally:
            os.close(fd)
        process = await asyncio.create_subprocess_exec(
            tool, *MKFS_ARGS, str(path),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_ENV,
        )
        try:
            out, err = await process.communicate()
        except BaseException:
            if process.returncode is None:
                process.kill()
                await process.wait()
            raise
        if process.returncode != 0:
            detail = (err or out).decode(errors="replace").strip() or f"exit status {process.returncode}"
            raise DiskImageError(f"failed to create disk.raw: mkfs.ext4 failed: {detail}")
    except OSError as exc:
        _unlink(path)
        raise DiskImageError(f"failed to create disk.raw at `{path}`: {exc.strerror or exc}") from exc
    except BaseException:
        _unlink(path)
        raise


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


@dataclass(frozen=True, slots=True)
class DiskEntry:
    """One entry of a folder inside an ext4 image. ``size`` is None for folders (debugfs omits it)."""

    name: str
    inode: int
    kind: FsKind
    mode: int
    uid: int
    gid: int
    size: int | None
    #: Modification time (seconds since the epoch) from the inode, None when not read.
    modified: float | None = None
    #: Where a symlink points, None for anything else (or when it could not be read).
    target: str | None = None


@dataclass(frozen=True, slots=True)
class Ext4Usage:
    """Space inside the image, from its superblock."""

    block_size: int
    block_count: int
    free_blocks: int
    inode_count: int
    free_inodes: int

    @property
    def used_bytes(self) -> int:
        """Bytes in use inside the file system (metadata and journal included)."""
        return (self.block_count - self.free_blocks) * self.block_size


@contextmanager
def _image_fd(image: Path) -> Iterator[int]:
    try:
        fd = os.open(image, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except FileNotFoundError as exc:
        raise DiskImageError(f"the disk image `{image}` does not exist") from exc
    except OSError as exc:
        raise DiskImageError(f"cannot open the disk image `{image}`: {exc.strerror or exc} "
                             "(it must be a regular file, not a symlink)") from exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise DiskImageError(f"`{image}` is not a regular file, so it is not read as a disk image")
        yield fd
    finally:
        os.close(fd)


def _debugfs(image: Path, request: str, *, max_bytes: int | None = None, script: bytes | None = None) -> bytes:
    """Run one debugfs request (``-R``), or a ``script`` of several read from stdin (``-f -``)."""
    tool = find_tool("debugfs", "files inside disk volumes cannot be read")
    with _image_fd(image) as fd:
        argv = [tool, "-c", *(["-f", "-"] if script is not None else ["-R", request]), f"/dev/fd/{fd}"]
        process = subprocess.Popen(argv, stdin=subprocess.PIPE if script is not None else subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=(fd,), env=_ENV)
        try:
            if max_bytes is None:
                out, err = process.communicate(script, timeout=120)
            else:
                assert process.stdout is not None and process.stderr is not None
                out = process.stdout.read(max_bytes)
                process.kill()
                err = process.stderr.read()
                process.wait(timeout=60)
        except subprocess.TimeoutExpired as exc:
            raise DiskImageError(f"debugfs took too long reading `{image}`") from exc
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            for stream in (process.stdout, process.stderr):
                if stream is not None:
                    stream.close()
    problems = [
        line for line in err.decode(errors="replace").splitlines()
        if line.strip() and not line.startswith("debugfs") and "catastrophic mode" not in line
    ]
    if problems:
        raise DiskImageError(f"debugfs could not read `{image}`: {problems[0].strip()}")
    return out


def list_inode(image: Path, inode: int = ROOT_INODE) -> list[DiskEntry]:
    """The entries of the folder with this inode number (``.`` and ``..`` left out)."""
    out = _debugfs(image, f"ls -p <{inode}>")
    # Records are "/ino/mode/uid/gid/name/size/\n"; names cannot hold "/" but may hold newlines.
    tokens = out.split(b"/")
    entries: list[DiskEntry] = []
    for start in range(1, len(tokens) - 6, 7):
        ino, mode, uid, gid, name, size = tokens[start:start + 6]
        try:
            mode_bits = int(mode, 8)
            entry = DiskEntry(os.fsdecode(name), int(ino), kind_of(mode_bits), mode_bits, int(uid), int(gid),
                              int(size) if size.strip() else None)
        except ValueError as exc:
            raise DiskImageError(f"unexpected debugfs listing of `{image}`: {out[:200]!r}") from exc
        # Inode 0 marks an empty directory slot (lost+found is full of them): not an entry.
        if entry.inode != 0 and entry.name not in (".", ".."):
            entries.append(entry)
    return entries


#: At most this many entries of one folder get their times and link targets read (one debugfs run).
DETAIL_LIMIT = 5000
#: A link target longer than this is not read (0.7 and ext4 allow 4095 bytes).
LINK_TARGET_MAX = 4096


def _inode_details(image: Path, entries: list[DiskEntry]) -> dict[int, tuple[float | None, str | None]]:
    """``inode -> (mtime, fast link target)`` for ``entries``, from one batched ``stat`` run."""
    inodes = [e.inode for e in entries[:DETAIL_LIMIT]]
    if not inodes:
        return {}
    out = _debugfs(image, "", script="".join(f"stat <{i}>\n" for i in inodes).encode())
    details: dict[int, tuple[float | None, str | None]] = {}
    current: int | None = None
    mtime: float | None = None
    target: str | None = None
    for raw in out.split(b"\n"):
        line = raw.decode(errors="surrogateescape")
        if line.startswith("Inode: "):
            if current is not None:
                details[current] = (mtime, target)
            fields = line.split()
            current, mtime, target = (int(fields[1]) if fields[1].isdigit() else None), None, None
        elif line.lstrip().startswith("mtime: 0x"):
            try:
                mtime = float(int(line.split("0x", 1)[1].split(":", 1)[0], 16))
            except ValueError:
                mtime = None
        elif line.startswith('Fast link dest: "') and line.endswith('"'):
            target = os.fsdecode(raw[len('Fast link dest: "'):-1])
    if current is not None:
        details[current] = (mtime, target)
    return details


def _with_details(image: Path, entries: list[DiskEntry]) -> list[DiskEntry]:
    details = _inode_details(image, entries)
    out: list[DiskEntry] = []
    for entry in entries:
        mtime, target = details.get(entry.inode, (None, None))
        if entry.kind == "symlink" and target is None and entry.size is not None and 0 < entry.size <= LINK_TARGET_MAX:
            target = os.fsdecode(_debugfs(image, f"cat <{entry.inode}>", max_bytes=LINK_TARGET_MAX))  # a slow link
        out.append(replace(entry, modified=mtime, target=target if entry.kind == "symlink" else None))
    return out


def _resolve(image: Path, parts: Parts, action: str) -> DiskEntry | None:
    """The entry for ``parts`` (None for the root), matching names exactly and following no symlink."""
    inode, found = ROOT_INODE, None
    for index, name in enumerate(parts):
        for entry in list_inode(image, inode):
            if entry.name == name:
                found = entry
                break
        else:
            where = join(parts[: index + 1])
            raise FsNotFoundError(f"cannot {action} {show(join(parts))} in `{image}`: {show(where)} does not exist",
                                  join(parts))
        if index < len(parts) - 1 and found.kind != "directory":
            where = join(parts[: index + 1])
            cls = FsSymlinkError if found.kind == "symlink" else FsNotADirectoryError
            raise cls(f"cannot {action} {show(join(parts))} in `{image}`: {show(where)} is not a folder",
                      join(parts))
        inode = found.inode
    return found


def list_dir(image: Path, path: str | bytes = "/") -> list[DiskEntry]:
    """The entries of the folder at ``path`` inside the image (one debugfs call per component)."""
    parts = split_path(path)
    entry = _resolve(image, parts, "list")
    if entry is not None and entry.kind != "directory":
        raise FsNotADirectoryError(f"cannot list {show(join(parts))} in `{image}`: it is not a folder",
                                   join(parts))
    return _with_details(image, list_inode(image, ROOT_INODE if entry is None else entry.inode))


def read_link(image: Path, path: str | bytes) -> str:
    """Where the symlink at ``path`` inside the image points (never followed)."""
    parts = split_path(path)
    entry = _resolve(image, parts, "read the link")
    if entry is None or entry.kind != "symlink":
        raise FsNotRegularFileError(f"{show(join(parts))} in `{image}` is not a symlink", join(parts))
    (found,) = _with_details(image, [entry])
    return found.target or ""


def read_file(image: Path, path: str | bytes, *, max_bytes: int | None = None) -> bytes:
    """The content of the regular file at ``path`` inside the image (at most ``max_bytes``)."""
    parts = split_path(path)
    entry = _resolve(image, parts, "read")
    where = join(parts)
    if entry is None or entry.kind == "directory":
        raise FsIsADirectoryError(f"cannot read {show(where)} in `{image}`: it is a folder", where)
    if entry.kind == "symlink":
        raise FsSymlinkError(f"cannot read {show(where)} in `{image}`: it is a symlink", where)
    if entry.kind != "file":
        raise FsNotRegularFileError(f"cannot read {show(where)} in `{image}`: it is not a regular file", where)
    return _debugfs(image, f"cat <{entry.inode}>", max_bytes=max_bytes)


def filesystem_usage(image: Path) -> Ext4Usage:
    """Block and inode counts from the image's superblock (``debugfs -c -R stats``)."""
    out = _debugfs(image, "stats").decode(errors="replace")
    values: dict[str, int] = {}
    for line in out.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() in ("Block size", "Block count", "Free blocks", "Inode count", "Free inodes"):
            values.setdefault(key.strip(), int(value.split()[0]))
    try:
        return Ext4Usage(values["Block size"], values["Block count"], values["Free blocks"],
                         values["Inode count"], values["Free inodes"])
    except KeyError as exc:
        raise DiskImageError(f"`{image}` does not look like an ext4 image (no {exc.args[0]} in its superblock)") \
            from exc
