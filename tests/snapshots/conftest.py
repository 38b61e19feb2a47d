"""Fixtures for the snapshot tests: no blinking cursor, no colour override (the demo home, fixed clock and
no auto-refresh come from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from textual.widgets import Input, TextArea


@pytest.fixture(autouse=True)
def steady_cursor(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No text cursor blinks: a capture taken mid-blink would differ from the stored one. The blink
    timers still run, but toggling does nothing, so a focused cursor stays drawn (as with
    ``cursor_blink = False``, which every test used to set on each input by hand)."""
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)
    monkeypatch.setattr(TextArea, "_toggle_cursor_blink_visible", lambda self: None)
    yield


@pytest.fixture(autouse=True)
def colours(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The stored pictures have colours, whatever the developer's NO_COLOR says."""
    monkeypatch.delenv("NO_COLOR", raising=False)
    yield
