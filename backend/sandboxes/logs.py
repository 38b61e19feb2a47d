"""Sandbox log files (``sandboxes/<name>/logs/``, reference section 1.3) read without loading them.

The logs folder is reached from the home with every folder below it opened ``O_NOFOLLOW``
(:func:`backend.safeopen.open_dir_below`): ``sandboxes/<n> -> /`` or ``logs -> /etc`` is refused, never
listed. Files are opened ``O_NONBLOCK | O_NOFOLLOW`` relative to that folder and must be regular files,
so a FIFO swapped in for a followed log cannot block.

Logs can be many GB, and one "line" can be GB long. ``tail`` reads backwards in blocks from the end
and stops at a scan budget; ``read_from`` reads forwards from a byte offset for follow. Lines longer
than the cap are cut; bytes that are not UTF-8 are replaced. All file work runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import errno
import os
import re
import stat
from datetime import UTC, datetime
from pathlib import Path

from backend.errors import InvalidQueryError, LogFileNotFoundError, LogReadError
from backend.safeopen import SpecialFileError, open_dir_below, open_regular
from backend.sandboxes.models import LogChunk, LogFileInfo, LogKind

BLOCK = 64 * 1024
LINE_CAP = 64 * 1024  # bytes kept of one line
TAIL_SCAN_BUDGET = 32 * 1024 * 1024  # bytes a tail may read backwards before giving up
MAX_TAIL_LINES = 100_000
MAX_READ = 16 * 1024 * 1024
CUT_MARK = " … [line cut: {n} more bytes]"

_KNOWN_ORDER = ["exec.log", "exec.log.1", "exec.log.2", "exec.log.3", "exec.log.4",
                "runtime.log", "kernel.log", "boot-error.json"]
_KINDS: dict[str, LogKind] = {"runtime.log": "runtime", "kernel.log": "kernel", "boot-error.json": "boot-error"}
_FILE_NAME = re.compile(r"[^/\\\x00]+")


def _kind(name: str) -> tuple[LogKind, int]:
    if name == "exec.log":
        return "exec", 0
    if re.fullmatch(r"exec\.log\.[1-9]", name):
        return "exec", int(name.rsplit(".", 1)[1])
    return _KINDS.get(name, "other"), 0


def _open_logs_dir(anchor: Path, logs_dir: Path) -> int | None:
    """The logs folder's descriptor, reached without following symlinks; None when it does not exist."""
    try:
        return open_dir_below(anchor, logs_dir)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise LogReadError(
                f"`{logs_dir}` is not a real folder (it, or a folder above it, is a symlink or a file); "
                "logs are only read from the sandbox's own folder, so it is not opened") from exc
        raise LogReadError(f"cannot open `{logs_dir}`: {exc.strerror or exc}") from exc


def _list(anchor: Path, logs_dir: Path) -> list[LogFileInfo]:
    folder = _open_logs_dir(anchor, logs_dir)
    if folder is None:
        return []
    out: list[LogFileInfo] = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                try:
                    info = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if not stat.S_ISREG(info.st_mode) or entry.name.endswith(".tmp"):
                    continue
                kind, rotation = _kind(entry.name)
                modified = datetime.fromtimestamp(info.st_mtime, UTC)
                out.append(LogFileInfo(entry.name, kind, info.st_size, modified, rotation))
    except OSError as exc:
        raise LogReadError(f"cannot list `{logs_dir}`: {exc.strerror or exc}") from exc
    finally:
        os.close(folder)
    rank = {name: i for i, name in enumerate(_KNOWN_ORDER)}
    out.sort(key=lambda f: (rank.get(f.name, len(rank)), f.name))
    return out


async def list_log_files(anchor: Path, logs_dir: Path) -> list[LogFileInfo]:
    """Regular files in ``logs_dir`` (reached from ``anchor`` without following symlinks), known ones
    first; [] when the folder does not exist."""
    return await asyncio.to_thread(_list, anchor, logs_dir)


def _check_file(file: object) -> str:
    if not isinstance(file, str) or not _FILE_NAME.fullmatch(file) or file in (".", ".."):
        raise InvalidQueryError(
            f"log file must be a plain file name in the logs folder, such as exec.log; got {file!r}"
        )
    return file


def _open(anchor: Path, logs_dir: Path, sandbox: str, file: str) -> int:
    path = logs_dir / file
    folder = _open_logs_dir(anchor, logs_dir)
    if folder is None:
        raise LogFileNotFoundError(sandbox, file, path)
    try:
        return open_regular(file, dir_fd=folder, follow=False)
    except FileNotFoundError as exc:
        raise LogFileNotFoundError(sandbox, file, path) from exc
    except SpecialFileError as exc:
        raise LogReadError(f"`{path}` is not a regular file ({exc.kind}), so it is not read") from exc
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise LogReadError(f"`{path}` is a symbolic link; only regular log files are read") from exc
        raise LogReadError(f"cannot open `{path}`: {exc.strerror or exc}") from exc
    finally:
        os.close(folder)


def _decode(line: bytes, cap: int, length: int | None = None) -> tuple[str, bool]:
    """One line (without its newline) as text, cut to ``cap`` bytes; and whether it was cut.
    ``length`` is the full length when ``line`` holds only its first bytes."""
    full = len(line) if length is None else length
    if line.endswith(b"\r") and full == len(line):
        line = line[:-1]
        full -= 1
    if full <= cap:
        return line.decode("utf-8", "replace"), False
    return line[:cap].decode("utf-8", "replace") + CUT_MARK.format(n=full - cap), True


def _line_starts(fd: int, scan_end: int, lines: int, budget: int) -> tuple[list[int], int]:
    """Start offsets of the last ``lines`` lines ending before ``scan_end`` (ascending), walking
    backwards in blocks; and the lowest offset looked at (0 when the file start was reached)."""
    starts: list[int] = []
    position = scan_end
    scanned = 0
    while position > 0 and len(starts) < lines and scanned < budget:
        step = min(BLOCK, position, budget - scanned)
        position -= step
        scanned += step
        block = os.pread(fd, step, position)
        index = len(block)
        while len(starts) < lines:
            index = block.rfind(b"\n", 0, index)
            if index < 0:
                break
            starts.append(position + index + 1)
    if len(starts) < lines and position == 0:
        starts.append(0)
    starts.reverse()
    return starts, position


def _tail(fd: int, lines: int, cap: int, budget: int) -> LogChunk:
    size = os.fstat(fd).st_size
    if size == 0:
        return LogChunk((), 0, 0, 0)
    partial = os.pread(fd, 1, size - 1) != b"\n"
    content_end = size if partial else size - 1  # the final newline ends the last line
    starts, looked_from = _line_starts(fd, content_end, lines, budget)
    if not starts:
        # One line longer than the whole scan budget: show its end, say its start is not shown.
        keep = min(cap, content_end)
        data = os.pread(fd, keep, content_end - keep)
        text = "… [start of line not shown] " + data.decode("utf-8", "replace")
        return LogChunk((text,), content_end - keep, size, size, truncated_lines=1,
                        skipped_bytes=content_end - keep)
    ends = [start - 1 for start in starts[1:]] + [content_end]
    texts: list[str] = []
    truncated = 0
    whole = content_end - starts[0] <= 4 * 1024 * 1024
    blob = os.pread(fd, content_end - starts[0], starts[0]) if whole else b""
    for start, end in zip(starts, ends):
        length = end - start
        if whole:
            data = blob[start - starts[0]:end - starts[0]]
        else:
            data = os.pread(fd, min(length, cap + 1), start)
        text, cut = _decode(data, cap, length)
        texts.append(text)
        truncated += cut
    skipped = starts[0] if looked_from > 0 and len(starts) < lines else 0
    end_offset = starts[-1] if partial else size
    return LogChunk(tuple(texts), starts[0], end_offset, size, partial_last=partial,
                    truncated_lines=truncated, skipped_bytes=skipped)


def _tail_file(anchor: Path, logs_dir: Path, sandbox: str, file: str, lines: int) -> LogChunk:
    fd = _open(anchor, logs_dir, sandbox, file)
    try:
        return _tail(fd, lines, LINE_CAP, TAIL_SCAN_BUDGET)
    except OSError as exc:
        raise LogReadError(f"cannot read `{logs_dir / file}`: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)


async def tail_file(anchor: Path, logs_dir: Path, sandbox: str, file: str, lines: int) -> LogChunk:
    """The last ``lines`` lines of ``logs_dir/file`` (see :meth:`Sandboxes.tail`)."""
    file = _check_file(file)
    if not isinstance(lines, int) or isinstance(lines, bool) or not 1 <= lines <= MAX_TAIL_LINES:
        raise InvalidQueryError(f"lines must be a whole number from 1 to {MAX_TAIL_LINES}, got {lines!r}")
    return await asyncio.to_thread(_tail_file, anchor, logs_dir, sandbox, file, lines)


def _read_from(fd: int, offset: int, max_bytes: int, cap: int) -> LogChunk:
    size = os.fstat(fd).st_size
    reset = offset > size
    if reset:
        offset = 0
    data = os.pread(fd, min(max_bytes, size - offset), offset) if size > offset else b""
    read_end = offset + len(data)
    if not data:
        return LogChunk((), offset, offset, size, reset=reset)
    last = data.rfind(b"\n")
    if last < 0 and len(data) == max_bytes:
        # A line longer than the whole read: show its start and move past it.
        text = data[:cap].decode("utf-8", "replace") + " … [line continues]"
        return LogChunk((text,), offset, read_end, size, reset=reset, truncated_lines=1,
                        eof=read_end >= size)
    complete = data[:last] if last >= 0 else b""
    rest = data[last + 1:]
    texts: list[str] = []
    truncated = 0
    if last >= 0:
        for line in complete.split(b"\n"):
            text, cut = _decode(line, cap)
            texts.append(text)
            truncated += cut
    end = offset + last + 1
    if rest:
        text, cut = _decode(rest, cap)
        texts.append(text)
        truncated += cut
    return LogChunk(tuple(texts), offset, end, size, partial_last=bool(rest), reset=reset,
                    truncated_lines=truncated, eof=read_end >= size)


def _read_file_from(anchor: Path, logs_dir: Path, sandbox: str, file: str, offset: int,
                    max_bytes: int) -> LogChunk:
    fd = _open(anchor, logs_dir, sandbox, file)
    try:
        return _read_from(fd, offset, max_bytes, LINE_CAP)
    except OSError as exc:
        raise LogReadError(f"cannot read `{logs_dir / file}`: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)


async def read_file_from(anchor: Path, logs_dir: Path, sandbox: str, file: str, offset: int,
                         max_bytes: int) -> LogChunk:
    """Complete lines after ``offset`` (see :meth:`Sandboxes.read_from`)."""
    file = _check_file(file)
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise InvalidQueryError(f"offset must be a byte position of 0 or more, got {offset!r}")
    if not isinstance(max_bytes, int) or isinstance(max_bytes, bool) or not 1 <= max_bytes <= MAX_READ:
        raise InvalidQueryError(f"max_bytes must be a whole number from 1 to {MAX_READ}, got {max_bytes!r}")
    return await asyncio.to_thread(_read_file_from, anchor, logs_dir, sandbox, file, offset, max_bytes)
