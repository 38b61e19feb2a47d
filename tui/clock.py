"""The UI's notion of "now", in one place so snapshot tests and screenshots can fix it.

Callers must use ``clock.now()`` (attribute access on the module), never ``from tui.clock import now``,
so that ``monkeypatch.setattr("tui.clock.now", ...)`` reaches them.
"""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)
