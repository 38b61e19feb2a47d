"""LocalBackend: laziness, builder merge, accessors, ambient scoping, read-only mode and DB faults."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from backend import (
    BackendKind,
    LocalBackend,
    LocalConfig,
    SchemaState,
    backend_scope,
    default_backend,
    set_default_backend,
    swap_default_backend,
    with_backend,
)
from backend.config.model import RegistryEntry
from backend.errors import ConfigParseError, DatabaseBusyError, DatabaseError, ReadOnlyError

PROJECT = Path(__file__).resolve().parents[2]


def test_backend_never_imports_textual_or_tui() -> None:
    code = (
        "import sys, backend, backend.local, backend.config.model, backend.db.database, backend.volumes.service, "
        "backend.sandboxes.service, backend.ambient\n"
        "import pkgutil, importlib\n"
        "for m in pkgutil.walk_packages(backend.__path__, 'backend.'): importlib.import_module(m.name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'tui'))\n"
        "print(','.join(bad))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_lazy_does_no_io(home: Path) -> None:
    (home / "config.json").write_text("{ not json")
    backend = LocalBackend.lazy()
    assert list(home.iterdir()) == [home / "config.json"]
    assert backend.kind() is BackendKind.LOCAL
    # First use of the config reads the file; a malformed one falls back to defaults and is recorded.
    assert backend.config == LocalConfig()
    assert isinstance(backend.config_error, ConfigParseError)
    assert sorted(p.name for p in home.iterdir()) == ["config.json"]


def test_accessors_follow_home_and_paths(home: Path) -> None:
    (home / "config.json").write_text(json.dumps({"paths": {"volumes": str(home / "vols")}}))
    backend = LocalBackend.lazy()
    assert backend.home() == home
    assert backend.volumes_dir() == home / "vols"
    assert backend.volume_path("data") == home / "vols" / "data"
    assert backend.sandboxes_dir() == home / "sandboxes"
    assert backend.snapshots_dir() == home / "snapshots"
    assert backend.cache_dir() == home / "cache"
    assert backend.logs_dir() == home / "logs"
    assert backend.secrets_dir() == home / "secrets"
    assert backend.config_path == home / "config.json"


def test_builder_merge_keeps_every_unset_field() -> None:
    base = LocalConfig.model_validate({
        "log_level": "debug",
        "database": {"max_connections": 9, "connect_timeout_secs": 17, "busy_timeout_secs": 23},
        "sandbox_defaults": {"cpus": 4, "memory_mib": 2048, "shell": "/bin/zsh", "workdir": "/work",
                             "metrics_sample_interval_ms": 750, "disable_metrics_sample": True},
        "registries": {"ca_certs": "/ca.pem", "hosts": {"a": {"insecure": True}}},
    })
    merged = LocalBackend.builder().default_cpus(2).merge_into(base)
    assert merged.sandbox_defaults.cpus == 2
    assert merged.model_dump() == base.model_copy(
        update={"sandbox_defaults": base.sandbox_defaults.model_copy(update={"cpus": 2})}
    ).model_dump()


def test_builder_overrides_every_field(tmp_path: Path) -> None:
    builder = (
        LocalBackend.builder()
        .home(tmp_path / "h").sandboxes_dir("/s").volumes_dir("/v").snapshots_dir("/sn").cache_dir("/c")
        .logs_dir("/l").secrets_dir("/se").max_connections(2).connect_timeout_secs(3).busy_timeout_secs(4)
        .default_cpus(5).default_memory_mib(6).shell("/bin/bash").workdir("/w").metrics_sample_interval_ms(0)
        .disable_metrics_sample(True).ca_certs(None).registry_hosts({"x": RegistryEntry(insecure=True)})
        .log_level("trace")
    )
    base = LocalConfig.model_validate({"registries": {"ca_certs": "/old.pem", "hosts": {"y": {}}}})
    merged = builder.merge_into(base)
    assert merged.home == str(tmp_path / "h")
    assert (merged.paths.sandboxes, merged.paths.volumes, merged.paths.snapshots) == ("/s", "/v", "/sn")
    assert (merged.paths.cache, merged.paths.logs, merged.paths.secrets) == ("/c", "/l", "/se")
    assert (merged.database.max_connections, merged.database.connect_timeout_secs) == (2, 3)
    assert merged.database.busy_timeout_secs == 4
    defaults = merged.sandbox_defaults
    assert (defaults.cpus, defaults.memory_mib, defaults.shell, defaults.workdir) == (5, 6, "/bin/bash", "/w")
    assert defaults.metrics_interval is None and defaults.disable_metrics_sample
    assert merged.registries.ca_certs is None
    assert list(merged.registries.hosts) == ["x"]
    assert merged.log_level == "trace"


async def test_builder_build_merges_persisted_config_and_connects(home: Path, tmp_path: Path) -> None:
    (home / "config.json").write_text('{"sandbox_defaults": {"cpus": 3}, "log_level": "info"}')
    other = tmp_path / "other-home"
    backend = await LocalBackend.builder().home(other).default_memory_mib(1024).build()
    try:
        assert backend.config.sandbox_defaults.cpus == 3
        assert backend.config.sandbox_defaults.memory_mib == 1024
        assert backend.config.log_level == "info"
        assert (other / "db" / "msb.db").exists()
        assert not (home / "db").exists()
    finally:
        await backend.close()


async def test_new_connects_and_every_connection_has_the_pragmas(home: Path) -> None:
    backend = await LocalBackend.new()
    try:
        database = await backend.db()
        async with database.read() as conn:
            assert conn is not None
            fk = (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar_one()
            sync = (await conn.exec_driver_sql("PRAGMA synchronous")).scalar_one()
            busy = (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar_one()
            mode = (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar_one()
        assert (fk, sync, busy, mode) == (1, 1, 5000, "wal")

        async def insert(conn: object) -> int:
            result = await conn.execute(  # type: ignore[attr-defined]
                text("INSERT INTO volume (name, kind) VALUES ('v', 'dir') RETURNING id")
            )
            return int(result.scalar_one())

        assert await database.write("insert a row", insert) == 1
    finally:
        await backend.close()


async def test_read_only_backend_creates_nothing(home: Path) -> None:
    backend = LocalBackend.lazy(read_only=True)
    database = await backend.db()
    try:
        assert database.status.state is SchemaState.MISSING
        async with database.read() as conn:
            assert conn is None
        with pytest.raises(ReadOnlyError, match="cannot remove volume: the backend was opened read-only"):
            backend.ensure_writable("remove volume")
        with pytest.raises(ReadOnlyError):
            await database.write("insert", lambda conn: asyncio.sleep(0))
    finally:
        await backend.close()
    assert list(home.iterdir()) == []


async def test_read_only_backend_reads_an_existing_home(home: Path) -> None:
    writable = await LocalBackend.new()
    await writable.close()
    backend = LocalBackend.builder().read_only().build_lazy()
    try:
        database = await backend.db()
        assert database.status.state is SchemaState.CURRENT
        async with database.read() as conn:
            assert conn is not None
            with pytest.raises(Exception, match="readonly"):
                await conn.exec_driver_sql("INSERT INTO volume (name, kind) VALUES ('x', 'dir')")
    finally:
        await backend.close()


async def test_a_file_that_is_not_a_database_gives_a_clear_error(home: Path) -> None:
    (home / "db").mkdir()
    garbage = b"this is not sqlite at all" * 100
    (home / "db" / "msb.db").write_bytes(garbage)
    for read_only in (False, True):
        backend = LocalBackend.lazy(read_only=read_only)
        with pytest.raises(DatabaseError, match="is not a SQLite database"):
            await backend.db()
        await backend.close()
    assert (home / "db" / "msb.db").read_bytes() == garbage


async def test_truncated_database_gives_a_clear_error(home: Path) -> None:
    writable = await LocalBackend.new()
    await writable.close()
    db = home / "db" / "msb.db"
    db.write_bytes(db.read_bytes()[:5000])
    backend = LocalBackend.lazy(read_only=True)
    with pytest.raises(DatabaseError):
        await backend.db()
    await backend.close()


async def test_unwritable_home_says_to_use_read_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MSB_HOME", "/proc/msb-tui-cannot-exist")
    backend = LocalBackend.lazy()
    with pytest.raises(DatabaseError, match="--read-only"):
        await backend.db()
    await backend.close()


async def test_write_lock_held_elsewhere_gives_database_busy(home: Path) -> None:
    (home / "config.json").write_text('{"database": {"busy_timeout_secs": 0}}')
    backend = await LocalBackend.new()
    holder = sqlite3.connect(home / "db" / "msb.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        database = await backend.db()

        async def insert(conn: object) -> None:
            await conn.execute(text("INSERT INTO volume (name, kind) VALUES ('v', 'dir')"))  # type: ignore[attr-defined]

        started = time.monotonic()
        with pytest.raises(DatabaseBusyError, match="database busy"):
            await database.write("create volume", insert)
        # Eight attempts with the reference backoff: about 1.1 s of sleeps.
        assert time.monotonic() - started >= 1.0
        holder.execute("ROLLBACK")
        await database.write("create volume", insert)
    finally:
        holder.close()
        await backend.close()


async def test_busy_retry_succeeds_once_the_lock_goes(home: Path) -> None:
    (home / "config.json").write_text('{"database": {"busy_timeout_secs": 0}}')
    backend = await LocalBackend.new()
    holder = sqlite3.connect(home / "db" / "msb.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        database = await backend.db()
        loop = asyncio.get_running_loop()
        loop.call_later(0.1, holder.execute, "ROLLBACK")

        async def insert(conn: object) -> str:
            await conn.execute(text("INSERT INTO volume (name, kind) VALUES ('v', 'dir')"))  # type: ignore[attr-defined]
            return "done"

        assert await database.write("create volume", insert) == "done"
    finally:
        holder.close()
        await backend.close()


async def test_default_backend_and_scopes(tmp_path: Path) -> None:
    original = default_backend()
    assert original.kind() is BackendKind.LOCAL
    a = LocalBackend.builder().home(tmp_path / "a").build_lazy()
    b = LocalBackend.builder().home(tmp_path / "b").build_lazy()
    previous = swap_default_backend(a)
    try:
        assert previous is original
        assert default_backend() is a

        async def which() -> LocalBackend:
            await asyncio.sleep(0)
            return default_backend()

        assert await with_backend(b, which()) is b
        assert default_backend() is a
        with backend_scope(b):
            assert default_backend() is b
            assert await asyncio.create_task(which()) is b
        assert default_backend() is a
    finally:
        set_default_backend(previous)
    assert default_backend() is original


def snapshot_files(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


async def test_read_only_reads_leave_every_file_byte_identical(home: Path) -> None:
    writable = await LocalBackend.new()
    await writable.close()
    before = snapshot_files(home)
    assert not (home / "db" / "msb.db-wal").exists()
    backend = LocalBackend.lazy(read_only=True)
    try:
        database = await backend.db()
        for _ in range(3):
            async with database.read() as conn:
                assert conn is not None
                await conn.exec_driver_sql("SELECT count(*) FROM sandbox")
    finally:
        await backend.close()
    assert snapshot_files(home) == before


async def test_read_only_sees_rows_written_by_a_live_writer(home: Path) -> None:
    writable = await LocalBackend.new()
    await writable.close()
    other = sqlite3.connect(home / "db" / "msb.db", isolation_level=None)
    other.execute("PRAGMA journal_mode=WAL")
    other.execute("INSERT INTO volume (name, kind) VALUES ('live', 'dir')")
    backend = LocalBackend.lazy(read_only=True)
    try:
        database = await backend.db()
        async with database.read() as conn:
            assert conn is not None
            names = (await conn.exec_driver_sql("SELECT name FROM volume")).scalars().all()
        assert names == ["live"]
    finally:
        other.close()
        await backend.close()


def test_an_explicit_home_is_read_as_msb_home_would_be(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``LocalBackend.lazy(home=...)`` is the command line's way in: no ``MSB_HOME`` involved, the same
    resolution (the file's ``home`` key wins, ``MSB_CONFIG_PATH`` still names the file)."""
    home = tmp_path / "given"
    home.mkdir()
    backend = LocalBackend.lazy(home=home)
    assert backend.config_path == home / "config.json"
    assert backend.home() == home and backend.volumes_dir() == home / "volumes"
    assert backend.config.db_path() == home / "db" / "msb.db"
    (home / "config.json").write_text('{"home": "%s"}' % (tmp_path / "data"))
    assert backend.reload_config().home_dir() == tmp_path / "data", "the file's home key wins"
    (home / "config.json").write_text("{}")
    assert backend.reload_config().home_dir() == home, "and the explicit home stays after a reload"
    monkeypatch.setenv("MSB_CONFIG_PATH", str(tmp_path / "elsewhere.json"))
    assert LocalBackend.lazy(home=home).config_path == tmp_path / "elsewhere.json"
    assert LocalBackend.lazy(home=home, config_file=home / "c.json").config_path == home / "c.json"
