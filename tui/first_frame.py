"""The startup benchmark's hook: a screen says when it has drawn its first frame of real data."""

from __future__ import annotations

from typing import Any

from textual.screen import Screen

from tui.services import ServicesApp


def first_data_shown(screen: Screen[Any]) -> None:
    """Once the frame with data is on screen, let the app report it (only the first report counts and
    only under ``MSB_TUI_EXIT_AFTER_FIRST_FRAME``; see ``MsbApp.report_first_frame``)."""
    app = screen.app
    if isinstance(app, ServicesApp) and app.exit_after_first_frame:
        screen.call_after_refresh(app.report_first_frame)
