"""Fixtures of the reliability suite: live copies of the demo home (built once, in tests/conftest.py)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest


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
def live_home(demo_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private live copy of the demo home, set as ``MSB_HOME``."""
    home = live_copy(demo_template, tmp_path / "home")
    monkeypatch.setenv("MSB_HOME", str(home))
    return home
