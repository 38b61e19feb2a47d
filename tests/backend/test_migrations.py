"""Migrations: exact schema, idempotence, adoption of microsandbox homes, recovery, newer schemas."""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from backend import KNOWN_VERSIONS, LocalBackend, SchemaState
from backend.db.migrate import alembic_config
from backend.errors import DatabaseError, ReadOnlyError
from tests.data import DATA

REFERENCE_SCHEMA = DATA / "schema.sql"
SEED_TABLES = [
    "config", "image_ref", "layer", "maintenance_lease", "manifest", "manifest_layer", "run", "sandbox",
    "sandbox_labels", "sandbox_rootfs", "snapshot_index", "volume", "volume_attach",
]


def schema_objects(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT IN ('sqlite_sequence', "
            "'alembic_version')"
        ).fetchall()
    return {row[0] for row in rows}


def reference_objects() -> set[str]:
    return {
        line.strip().removesuffix(";")
        for line in REFERENCE_SCHEMA.read_text().splitlines()
        if line.startswith("CREATE")
    }


def seaql_versions(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT version FROM seaql_migrations ORDER BY rowid")]


def logical_dump(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return list(conn.iterdump())


def file_digest(folder: Path) -> dict[str, tuple[str, int]]:
    return {
        str(p.relative_to(folder)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_single_head_and_thirteen_revisions() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    assert script.get_heads() == ["0013"]
    assert len(list(script.walk_revisions())) == 13


async def test_fresh_home_builds_exactly_the_reference_schema(backend: LocalBackend, home: Path) -> None:
    db = home / "db" / "msb.db"
    assert db.exists()
    assert backend.schema_status.state is SchemaState.CREATED
    assert schema_objects(db) == reference_objects()
    assert seaql_versions(db) == list(KNOWN_VERSIONS)
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'seaql_%' "
            "AND name NOT IN ('sqlite_sequence', 'alembic_version') ORDER BY name")]
        assert tables == SEED_TABLES
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_rerun_is_a_no_op(home: Path) -> None:
    first = LocalBackend.lazy()
    await first.db()
    await first.close()
    before = schema_objects(home / "db" / "msb.db")
    second = LocalBackend.lazy()
    database = await second.db()
    await second.close()
    assert database.status.state is SchemaState.CURRENT
    assert database.migrations_run == 0
    assert schema_objects(home / "db" / "msb.db") == before
    assert seaql_versions(home / "db" / "msb.db") == list(KNOWN_VERSIONS)


async def test_ten_concurrent_first_callers_migrate_once(home: Path) -> None:
    backend = LocalBackend.lazy()
    try:
        results = await asyncio.gather(*(backend.db() for _ in range(10)))
        assert {id(r) for r in results} == {id(backend.database)}
        assert backend.database.migrations_run == 1
    finally:
        await backend.close()


async def test_failed_init_is_not_cached(home: Path) -> None:
    (home / "db").write_text("a file where the db folder belongs")
    backend = LocalBackend.lazy()
    with pytest.raises(DatabaseError, match="cannot create"):
        await backend.db()
    (home / "db").unlink()
    database = await backend.db()
    assert database.status.state is SchemaState.CREATED
    await backend.close()


async def test_partial_storage_migration_recovers(home: Path) -> None:
    """Reference test: migrations 1-2 applied, volume/snapshot made by hand, then a normal open."""
    backend = LocalBackend.lazy()
    await backend.db()
    await backend.close()
    db = home / "db" / "msb.db"
    db.unlink()
    # Build a DB at "migrations 1-2 applied" by replaying our own revisions 1-2 then trimming seaql.
    from alembic import command
    from sqlalchemy import create_engine

    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        cfg = alembic_config(conn)
        command.upgrade(cfg, "0002")
        conn.commit()
    engine.dispose()
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(
            "CREATE TABLE volume (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, "
            "quota_mib INTEGER, size_bytes BIGINT, labels TEXT, created_at DATETIME, updated_at DATETIME)"
        )
        conn.execute(
            "CREATE TABLE snapshot (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, sandbox_id INTEGER "
            "REFERENCES sandbox(id) ON DELETE SET NULL, size_bytes BIGINT, description TEXT, created_at DATETIME)"
        )
        conn.execute("CREATE UNIQUE INDEX idx_snapshots_name_sandbox_unique ON snapshot (name, sandbox_id)")
        conn.execute("DROP TABLE alembic_version")
    assert seaql_versions(db) == list(KNOWN_VERSIONS[:2])
    backend = LocalBackend.lazy()
    database = await backend.db()
    await backend.close()
    assert database.status.state is SchemaState.UPGRADED
    versions = seaql_versions(db)
    assert versions.count("m20260305_000003_create_storage_tables") == 1
    assert versions == list(KNOWN_VERSIONS)
    with sqlite3.connect(db) as conn:
        volume_sql = conn.execute("SELECT sql FROM sqlite_master WHERE name='volume'").fetchone()[0]
        assert "DATETIME" in volume_sql and '"disk_fstype" text' in volume_sql
        assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name='snapshot'").fetchone()[0] == 0


async def test_legacy_oci_string_is_rewritten_by_migration_8(home: Path) -> None:
    from alembic import command
    from sqlalchemy import create_engine

    db = home / "db" / "msb.db"
    db.parent.mkdir()
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        command.upgrade(alembic_config(conn), "0007")
        conn.exec_driver_sql(
            "INSERT INTO sandbox (name, config, status) VALUES "
            """('legacy', '{"name":"legacy","image":{"Oci":"ubuntu"}}', 'Stopped'),"""
            """('modern', '{"name":"modern","image":{"Oci":{"reference":"alpine"}}}', 'Stopped')"""
        )
        conn.commit()
    engine.dispose()
    backend = LocalBackend.lazy()
    await backend.db()
    await backend.close()
    with sqlite3.connect(db) as conn:
        rows = dict(conn.execute("SELECT name, config FROM sandbox").fetchall())
    assert json.loads(rows["legacy"])["image"]["Oci"] == {"reference": "ubuntu", "upper_size_mib": 4096}
    assert rows["modern"] == '{"name":"modern","image":{"Oci":{"reference":"alpine"}}}'


async def test_unparsable_sandbox_config_fails_migration_8_clearly(home: Path) -> None:
    from alembic import command
    from sqlalchemy import create_engine

    db = home / "db" / "msb.db"
    db.parent.mkdir()
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        command.upgrade(alembic_config(conn), "0007")
        conn.exec_driver_sql("INSERT INTO sandbox (name, config, status) VALUES ('bad', '{oops', 'Stopped')")
        conn.commit()
    engine.dispose()
    backend = LocalBackend.lazy()
    with pytest.raises(DatabaseError, match="parse sandbox config JSON"):
        await backend.db()
    await backend.close()
    # The failed migration rolled back as a whole: its seaql row is absent, earlier ones stay.
    assert seaql_versions(db) == list(KNOWN_VERSIONS[:7])


def make_microsandbox_style_home(home: Path) -> Path:
    """A catalog as microsandbox leaves it: the reference schema and 13 seaql rows, no Alembic table."""
    db = home / "db" / "msb.db"
    db.parent.mkdir(parents=True)
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute('CREATE TABLE "seaql_migrations" ( "version" varchar NOT NULL PRIMARY KEY, '
                     '"applied_at" bigint NOT NULL )')
        for statement in sorted(reference_objects()):
            if statement.startswith("CREATE TABLE"):
                if '"seaql_migrations"' not in statement:
                    conn.execute(statement)
        for statement in reference_objects():
            if "INDEX" in statement:
                conn.execute(statement)
        conn.executemany("INSERT INTO seaql_migrations VALUES (?, 1780000000)", [(v,) for v in KNOWN_VERSIONS])
    conn.close()
    return db


async def test_microsandbox_home_is_adopted_without_any_change(home: Path) -> None:
    db = make_microsandbox_style_home(home)
    before = logical_dump(db)
    backend = LocalBackend.lazy()
    database = await backend.db()
    await backend.close()
    assert database.status.state is SchemaState.CURRENT
    assert database.migrations_run == 0
    assert schema_objects(db) == reference_objects()
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name='alembic_version'").fetchone()[0] == 0
    # Closing checkpoints the WAL (as microsandbox does), so compare content, not bytes.
    assert logical_dump(db) == before


async def test_newer_schema_opens_read_only_and_changes_nothing(home: Path) -> None:
    db = make_microsandbox_style_home(home)
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO seaql_migrations VALUES ('m20270101_000001_future_feature', 1790000000)")
        conn.execute("CREATE TABLE future_things (id integer)")
        conn.execute('ALTER TABLE "volume" ADD COLUMN "future_col" text')
    conn.close()
    before = file_digest(home)
    backend = LocalBackend.lazy()
    database = await backend.db()
    try:
        assert database.status.state is SchemaState.TOO_NEW
        assert database.status.info.unknown == ("m20270101_000001_future_feature",)
        assert "newer than supported" in database.status.message
        assert backend.read_only
        with pytest.raises(ReadOnlyError, match="newer microsandbox"):
            backend.ensure_writable("create volume")
        async with database.read() as reader:
            assert reader is not None
            result = await reader.exec_driver_sql("SELECT count(*) FROM volume")
            assert result.scalar_one() == 0
        with pytest.raises(ReadOnlyError):
            await database.write("create volume", lambda conn: asyncio.sleep(0))
    finally:
        await backend.close()
    assert file_digest(home) == before


def test_migrations_run_from_any_directory_and_print_nothing(home: Path) -> None:
    import os
    import subprocess
    import sys

    code = (
        "import asyncio\n"
        "from backend import LocalBackend\n"
        "async def main():\n"
        "    b = LocalBackend.lazy()\n"
        "    await b.db()\n"
        "    await b.close()\n"
        "asyncio.run(main())\n"
    )
    project = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(project), "MSB_HOME": str(home)}
    result = subprocess.run([sys.executable, "-c", code], cwd="/", env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert (result.stdout, result.stderr) == ("", "")
    assert seaql_versions(home / "db" / "msb.db") == list(KNOWN_VERSIONS)
