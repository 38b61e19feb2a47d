"""Fixtures for the snapshot tests: fixed clock, demo home, no blinking cursor, no auto-refresh."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.tui.support import build_template, copy_home, fixed_now


@pytest.fixture(autouse=True)
def deterministic(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Same instant, no timers firing mid-capture, no terminal-specific clipboard paths."""
    monkeypatch.setattr("tui.clock.now", fixed_now)
    monkeypatch.setenv("MSB_TUI_REFRESH_SECS", "600")
    monkeypatch.delenv("TMUX", raising=False)
    monkeypatch.delenv("STY", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    yield


@pytest.fixture(scope="session")
def snapshot_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo home, built once per session."""
    return build_template(tmp_path_factory.mktemp("snapshot-template"))


@pytest.fixture
def demo_home(snapshot_template: Path, tmp_path: Path) -> Path:
    """A private copy of the demo home."""
    return copy_home(snapshot_template, tmp_path / "home")
