"""The header turns read-only as soon as the catalog changes under the app (issue 14)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from backend.db.ledger import MICROSANDBOX_MIGRATIONS
from backend.volumes.models import VolumeConfig
from tests.tui.support import make_app, settle, static_text
from tui.widgets.app_header import AppHeader


def migrate_behind_its_back(home: Path) -> None:
    with closing(sqlite3.connect(home / "db" / "msb.db")) as conn, conn:
        conn.execute("INSERT INTO seaql_migrations VALUES (?, 1)", (MICROSANDBOX_MIGRATIONS[13],))


def header(app: object) -> str:
    return static_text(app.screen.query_one(AppHeader).query_one("#header-status"))  # type: ignore[attr-defined]


async def test_a_refused_write_turns_the_header_read_only_at_once(demo_home: Path) -> None:
    app = make_app(demo_home)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        assert not app.header_state.read_only
        migrate_behind_its_back(demo_home)
        try:
            await app.backend.volumes().create(VolumeConfig("fresh"))
        except Exception as exc:  # noqa: BLE001 - the refusal is what this test wants
            refused = exc
        await pilot.pause()
        assert "changed after it was opened" in str(refused)
        assert app.header_state.read_only
        assert "catalog migrated meanwhile: read-only" in header(app)
        assert "READ-ONLY" in static_text(app.screen.query_one("#header-badges"))
        assert not app.guard_write("remove sandbox")


async def test_the_refresh_tick_notices_a_change_without_any_write(demo_home: Path) -> None:
    app = make_app(demo_home)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        migrate_behind_its_back(demo_home)
        app._recheck_home()
        await settle(pilot)
        assert app.header_state.read_only
        assert "catalog migrated meanwhile: read-only" in header(app)
        tooltip = str(app.screen.query_one(AppHeader).query_one("#header-status").tooltip)
        assert "1 migration(s) were applied by another program" in tooltip
