"""Issue 19: logs are opened without following any symlink below the home, and never block."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from backend import LocalBackend
from backend.errors import LogReadError


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    (folder / "logs").mkdir(parents=True)
    for target in (folder / "secret.log", folder / "logs" / "exec.log"):
        target.write_text("secret line\n")
    return folder


async def refused_everywhere(backend: LocalBackend, name: str, file: str) -> None:
    sandboxes = backend.sandboxes()
    for call in (sandboxes.log_files(name), sandboxes.tail(name, file), sandboxes.read_from(name, file, 0)):
        with pytest.raises(LogReadError, match="not a real folder"):
            await asyncio.wait_for(call, 10)


async def test_a_symlinked_logs_folder_is_not_followed(backend: LocalBackend, outside: Path) -> None:
    folder = backend.sandboxes_dir() / "web"
    folder.mkdir(parents=True)
    os.symlink(outside, folder / "logs")
    await refused_everywhere(backend, "web", "secret.log")


async def test_a_symlinked_sandbox_folder_is_not_followed(backend: LocalBackend, outside: Path) -> None:
    backend.sandboxes_dir().mkdir(parents=True, exist_ok=True)
    os.symlink(outside, backend.sandboxes_dir() / "web")
    await refused_everywhere(backend, "web", "exec.log")


async def test_a_symlinked_sandboxes_folder_inside_the_home_is_not_followed(
        backend: LocalBackend, outside: Path, tmp_path: Path) -> None:
    (outside / "web").mkdir()
    os.symlink(outside / "logs", outside / "web" / "logs")
    sandboxes = backend.sandboxes_dir()
    if sandboxes.exists():
        sandboxes.rmdir()
    os.symlink(outside, sandboxes)
    await refused_everywhere(backend, "web", "exec.log")


async def test_a_followed_log_replaced_by_a_fifo_does_not_block(backend: LocalBackend) -> None:
    logs = backend.sandboxes_dir() / "web" / "logs"
    logs.mkdir(parents=True)
    (logs / "exec.log").write_text("one\n")
    sandboxes = backend.sandboxes()
    chunk = await sandboxes.tail("web", "exec.log")
    (logs / "exec.log").unlink()
    os.mkfifo(logs / "exec.log")
    for call in (sandboxes.read_from("web", "exec.log", chunk.end_offset), sandboxes.tail("web", "exec.log")):
        with pytest.raises(LogReadError, match="not a regular file"):
            await asyncio.wait_for(call, 10)
