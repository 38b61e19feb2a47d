"""Issue 19: a catalog row whose name is not a folder name is listed, flagged, and never opened."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.tui.support import make_app, settle, static_text
from tests.tui.volume_browser_helpers import loaded, notifications, select


async def test_enter_on_an_unsafe_row_explains_and_opens_nothing(demo_home: Path) -> None:
    with sqlite3.connect(demo_home / "db" / "msb.db") as conn:
        for name in ("..", "../sandboxes"):
            conn.execute("INSERT INTO volume (name, kind, created_at, updated_at) VALUES (?, 'dir', "
                         "'2030-01-01 00:00:00', '2030-01-01 00:00:00')", (name,))
    app = make_app(demo_home, initial_screen="volumes")
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        screen = await loaded(pilot)
        rows = {r.name: r for r in screen.rows}
        for name in ("..", "../sandboxes"):
            assert rows[name].flags == ("unsafe",) and not rows[name].browsable
            assert name not in screen.usages or screen.usages[name].usage is None
            await select(pilot, name)
            assert "not a safe folder name" in static_text(screen.query_one("#volume-detail-body"))
            await pilot.press("enter")
            await settle(pilot)
            assert screen.view == "list"
            assert any("not a safe folder name" in m for m in notifications(app))
