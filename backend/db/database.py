"""The catalog of one home: opened lazily in the running loop, migrated once, disposed on close."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.db.engine import catalog_name, make_engine, make_sync_writer, run_write, translate
from backend.db.inflight import InFlight
from backend.db.migrate import SchemaInfo, SchemaState, SchemaStatus, read_schema_info, upgrade
from backend.db.sync_writer import RowWriter
from backend.errors import DatabaseBusyError, DatabaseError, ReadOnlyError

T = TypeVar("T")


@dataclass(frozen=True)
class DbSettings:
    """What the catalog needs from the config: its file, pool size and timeouts."""

    path: Path
    max_connections: int = 5
    connect_timeout_secs: float = 30
    busy_timeout_secs: float = 5


def _exists(path: Path) -> bool:
    """``path.exists()``, with a folder on the way that cannot be searched as a typed error."""
    try:
        return path.exists()
    except OSError as exc:
        raise DatabaseError(
            f"cannot open `{path}`: {exc.strerror or exc}. Check that the home and its db folder can be "
            "read by this user.",
            summary=f"cannot open {catalog_name(path)}: {exc.strerror or exc}",
        ) from exc


class Database:
    """Engines for one catalog file. Construction does no I/O; :meth:`open` connects and migrates.

    ``read_only`` opens the file with ``mode=ro`` and never migrates; a catalog from a newer
    microsandbox is also opened that way, whatever was asked.
    """

    def __init__(self, settings: DbSettings, *, read_only: bool = False) -> None:
        self.settings = settings
        self._requested_read_only = read_only
        self._writer: AsyncEngine | None = None
        self._reader: AsyncEngine | None = None
        self._status = SchemaStatus(SchemaState.NOT_OPENED, settings.path)
        self._lock: asyncio.Lock | None = None
        self._sync_writer: RowWriter | None = None
        self._opened = False
        self._in_flight = InFlight()
        self.migrations_run = 0

    @property
    def status(self) -> SchemaStatus:
        """The schema state found when opening (``NOT_OPENED`` before)."""
        return self._status

    @property
    def read_only(self) -> bool:
        """True when opened (or asked to be opened) read-only, including for a newer schema."""
        return self._requested_read_only or self._status.state is SchemaState.TOO_NEW

    @property
    def path(self) -> Path:
        """The database file."""
        return self.settings.path

    async def open(self) -> SchemaStatus:
        """Connect and migrate once. Concurrent first callers wait for one attempt; a failure is not
        cached, so the next call tries again. A cancelled caller never cuts an attempt off midway."""
        if self._opened:
            return self._status
        return await self._in_flight.run(self._open_once())

    async def _open_once(self) -> SchemaStatus:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if not self._opened:
                try:
                    await self._open()
                except BaseException:
                    await self._dispose()
                    raise
                self._opened = True
        return self._status

    def _engine(self, mode: str) -> AsyncEngine:
        s = self.settings
        return make_engine(
            s.path,
            mode,  # type: ignore[arg-type]
            pool_size=1 if mode == "write" else s.max_connections,
            connect_timeout=s.connect_timeout_secs,
            busy_timeout=s.busy_timeout_secs,
        )

    async def _open(self) -> None:
        path = self.settings.path
        if self._requested_read_only:
            if not _exists(path):
                self._status = SchemaStatus(SchemaState.MISSING, path)
                return
            self._reader = self._engine("read_only")
            info = await self._probe(self._reader)
            state = SchemaState.CURRENT
            if info.unknown:
                state = SchemaState.TOO_NEW
            elif info.pending:
                state = SchemaState.OUTDATED
            self._status = SchemaStatus(state, path, info)
            return
        existed = _exists(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseError(
                f"cannot create `{path.parent}`: {exc.strerror or exc}. "
                "Fix the permissions, or open the home with --read-only.",
                summary=f"cannot create {path.parent.name}/: {exc.strerror or exc}",
            ) from exc
        if existed:
            # Look before touching: a newer microsandbox's catalog must not even get a write lock.
            probe = self._engine("read_only")
            try:
                info = await self._probe(probe)
            finally:
                await probe.dispose()
            if info.unknown:
                self._reader = self._engine("read_only")
                self._status = SchemaStatus(SchemaState.TOO_NEW, path, info)
                return
        self._writer = self._engine("write")
        try:
            async with self._writer.connect() as conn:
                info = await conn.run_sync(read_schema_info)
                await conn.rollback()
            if info.unknown:
                state = SchemaState.TOO_NEW
            elif info.pending:
                await asyncio.to_thread(_migrate, path, info, self.settings.busy_timeout_secs)
                self.migrations_run += 1
                state = SchemaState.UPGRADED if existed and info.has_any_table else SchemaState.CREATED
            else:
                state = SchemaState.CURRENT
        except (DBAPIError, sqlite3.Error) as exc:
            raise translate(exc, path) from exc
        except DatabaseError:
            raise
        except Exception as exc:  # a failing migration (for example migration 8 on a bad row)
            raise DatabaseError(f"database error: migrating `{path}` failed: {exc}",
                                summary=f"migrating {catalog_name(path)} failed") from exc
        if state is SchemaState.TOO_NEW:
            await self._writer.dispose()
            self._writer = None
            self._reader = self._engine("read_only")
        else:
            self._reader = self._engine("read")
        self._status = SchemaStatus(state, path, info)

    async def _probe(self, engine: AsyncEngine) -> SchemaInfo:
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(read_schema_info)
        except (DBAPIError, sqlite3.Error) as exc:
            raise translate(exc, self.settings.path) from exc

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection | None]:
        """A pooled read connection, or None when there is no database yet (read-only, missing file).

        Driver errors come out as :class:`DatabaseError`; a pool that stays exhausted for
        ``connect_timeout_secs`` comes out as :class:`DatabaseBusyError`.
        """
        await self.open()
        if self._reader is None:
            yield None
            return
        try:
            async with self._in_flight.hold(), self._reader.connect() as conn:
                yield conn
        except (DBAPIError, sqlite3.Error) as exc:
            raise translate(exc, self.settings.path) from exc
        except PoolTimeoutError as exc:
            raise DatabaseBusyError(
                f"database busy: no free connection to `{self.settings.path}` within "
                f"{self.settings.connect_timeout_secs} s"
            ) from exc

    async def write(self, action: str, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """Run ``work`` in one write transaction (``BEGIN IMMEDIATE``, busy retries).

        Raises :class:`ReadOnlyError` naming ``action`` when the catalog is read-only.
        """
        if self.read_only:
            raise ReadOnlyError(action, self._read_only_reason())
        await self.open()
        if self._writer is None:
            raise ReadOnlyError(action, self._read_only_reason())
        try:
            return await run_write(self._writer, self.settings.path, work)
        except PoolTimeoutError as exc:
            raise DatabaseBusyError(
                f"database busy: the write connection to `{self.settings.path}` stayed in use"
            ) from exc

    async def write_sync(self, action: str, work: Callable[[sqlite3.Connection], T]) -> T:
        """Like :meth:`write`, but ``work`` gets a plain ``sqlite3`` connection and the whole
        transaction runs in one thread hop (for hot paths such as creating many volumes)."""
        if self.read_only:
            raise ReadOnlyError(action, self._read_only_reason())
        await self.open()
        if self._writer is None:
            raise ReadOnlyError(action, self._read_only_reason())
        if self._sync_writer is None:
            self._sync_writer = RowWriter(self.settings.path, self.settings.busy_timeout_secs)
        return await self._sync_writer.run(work)

    def _read_only_reason(self) -> str:
        if self._status.state is SchemaState.TOO_NEW:
            return "the database comes from a newer microsandbox, so it is opened read-only"
        return "the backend was opened read-only"

    async def _dispose(self) -> None:
        if self._sync_writer is not None:
            self._sync_writer.close()
            self._sync_writer = None
        for engine in (self._writer, self._reader):
            if engine is not None:
                await engine.dispose()
        self._writer = self._reader = None

    async def finish(self, call: Awaitable[T]) -> T:
        """Await ``call`` (a backend call on this catalog) so that cancelling the caller never
        abandons it midway; :meth:`close` waits for it. See :mod:`backend.db.inflight`."""
        return await self._in_flight.run(call)

    async def close(self) -> None:
        """Wait for the calls and reads still in flight (a few seconds at most), then dispose every
        connection, so no driver thread outlives the close; the next call opens again."""
        await self._in_flight.drain()
        await self._dispose()
        self._opened = False


def _migrate(path: Path, info: SchemaInfo, busy_timeout: float) -> None:
    """Apply the pending migrations in this thread, on one plain connection (see ``make_sync_writer``)."""
    engine = make_sync_writer(path, busy_timeout)
    try:
        with engine.connect() as conn:
            upgrade(conn, info)
    finally:
        engine.dispose()
