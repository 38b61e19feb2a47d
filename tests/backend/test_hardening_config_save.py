"""Issue 19: config saves use exclusive, unpredictable temp files and write a symlinked config.json
through to its target; reading config.json never blocks on a special file."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from backend import fileio
from backend.config.file import read_config_file, save_persisted_config, write_config_text
from backend.config.model import LocalConfig
from backend.errors import ConfigReadError, ConfigWriteError


def test_a_planted_temp_name_is_never_opened(home: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("precious\n")
    (home / "config.json").write_text("{}\n")
    # The old predictable name, as a hard link to a file outside the home and as a symlink.
    os.link(outside, home / f".config.json.tmp-{os.getpid()}")
    os.symlink(outside, home / f".config.json.tmp-{os.getpid()}-0")
    write_config_text(home / "config.json", '{"log_level": "debug"}\n')
    assert outside.read_text() == "precious\n"
    assert json.loads((home / "config.json").read_text()) == {"log_level": "debug"}


def test_temp_names_are_unpredictable(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    used: list[str] = []

    def replace(source: str | Path, target: str | Path) -> None:
        used.append(Path(source).name)
        os.replace(source, target)

    monkeypatch.setattr(fileio, "_replace", replace)
    for level in ("debug", "info", "warn"):
        write_config_text(home / "config.json", json.dumps({"log_level": level}) + "\n")
    assert len(set(used)) == 3
    assert all(name.startswith(f".config.json.tmp-{os.getpid()}-") and len(name) > 30 for name in used)


def test_a_symlinked_config_is_written_through_to_its_target(home: Path, tmp_path: Path) -> None:
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    real = dotfiles / "msb-config.json"
    real.write_text('{"x-mine": 1}\n')
    real.chmod(0o640)
    (home / "config.json").symlink_to(real)
    write_config_text(home / "config.json", '{"log_level": "debug"}\n', backup=True)
    assert (home / "config.json").is_symlink() and os.readlink(home / "config.json") == str(real)
    assert json.loads(real.read_text()) == {"log_level": "debug"}
    assert real.stat().st_mode & 0o777 == 0o640
    assert (home / "config.json.bak").read_text() == '{"x-mine": 1}\n'
    save_persisted_config(LocalConfig.model_validate({"log_level": "warn"}), home / "config.json")
    assert (home / "config.json").is_symlink() and json.loads(real.read_text())["log_level"] == "warn"


def test_a_link_to_something_that_is_not_a_regular_file_is_refused(home: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    (home / "config.json").symlink_to(fifo)
    with pytest.raises(ConfigWriteError, match="not a regular file"):
        write_config_text(home / "config.json", "{}\n")
    assert (home / "config.json").is_symlink() and fifo.is_fifo()


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "huge"])
async def test_a_special_config_file_is_an_error_not_a_hang(home: Path, kind: str) -> None:
    path = home / "config.json"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dev-zero":
        path.symlink_to("/dev/zero")
    else:
        with open(path, "wb") as handle:
            handle.truncate(64 * 1024 * 1024)
    loaded = await asyncio.wait_for(asyncio.to_thread(read_config_file, path), 10)
    assert isinstance(loaded.error, ConfigReadError)
    assert ("larger than" if kind == "huge" else "not a regular file") in loaded.error.message
