"""Sandbox logs: listing, tail from the end, follow from an offset, huge lines, bad bytes, bad input."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from backend import LocalBackend
from backend.errors import InvalidQueryError, InvalidSandboxNameError, LogFileNotFoundError, LogReadError
from backend.sandboxes import logs as sandbox_logs
from backend.sandboxes.service import Sandboxes


@pytest.fixture
def sandboxes(backend: LocalBackend) -> Sandboxes:
    return backend.sandboxes()


@pytest.fixture
def logs(backend: LocalBackend) -> Path:
    folder = backend.sandboxes_dir() / "web" / "logs"
    folder.mkdir(parents=True)
    return folder


def exec_lines(count: int, start: int = 0) -> str:
    return "".join(json.dumps({"seq": i, "stream": "stdout", "data": f"line {i}"}) + "\n"
                   for i in range(start, start + count))


async def test_log_files_in_a_stable_order(sandboxes: Sandboxes, logs: Path) -> None:
    for name in ("kernel.log", "exec.log.2", "boot-error.json", "exec.log", "runtime.log", "exec.log.1",
                 "notes.txt", "boot-error.json.tmp"):
        (logs / name).write_text("x\n")
    (logs / "sub").mkdir()
    os.symlink("/etc/hostname", logs / "link.log")
    files = await sandboxes.log_files("web")
    assert [f.name for f in files] == ["exec.log", "exec.log.1", "exec.log.2", "runtime.log", "kernel.log",
                                       "boot-error.json", "notes.txt"]
    assert [(f.kind, f.rotation) for f in files[:3]] == [("exec", 0), ("exec", 1), ("exec", 2)]
    assert files[5].kind == "boot-error" and files[6].kind == "other" and files[0].size == 2


async def test_log_files_of_a_sandbox_without_logs(sandboxes: Sandboxes) -> None:
    assert await sandboxes.log_files("never-started") == []


async def test_tail_reads_the_last_lines(sandboxes: Sandboxes, logs: Path) -> None:
    (logs / "exec.log").write_text(exec_lines(5000))
    chunk = await sandboxes.tail("web", "exec.log", lines=3)
    assert [json.loads(line)["seq"] for line in chunk.lines] == [4997, 4998, 4999]
    size = (logs / "exec.log").stat().st_size
    assert chunk.end_offset == size and chunk.size == size and not chunk.partial_last
    assert chunk.start_offset == size - len(exec_lines(3, 4997))
    everything = await sandboxes.tail("web", "exec.log", lines=100_000)
    assert len(everything.lines) == 5000 and everything.start_offset == 0 and everything.skipped_bytes == 0


async def test_tail_of_small_empty_and_unterminated_files(sandboxes: Sandboxes, logs: Path) -> None:
    (logs / "empty.log").write_bytes(b"")
    (logs / "runtime.log").write_bytes(b"first\r\n\nthird")
    empty = await sandboxes.tail("web", "empty.log")
    assert empty.lines == () and empty.end_offset == 0
    chunk = await sandboxes.tail("web", "runtime.log", lines=10)
    assert chunk.lines == ("first", "", "third")
    assert chunk.partial_last and chunk.end_offset == len(b"first\r\n\n")


async def test_follow_reads_appended_lines_from_an_offset(sandboxes: Sandboxes, logs: Path) -> None:
    path = logs / "exec.log"
    path.write_text(exec_lines(10))
    chunk = await sandboxes.tail("web", "exec.log", lines=2)
    offset = chunk.end_offset
    nothing = await sandboxes.read_from("web", "exec.log", offset)
    assert nothing.lines == () and nothing.end_offset == offset and nothing.eof
    with path.open("a") as handle:
        handle.write(exec_lines(2, 10) + '{"seq": 12, "par')
    more = await sandboxes.read_from("web", "exec.log", offset)
    assert [json.loads(line)["seq"] for line in more.lines[:2]] == [10, 11]
    assert more.partial_last and more.lines[2] == '{"seq": 12, "par'
    with path.open("a") as handle:
        handle.write('tial"}\n')
    rest = await sandboxes.read_from("web", "exec.log", more.end_offset)
    assert rest.lines == ('{"seq": 12, "partial"}',) and not rest.partial_last
    assert rest.end_offset == path.stat().st_size


async def test_follow_in_small_reads_never_splits_a_line(sandboxes: Sandboxes, logs: Path) -> None:
    (logs / "exec.log").write_text(exec_lines(50))
    offset, seen = 0, list[int]()
    while True:
        chunk = await sandboxes.read_from("web", "exec.log", offset, max_bytes=200)
        complete = chunk.lines[:-1] if chunk.partial_last else chunk.lines
        seen.extend(json.loads(line)["seq"] for line in complete)
        if chunk.end_offset == offset:
            break
        offset = chunk.end_offset
    assert seen == list(range(50))


async def test_follow_after_rotation_restarts_at_zero(sandboxes: Sandboxes, logs: Path) -> None:
    path = logs / "exec.log"
    path.write_text(exec_lines(100))
    offset = path.stat().st_size
    path.rename(logs / "exec.log.1")
    path.write_text(exec_lines(1, 100))
    chunk = await sandboxes.read_from("web", "exec.log", offset)
    assert chunk.reset and chunk.start_offset == 0
    assert [json.loads(line)["seq"] for line in chunk.lines] == [100]


async def test_invalid_utf8_is_replaced(sandboxes: Sandboxes, logs: Path) -> None:
    (logs / "kernel.log").write_bytes(b"ok\n\xff\xfebad \xe2\x82\n")
    chunk = await sandboxes.tail("web", "kernel.log")
    assert chunk.lines == ("ok", "\ufffd\ufffdbad \ufffd")
    follow = await sandboxes.read_from("web", "kernel.log", 0)
    assert follow.lines == chunk.lines


async def test_long_lines_are_cut(sandboxes: Sandboxes, logs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox_logs, "LINE_CAP", 100)
    (logs / "runtime.log").write_bytes(b"short\n" + b"x" * 1000 + b"\nend\n")
    chunk = await sandboxes.tail("web", "runtime.log")
    assert chunk.lines[0] == "short" and chunk.lines[2] == "end"
    assert chunk.lines[1] == "x" * 100 + " … [line cut: 900 more bytes]"
    assert chunk.truncated_lines == 1
    follow = await sandboxes.read_from("web", "runtime.log", 0)
    assert follow.lines == chunk.lines and follow.truncated_lines == 1


async def test_a_two_gigabyte_single_line_is_read_within_bounds(sandboxes: Sandboxes, logs: Path) -> None:
    path = logs / "runtime.log"
    with path.open("wb") as handle:  # sparse: no disk used
        handle.write(b"start ")
        handle.truncate(2 * 1024**3)
        handle.seek(0, os.SEEK_END)
        handle.write(b" the end")
    chunk = await sandboxes.tail("web", "runtime.log", lines=5)
    assert len(chunk.lines) == 1 and chunk.lines[0].startswith("… [start of line not shown]")
    assert chunk.lines[0].endswith(" the end") and len(chunk.lines[0]) < sandbox_logs.LINE_CAP + 100
    assert chunk.skipped_bytes > 2 * 1024**3 - sandbox_logs.LINE_CAP - 100
    follow = await sandboxes.read_from("web", "runtime.log", 0, max_bytes=1 << 20)
    assert len(follow.lines) == 1 and follow.lines[0].startswith("start ")
    assert follow.lines[0].endswith("[line continues]") and follow.end_offset == 1 << 20


async def test_tail_stops_at_its_scan_budget(
    sandboxes: Sandboxes, logs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sandbox_logs, "TAIL_SCAN_BUDGET", 4096)
    (logs / "exec.log").write_text(exec_lines(2000))
    chunk = await sandboxes.tail("web", "exec.log", lines=1000)
    assert 0 < len(chunk.lines) < 1000
    assert json.loads(chunk.lines[-1])["seq"] == 1999
    assert chunk.skipped_bytes == chunk.start_offset > 0


@pytest.mark.parametrize("file", ["../exec.log", "a/b", "", ".", "..", "x\x00y", 7])
async def test_bad_file_names(sandboxes: Sandboxes, logs: Path, file: object) -> None:
    with pytest.raises(InvalidQueryError, match="plain file name"):
        await sandboxes.tail("web", file)  # type: ignore[arg-type]
    with pytest.raises(InvalidQueryError, match="plain file name"):
        await sandboxes.read_from("web", file, 0)  # type: ignore[arg-type]


async def test_missing_symlinked_and_folder_files(sandboxes: Sandboxes, logs: Path) -> None:
    with pytest.raises(LogFileNotFoundError, match="log file not found: exec.log of sandbox 'web'"):
        await sandboxes.tail("web", "exec.log")
    os.symlink("/etc/hostname", logs / "link.log")
    with pytest.raises(LogReadError, match="symbolic link"):
        await sandboxes.tail("web", "link.log")
    (logs / "dir.log").mkdir()
    with pytest.raises(LogReadError):
        await sandboxes.read_from("web", "dir.log", 0)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: s.tail("web", "exec.log", lines=0), "lines"),
        (lambda s: s.tail("web", "exec.log", lines=100_001), "lines"),
        (lambda s: s.read_from("web", "exec.log", -1), "offset"),
        (lambda s: s.read_from("web", "exec.log", 0, max_bytes=0), "max_bytes"),
        (lambda s: s.read_from("web", "exec.log", 0, max_bytes=17 * 1024 * 1024), "max_bytes"),
    ],
)
async def test_bad_numbers(sandboxes: Sandboxes, logs: Path, call: object, message: str) -> None:
    (logs / "exec.log").write_text("x\n")
    with pytest.raises(InvalidQueryError, match=message):
        await call(sandboxes)  # type: ignore[operator]


async def test_bad_sandbox_names(sandboxes: Sandboxes) -> None:
    with pytest.raises(InvalidSandboxNameError):
        await sandboxes.log_files("../../etc")
    with pytest.raises(InvalidSandboxNameError):
        await sandboxes.tail("", "exec.log")
