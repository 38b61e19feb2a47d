"""Damaged homes at the backend: every read of every screen reports a typed error with a clear message
(or copes), nothing raises anything untyped, and no file changes, in writable and read-only mode."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

import pytest

from backend import LocalBackend
from tests.reliability.badfiles import CASES, BadFileCase
from tests.reliability.support import (
    NOBODY,
    assert_unchanged,
    copy_home,
    open_to_everyone,
    run_as_nobody,
    snapshot,
)
from tests.reliability.sweep import read_everything


def chown_tree(root: Path, uid: int) -> None:
    for folder, dirs, files in os.walk(root):
        for name in [folder, *(os.path.join(folder, n) for n in dirs + files)]:
            os.lchown(name, uid, uid)


def sweep_report(home: Path, read_only: bool) -> tuple[int, list[tuple[str, str]]]:
    """Open ``home`` as the app does and read everything; (calls made, [(error type, message)])."""

    async def run() -> tuple[int, list[tuple[str, str]]]:
        builder = LocalBackend.builder().home(home).config_file(home / "config.json")
        backend = (builder.read_only() if read_only else builder).build_lazy()
        try:
            sweep = await read_everything(backend, tolerant=True, per_volume=2)
        finally:
            await backend.close()
        return sweep.calls, [(type(e).__name__, e.message) for e in sweep.errors]

    return asyncio.run(run())


#: The catalog and permission cases open differently in each mode; the others read the same way in both,
#: so they run in the app's default (writable) mode only.
MATRIX = [
    pytest.param(case, read_only, id=f"{case.name}-{'read-only' if read_only else 'writable'}")
    for case in CASES
    for read_only in ((False, True) if case.name.startswith(("db-", "home-", "config-unreadable")) else (False,))
]


@pytest.mark.parametrize(("case", "read_only"), MATRIX)
def test_a_damaged_home_is_reported_and_left_as_it_is(
    case: BadFileCase, read_only: bool, demo_template: Path, tmp_path: Path
) -> None:
    home = copy_home(demo_template, tmp_path / "home")
    if case.needs_unprivileged:
        open_to_everyone(tmp_path)
        chown_tree(home, NOBODY)
    case.damage(home)
    before = snapshot(home)
    if case.needs_unprivileged:
        calls, errors = run_as_nobody(lambda: sweep_report(home, read_only))
    else:
        calls, errors = sweep_report(home, read_only)
    found = {kind for kind, _ in errors}
    for kind, pattern in case.expect:
        assert any(k == kind and re.search(pattern, m) for k, m in errors), (
            f"expected a {kind} matching {pattern!r}; got {errors[:6]}")
    unexpected = found - {kind for kind, _ in case.expect} - case.allowed
    assert not unexpected, f"unexpected errors: {[e for e in errors if e[0] in unexpected][:6]}"
    assert_unchanged(home, before, files_only=not read_only)
    assert calls > 10
