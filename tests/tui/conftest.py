"""Fixtures for the Pilot tests: a fixed clock, a demo home per test, no auto-refresh surprises."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.tui.support import build_template, copy_home, pin_ui_environment


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every age and timestamp on screen is computed against the same instant."""
    pin_ui_environment(monkeypatch)
    yield


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo home, built once per session (tests copy it)."""
    return build_template(tmp_path_factory.mktemp("demo-template"))


@pytest.fixture
def demo_home(demo_template: Path, tmp_path: Path) -> Path:
    """A private copy of the demo home."""
    return copy_home(demo_template, tmp_path / "home")
