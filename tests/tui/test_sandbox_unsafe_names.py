"""Issue 19: sandbox rows whose name is not a folder name are listed and explained, never opened."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

from textual.widgets import RichLog, TabbedContent

from tests.tui.support import make_app, settle
from tests.tui.test_sandbox_list import names, select
from tui.screens.sandboxes.detail import SandboxDetailPanel


async def test_selecting_and_opening_an_unsafe_sandbox_row_never_reads_outside(demo_home: Path) -> None:
    outside = demo_home / "logs"
    outside.mkdir(exist_ok=True)
    (outside / "exec.log").write_text("a line from outside the sandboxes folder\n")
    with sqlite3.connect(demo_home / "db" / "msb.db") as conn:
        for name in ("..", "../logs"):
            conn.execute(
                "INSERT INTO sandbox (name, config, status, created_at, updated_at) VALUES (?, ?, 'Stopped', "
                "'2030-01-01 00:00:00', '2030-01-01 00:00:00')", (name, json.dumps({"name": name})))
    app = make_app(demo_home)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        assert {"..", "../logs"} <= set(names(app))
        for name in ("..", "../logs"):
            await select(pilot, name)
            panel = app.screen.query_one(SandboxDetailPanel)
            panel.query_one(TabbedContent).active = "tab-logs"
            await asyncio.sleep(0.3)
            await settle(pilot)
            await pilot.press("enter")
            await settle(pilot)
            text = "\n".join(line.text for line in panel.query_one(RichLog).lines)
            assert "outside the sandboxes folder" not in text
        assert app.is_running
