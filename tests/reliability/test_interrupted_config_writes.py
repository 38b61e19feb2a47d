"""A config.json save that fails or is killed at any step leaves the old or the new file, never a torn one.

The save path is the editor's (:func:`backend.config.changes.save_config_text`: validation, a
``config.json.bak`` of the previous file, then an atomic replace). Each test counts the system calls of
one clean save, then repeats the save once per call with that call failing (EIO, or ENOSPC for
``write``) or with the process killed (SIGKILL) just before it. ``tests/backend/test_config_save_crash.py``
kills at random moments; this file covers every step deterministically.
"""

from __future__ import annotations

import errno
import json
import multiprocessing
import os
import signal
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from backend import LocalBackend, fileio
from backend.config.changes import save_config_text
from backend.errors import ConfigWriteError
from tests.reliability.support import FaultPlan, FaultyOs, watched

OLD_BAK = '{"log_level": "warn"}\n'
OLD = json.dumps({"log_level": "info", "x-unknown": [1, 2, 3], "profiles": {"dev": {}}}, indent=2) + "\n"
NEW = json.dumps({"log_level": "debug", "x-unknown": [1, 2, 3], "profiles": {"dev": {}},
                  "metrics": {"capacity": 64}}, indent=2) + "\n"
MODE = 0o640


def faulty_os(plan: FaultPlan) -> FaultyOs:
    """``os`` for :mod:`backend.fileio` with every step of an atomic write going through ``plan``.

    ``close`` is faulted only for files (after closing, as when a deferred write-back fails); closing a
    folder's descriptor cannot report a lost write.
    """
    proxy = FaultyOs(plan, ("open", "write", "fchmod", "fchown"))

    def close(fd: int) -> None:
        is_file = stat.S_ISREG(os.fstat(fd).st_mode)
        os.close(fd)
        if is_file:
            plan.hit("close")

    proxy.close = close  # type: ignore[attr-defined]
    return proxy


def install(monkeypatch: pytest.MonkeyPatch, plan: FaultPlan) -> None:
    """Every step of an atomic write goes through ``plan``."""
    monkeypatch.setattr(fileio, "os", faulty_os(plan))
    monkeypatch.setattr(fileio, "_fsync", watched(plan, "fsync", os.fsync))
    monkeypatch.setattr(fileio, "_replace", watched(plan, "rename", os.replace))


def prepare(home: Path) -> Path:
    config = home / "config.json"
    for path in home.iterdir():
        path.unlink()
    (home / "config.json.bak").write_text(OLD_BAK)
    config.write_text(OLD)
    config.chmod(MODE)
    return config


def leftovers(home: Path) -> list[str]:
    return sorted(p.name for p in home.iterdir() if p.name not in ("config.json", "config.json.bak"))


def check_whole(home: Path, *, saved: bool | None, backups: tuple[str, ...] = (OLD_BAK, OLD)) -> str:
    """config.json is exactly the old or the new text (the new one iff the save reported success),
    the backup is exactly a version that existed, and the mode survived."""
    config = home / "config.json"
    text = config.read_text()
    assert text in (OLD, NEW), "config.json is torn"
    if saved is not None:
        assert text == (NEW if saved else OLD), f"saved={saved} but config.json holds the other version"
    assert (home / "config.json.bak").read_text() in backups, "config.json.bak is torn"
    assert stat.S_IMODE(config.stat().st_mode) == MODE
    return "new" if text == NEW else "old"


def count_steps(home: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    prepare(home)
    plan = FaultPlan()
    install(monkeypatch, plan)
    save_config_text(LocalBackend.lazy(), NEW, expected_fingerprint=None)
    monkeypatch.setattr(fileio, "os", os)
    monkeypatch.setattr(fileio, "_fsync", os.fsync)
    monkeypatch.setattr(fileio, "_replace", os.replace)
    assert {"write", "fsync", "rename"} <= set(plan.calls), plan.calls
    return list(plan.calls)


@pytest.fixture
def steps(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    yield count_steps(home, monkeypatch)


def test_a_failure_at_any_step_keeps_the_old_file_and_says_so(
    home: Path, monkeypatch: pytest.MonkeyPatch, steps: list[str]
) -> None:
    outcomes: dict[str, int] = {}
    for step, name in enumerate(steps, start=1):
        prepare(home)
        error = errno.ENOSPC if name == "write" else errno.EIO
        install(monkeypatch, FaultPlan(fail_at=step, error=error))
        try:
            save_config_text(LocalBackend.lazy(), NEW, expected_fingerprint=None)
            saved = True
        except ConfigWriteError as exc:
            assert "previous file is unchanged" in exc.message, exc.message
            saved = False
        try:
            outcome = check_whole(home, saved=saved)
        except AssertionError as exc:
            raise AssertionError(f"step {step} ({name}): {exc}") from None
        assert leftovers(home) == [], f"step {step} ({name}) left {leftovers(home)}"
        outcomes[f"{name}:{outcome}"] = outcomes.get(f"{name}:{outcome}", 0) + 1
    # Failures that do not fail the save, on purpose: keeping the owner (fchown) is best effort, and
    # the folder's open/fsync after a rename only make the rename durable. Two writes (the backup, then
    # config.json) each have one of those three steps; every other step refuses and keeps the old file.
    assert outcomes == {"open:old": 2, "write:old": 2, "fchmod:old": 2, "fsync:old": 2, "close:old": 2,
                        "rename:old": 2, "fchown:new": 2, "open:new": 2, "fsync:new": 2}, outcomes


def test_short_writes_still_write_the_whole_file(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    prepare(home)
    real_write = os.write

    def dribble(fd: int, data: bytes) -> int:
        return real_write(fd, bytes(data[:7]))

    proxy = FaultyOs(FaultPlan(), ())
    proxy.write = dribble  # type: ignore[attr-defined]
    monkeypatch.setattr(fileio, "os", proxy)
    save_config_text(LocalBackend.lazy(), NEW, expected_fingerprint=None)
    assert check_whole(home, saved=True) == "new"


def _save_and_die_at(step: int) -> None:
    def die(_name: str) -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    plan = FaultPlan(fail_at=step, action=die)
    fileio.os = faulty_os(plan)  # type: ignore[attr-defined]
    fileio._fsync = watched(plan, "fsync", os.fsync)
    fileio._replace = watched(plan, "rename", os.replace)
    save_config_text(LocalBackend.lazy(), NEW, expected_fingerprint=None)
    os._exit(3)  # not reached when the kill lands


def test_a_kill_at_any_step_leaves_old_or_new_and_the_next_save_cleans_up(
    home: Path, monkeypatch: pytest.MonkeyPatch, steps: list[str]
) -> None:
    context = multiprocessing.get_context("fork")
    seen = set()
    for step, name in enumerate(steps, start=1):
        prepare(home)
        child = context.Process(target=_save_and_die_at, args=(step,))
        child.start()
        child.join(20)
        assert child.exitcode == -signal.SIGKILL, f"step {step} ({name}): exit {child.exitcode}"
        seen.add(check_whole(home, saved=None))
        # A later save (by any process) removes the dead writer's temp file and succeeds.
        save_config_text(LocalBackend.lazy(), NEW, expected_fingerprint=None)
        assert check_whole(home, saved=True, backups=(OLD, NEW)) == "new"
        assert leftovers(home) == [], f"step {step} ({name}) left {leftovers(home)}"
    assert seen == {"old", "new"}
