"""A fresh home's migration (13 Alembic revisions through the async engine) against running
``schema.sql`` directly with ``sqlite3`` (target: at most 5x)."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
from pathlib import Path

from backend import KNOWN_VERSIONS, LocalBackend
from bench.common import Result, measure

SCHEMA = Path(__file__).resolve().parents[1] / "migrations" / "reference_schema.sql"


def _fresh(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def run(workdir: Path, quick: bool) -> list[Result]:
    repeat = 5 if quick else 15
    script = SCHEMA.read_text()
    homes = workdir / "ours"
    plain = workdir / "plain"
    counter = iter(range(10_000))

    def ours() -> None:
        home = _fresh(homes / str(next(counter)))

        async def migrate() -> None:
            backend = LocalBackend.builder().home(home).config_file(home / "config.json").build_lazy()
            await backend.db()
            await backend.close()

        asyncio.run(migrate())

    def reference() -> None:
        folder = _fresh(plain / str(next(counter)))
        os.makedirs(folder / "db")
        conn = sqlite3.connect(folder / "db" / "msb.db")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(script)
        conn.executemany("INSERT INTO seaql_migrations VALUES (?, 0)", [(v,) for v in KNOWN_VERSIONS])
        conn.commit()
        conn.close()

    return [
        Result("fresh home migration (13 revisions)", measure(ours, repeat=repeat), "sqlite3 + schema.sql",
               measure(reference, repeat=repeat), 5.0),
    ]
