"""Async SQLite engines with microsandbox's pool layout and pragmas (reference section 4.1-4.2).

One writer connection and a read pool of ``database.max_connections``. Every connection sets WAL,
foreign keys, ``synchronous=NORMAL`` and the busy timeout; read-only engines open the file with
``mode=ro`` and set nothing that writes. Transactions on the writer begin with ``BEGIN IMMEDIATE`` so a
read-then-write never fails with an instant SQLITE_BUSY; SQLITE_BUSY is retried with the reference's
backoff (8 attempts, 10 ms doubling, capped at 500 ms).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Literal, TypeVar

import aiosqlite
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool, NullPool

from backend.db.snapshot import WalSnapshots
from backend.errors import DatabaseBusyError, DatabaseError

T = TypeVar("T")

BUSY_CODES = frozenset({5, 517})  # SQLITE_BUSY, SQLITE_BUSY_SNAPSHOT
MAX_ATTEMPTS = 8
FIRST_DELAY = 0.010
MAX_DELAY = 0.500

EngineMode = Literal["write", "read", "read_only"]

#: Memory-mapped I/O for readers (bytes).
READ_MMAP_SIZE = 256 * 1024 * 1024


def sqlite_uri(path: Path, mode: str) -> str:
    """A ``file:`` URI for ``path`` (percent-encoded, so odd names are safe) with ``mode``."""
    return f"{path.absolute().as_uri()}?mode={mode}"


def shm_in_use(shm: Path) -> bool | None:
    """Whether another process holds a lock on the catalog's ``-shm`` file, as every SQLite connection
    using it does. None when that cannot be told (no ``/proc/locks``). This process's own locks do not
    count: its connections share one index per file, however each was opened.

    Read from ``/proc/locks`` rather than by opening the file: closing a descriptor of a file drops
    every POSIX lock this process holds on it, including those of its own SQLite connections.
    """
    try:
        info = os.stat(shm)
    except FileNotFoundError:
        return False
    except OSError:
        return None
    try:
        with open("/proc/locks", "rb") as table:
            locks = table.read()
    except OSError:
        return None
    key = f"{os.major(info.st_dev):02x}:{os.minor(info.st_dev):02x}:{info.st_ino}".encode()
    me = str(os.getpid()).encode()
    for line in locks.splitlines():  # "7: POSIX  ADVISORY  READ 844 fe:00:2564179 123 123"
        fields = line.split()
        if key in fields:
            where = fields.index(key)
            if where > 0 and fields[where - 1] != me:
                return True
    return False


def read_only_options(path: Path) -> str:
    """Extra URI options so a read-only connection writes nothing to the catalog's files.

    No ``-wal``: no writer is active, so ``immutable=1`` reads without even creating ``-shm``. A
    ``-wal`` without ``-shm`` is read from a private copy instead (see :mod:`backend.db.snapshot`). A
    ``-wal`` and ``-shm`` that no process holds (a copied or stopped home): the first connection would
    re-initialise the ``-shm`` index file, so ``readonly_shm=1`` makes SQLite build the index in
    private memory instead. A live writer: plain ``mode=ro``, sharing the index as SQLite must.
    """
    wal = path.with_name(path.name + "-wal")
    shm = path.with_name(path.name + "-shm")
    try:
        if not wal.exists():
            return "&immutable=1"
        if shm.exists() and shm_in_use(shm) is False:
            return "&readonly_shm=1"
    except OSError:  # the folder cannot be searched: SQLite will report it
        pass
    return ""


def make_engine(path: Path, mode: EngineMode, *, pool_size: int, connect_timeout: float,
                busy_timeout: float) -> AsyncEngine:
    """Create (without connecting) an engine for ``path``.

    ``write``: one connection that may create the file. ``read``: a pool that never creates it.
    ``read_only``: ``mode=ro`` connections that write nothing, not even the journal mode.
    """
    uri = sqlite_uri(path, {"write": "rwc", "read": "rw", "read_only": "ro"}[mode])
    snapshots = WalSnapshots(path) if mode == "read_only" else None

    async def connect() -> Any:
        # Decided per connection (read-only ones are short-lived), so a writer appearing or going
        # away is noticed; a read-only session leaves every file byte-identical.
        if snapshots is not None and snapshots.needed():
            copy = await asyncio.to_thread(_snapshot_or_none, snapshots)
            if copy is not None:
                return await aiosqlite.connect(sqlite_uri(copy, "ro"), uri=True, timeout=busy_timeout,
                                               isolation_level=None)
        options = read_only_options(path) if mode == "read_only" else ""
        connection = await aiosqlite.connect(uri + options, uri=True, timeout=busy_timeout, isolation_level=None)
        if options == "&readonly_shm=1":
            # A WAL left by a stopped writer may need recovery, which a private index cannot do
            # ("unable to open database file"): then read like any other reader.
            try:
                await connection.execute("SELECT 1 FROM sqlite_master LIMIT 1")
            except sqlite3.Error:
                await connection.close()
                connection = await aiosqlite.connect(uri, uri=True, timeout=busy_timeout, isolation_level=None)
        return connection

    pool: dict[str, Any] = (
        # Read-only connections are short-lived so each one re-checks for a WAL (a writer appearing).
        {"poolclass": NullPool}
        if mode == "read_only"
        else {"poolclass": AsyncAdaptedQueuePool, "pool_size": max(1, pool_size), "max_overflow": 0,
              "pool_timeout": connect_timeout}
    )
    engine = create_async_engine("sqlite+aiosqlite://", async_creator=connect, **pool)
    _install_listeners(engine.sync_engine, mode, busy_timeout)
    if snapshots is not None:
        event.listen(engine.sync_engine, "engine_disposed", lambda _engine: snapshots.discard())
    return engine


def _snapshot_or_none(snapshots: WalSnapshots) -> Path | None:
    """A private copy of a ``-wal`` catalog without ``-shm`` (see :mod:`backend.db.snapshot`); None when
    it cannot be made (the catalog itself is then read, and SQLite reports what is wrong)."""
    try:
        return snapshots.current()
    except OSError:
        return None


def _install_listeners(engine: Engine, mode: EngineMode, busy_timeout: float) -> None:
    """The PRAGMAs microsandbox sets on every connection, and our own BEGIN."""
    begin = "BEGIN IMMEDIATE" if mode == "write" else "BEGIN"

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver must not issue its own BEGIN; we issue ours in the "begin" listener.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            if mode != "read_only":
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
            if mode != "write":
                # Unindexed sorts scan the whole sandbox table; memory-mapped reads halve that cost.
                cursor.execute(f"PRAGMA mmap_size = {READ_MMAP_SIZE}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(conn.get_execution_options().get("sqlite_begin", begin))



def make_sync_writer(path: Path, busy_timeout: float) -> Engine:
    """A plain (thread-bound) engine with the write engine's PRAGMAs and ``BEGIN IMMEDIATE``.

    Migrating issues hundreds of small statements; through aiosqlite each is a hop to its thread and
    back (~0.1 ms), which made creating a home several times slower than running the schema itself.
    Run the whole migration in one thread with this engine instead.
    """
    uri = sqlite_uri(path, "rwc")
    engine = create_engine(
        "sqlite://", poolclass=NullPool,
        creator=lambda: sqlite3.connect(uri, uri=True, timeout=busy_timeout, isolation_level=None),
    )
    _install_listeners(engine, "write", busy_timeout)
    return engine


def sqlite_code(exc: BaseException) -> int | None:
    """The extended SQLite result code behind ``exc``, if any."""
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    code = getattr(orig, "sqlite_errorcode", None)
    return code if isinstance(code, int) else None


def is_busy(exc: BaseException) -> bool:
    """True when ``exc`` is SQLITE_BUSY or SQLITE_BUSY_SNAPSHOT (the only codes the reference retries)."""
    return sqlite_code(exc) in BUSY_CODES


def translate(exc: BaseException, path: Path) -> DatabaseError:
    """Turn a driver error into a typed backend error that says what to do."""
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    text = str(orig)
    name = catalog_name(path)
    if is_busy(exc) or "database is locked" in text:
        return DatabaseBusyError(
            f"database busy: `{path}` stayed locked by another process. It will be retried; if it "
            "persists, check for a stuck msb process.",
            summary=f"{name} busy: retrying",
        )
    if isinstance(orig, sqlite3.DatabaseError) and "not a database" in text:
        return DatabaseError(
            f"`{path}` is not a SQLite database ({text}). Move it aside; microsandbox creates a new one.",
            summary=f"{name} is not SQLite: move it aside",
        )
    if "unable to open database file" in text:
        return DatabaseError(
            f"cannot open `{path}` ({text}): check that the folder exists and is readable and writable, "
            "or open the home with --read-only.",
            summary=f"cannot open {name}: check permissions",
        )
    if "readonly database" in text:
        return DatabaseError(f"`{path}` is read-only for this user ({text}). Open the home with --read-only.",
                             summary=f"{name} is read-only: use --read-only")
    if "malformed" in text:
        return DatabaseError(
            f"`{path}` is damaged ({text}). Restore it from a backup, or move it aside; microsandbox "
            "creates a new one.",
            summary=f"{name} is damaged: restore or move it aside",
        )
    return DatabaseError(f"database error on `{path}`: {text}", summary=f"{name}: {text}")


def catalog_name(path: Path) -> str:
    """The catalog file as a status line names it: ``db/msb.db`` (the home is shown beside it)."""
    return f"{path.parent.name}/{path.name}" if path.parent.name else path.name


async def run_to_end(attempt: Awaitable[T]) -> T:
    """Await one write attempt to its end, even when the caller is cancelled meanwhile.

    The attempt's statements run in a driver thread that commits whatever happens to the awaiting task,
    so giving up early would let the caller undo its own half of a change (a folder moved or made) that
    the catalog keeps. A cancellation that lands meanwhile is delivered afterwards: raised when the
    attempt failed, or requested again (the caller's next await raises) when it committed.
    """
    task = asyncio.ensure_future(attempt)
    cancelled = False
    while True:
        try:
            result = await asyncio.shield(task)
            break
        except asyncio.CancelledError:
            if task.cancelled():
                raise
            cancelled = True
        except BaseException as exc:
            if cancelled:
                raise asyncio.CancelledError() from exc
            raise
    current = asyncio.current_task()
    if cancelled and current is not None:
        current.uncancel()
        current.cancel()
    return result


async def _attempt_write(engine: AsyncEngine, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    async with engine.begin() as conn:
        return await work(conn)


async def run_write(engine: AsyncEngine, path: Path,
                    work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """Run ``work`` in one ``BEGIN IMMEDIATE`` transaction, retrying SQLITE_BUSY like the reference.

    A cancellation never splits an attempt (see :func:`run_to_end`); it may land between attempts.
    """
    delay = FIRST_DELAY
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return await run_to_end(_attempt_write(engine, work))
        except (DBAPIError, sqlite3.Error) as exc:
            if not is_busy(exc) or attempt == MAX_ATTEMPTS:
                raise translate(exc, path) from exc
        await asyncio.sleep(delay)
        delay = min(delay * 2, MAX_DELAY)
    raise AssertionError("unreachable")
