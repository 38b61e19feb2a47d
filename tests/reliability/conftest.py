"""Fixtures of the reliability suite: the demo home (built once), live copies of it, a fixed clock."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.tui.support import build_template, pin_ui_environment


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Screens compute ages against one instant; no auto-refresh or terminal multiplexer surprises."""
    pin_ui_environment(monkeypatch)
    yield


@pytest.fixture(scope="session")
def reliability_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo home (every status, logs, dir and disk volumes, a config with hosts), built once."""
    return build_template(tmp_path_factory.mktemp("reliability-template"))


def live_copy(template: Path, target: Path) -> Path:
    """Copy ``template`` the way an operator copies a production home while microsandbox runs: a
    writer has uncheckpointed transactions, so the copy holds ``msb.db-wal`` and ``msb.db-shm`` too."""
    writer = sqlite3.connect(template / "db" / "msb.db", isolation_level=None)
    try:
        writer.execute("PRAGMA journal_mode=WAL")
        writer.execute("PRAGMA wal_autocheckpoint=0")
        writer.execute("CREATE TABLE copy_probe (x)")  # any real change leaves WAL frames; this one
        writer.execute("DROP TABLE copy_probe")  # leaves the data as it was
        shutil.copytree(template, target, symlinks=True)
    finally:
        writer.close()
    assert (target / "db" / "msb.db-wal").stat().st_size > 0 and (target / "db" / "msb.db-shm").exists()
    return target


@pytest.fixture
def live_home(reliability_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private live copy of the demo home, set as ``MSB_HOME``."""
    home = live_copy(reliability_template, tmp_path / "home")
    monkeypatch.setenv("MSB_HOME", str(home))
    return home
