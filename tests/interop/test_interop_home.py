"""A home made by microsandbox opens here unchanged; a home made here works with microsandbox."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from backend import KNOWN_VERSIONS, LocalBackend, SchemaState
from tests.backend.test_migrations import reference_objects, schema_objects
from tests.interop.conftest import SdkRunner

pytestmark = pytest.mark.interop


def dump(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return list(conn.iterdump())


async def test_sdk_home_opens_here_with_no_schema_change(home: Path, sdk: SdkRunner) -> None:
    sdk("volume-create", "made-by-sdk", "--label", "team=ml")
    db = home / "db" / "msb.db"
    before = dump(db)
    assert schema_objects(db) == reference_objects()
    backend = LocalBackend.lazy()
    database = await backend.db()
    await backend.close()
    assert database.status.state is SchemaState.CURRENT
    assert database.migrations_run == 0
    assert dump(db) == before


async def test_sdk_home_opens_read_only_too(home: Path, sdk: SdkRunner) -> None:
    sdk("volume-create", "v")
    backend = LocalBackend.lazy(read_only=True)
    database = await backend.db()
    try:
        assert database.status.state is SchemaState.CURRENT
        async with database.read() as conn:
            assert conn is not None
            names = (await conn.exec_driver_sql("SELECT name FROM volume")).scalars().all()
        assert names == ["v"]
    finally:
        await backend.close()


async def test_home_made_here_works_with_the_sdk(home: Path, sdk: SdkRunner) -> None:
    backend = await LocalBackend.new()
    await backend.close()
    assert sdk("volume-list") == []
    created = sdk("volume-create", "from-sdk", "--quota-mib", "64")
    assert created["name"] == "from-sdk"
    assert [v["name"] for v in sdk("volume-list")] == ["from-sdk"]
    with sqlite3.connect(home / "db" / "msb.db") as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM seaql_migrations ORDER BY version")]
    assert versions == sorted(KNOWN_VERSIONS)
    assert schema_objects(home / "db" / "msb.db") == reference_objects()
