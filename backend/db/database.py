"""The catalog of one home: opened lazily in the running loop, migrated once, disposed on close."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.db.engine import catalog_name, make_engine, make_sync_writer, run_write, translate
from backend.db.home_guard import check_home
from backend.db.inflight import InFlight
from backend.db.migrate import SchemaInfo, SchemaState, SchemaStatus, read_schema_info, upgrade
from backend.db.sync_writer import RowWriter
from backend.errors import (
    REQUESTED_READ_ONLY,
    DatabaseBusyError,
    DatabaseError,
    HomeChangedError,
    HomeMigratingError,
    ReadOnlyError,
    ReadOnlyReason,
    WriteBlock,
)
from backend.locks import MIGRATION_LOCK_NAME, LockTimeout, holding_async
from backend.profiles.base import HomeProfile
from backend.profiles.detect import LedgerKind

T = TypeVar("T")

#: How long opening waits for another process's migration lock, and a write for a migration to end.
MIGRATION_LOCK_WAIT_S = 15.0


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

    Opening holds ``db/msb.db.migration.lock`` as microsandbox does (exclusively when it may migrate,
    shared and only if the file exists when read-only). Every write holds it shared, so it never runs
    while a microsandbox process migrates, and checks inside its transaction that the ledger is still
    the one seen at open and that no install or downgrade is under way (:func:`check_home`); if not,
    the write is rolled back and the catalog becomes read-only with the reason
    (:attr:`read_only_reason`).
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
        self._ledger: tuple[str, ...] | None = None
        self._block: ReadOnlyReason | None = None
        self._block_listeners: list[Callable[[], None]] = []
        self._in_flight = InFlight()
        self.migrations_run = 0

    @property
    def status(self) -> SchemaStatus:
        """The schema state found when opening (``NOT_OPENED`` before), with what blocks writing now."""
        if self._block is None:
            return self._status
        return replace(self._status, blocked=self._block)

    @property
    def read_only_reason(self) -> ReadOnlyReason | None:
        """Why this catalog may not be written now, or None when it may."""
        if self._requested_read_only:
            return REQUESTED_READ_ONLY
        if self._status.state in (SchemaState.TOO_NEW, SchemaState.UNSUPPORTED):
            return self._status.info.verdict.reason or ReadOnlyReason(
                WriteBlock.NEWER_SCHEMA,
                "the database comes from a newer microsandbox, so it is opened read-only",
                "schema newer than supported: read-only",
            )
        return self._block

    @property
    def profile(self) -> HomeProfile:
        """The home profile the ledger found at open selects (for a catalog that fits none, the one
        to read it with; it is read-only then). The 0.5 profile before opening."""
        return self._status.info.profile

    @property
    def read_only(self) -> bool:
        """True when opened (or asked to be opened) read-only, for a newer schema, or while something
        blocks writing (see :attr:`read_only_reason`)."""
        return self.read_only_reason is not None

    @property
    def migration_lock_path(self) -> Path:
        """``db/msb.db.migration.lock``: microsandbox's lock around opening and migrating."""
        return self.settings.path.with_name(MIGRATION_LOCK_NAME)

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
            try:
                # Shared, and only if microsandbox made the file: a read-only open creates nothing.
                async with self._migration_lock(exclusive=False, create=False):
                    info = await self._probe(self._reader)
            except PermissionError:  # a lock file this user may not open: read without it
                info = await self._probe(self._reader)
            self._ledger = info.ledger
            kind = info.verdict.kind
            state = _refused_state(info) or (
                SchemaState.OUTDATED if kind in (LedgerKind.OLDER, LedgerKind.EMPTY) else SchemaState.CURRENT)
            self._status = SchemaStatus(state, path, info)
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseError(
                f"cannot create `{path.parent}`: {exc.strerror or exc}. "
                "Fix the permissions, or open the home with --read-only.",
                summary=f"cannot create {path.parent.name}/: {exc.strerror or exc}",
            ) from exc
        existed = _exists(path)
        if existed:
            # Look before touching: a newer microsandbox's catalog must not even get a write lock,
            # nor a migration lock file it did not have.
            probe = self._engine("read_only")
            try:
                async with self._migration_lock(exclusive=False, create=False):
                    info = await self._probe(probe)
            finally:
                await probe.dispose()
            refused = _refused_state(info)
            if refused is not None:
                self._reader = self._engine("read_only")
                self._status = SchemaStatus(refused, path, info)
                self._ledger = info.ledger
                return
        try:
            async with self._migration_lock(exclusive=True, create=True):
                await self._open_writable(path, existed)
        except OSError as exc:
            raise DatabaseError(
                f"cannot open the migration lock `{self.migration_lock_path}`: {exc.strerror or exc}. "
                "Fix the permissions, or open the home with --read-only.",
                summary=f"cannot lock {catalog_name(path)}: {exc.strerror or exc}",
            ) from exc

    @asynccontextmanager
    async def _migration_lock(self, *, exclusive: bool, create: bool) -> AsyncIterator[None]:
        """Hold microsandbox's migration lock; one held past :data:`MIGRATION_LOCK_WAIT_S` means a
        microsandbox process is migrating this home (a busy error: opening is retried)."""
        try:
            async with holding_async(self.migration_lock_path, exclusive=exclusive,
                                     timeout_s=MIGRATION_LOCK_WAIT_S, create=create, mode=0o600):
                yield
        except LockTimeout as exc:
            raise HomeMigratingError(
                f"microsandbox is migrating this home: `{exc.path}` stayed locked for more than "
                f"{MIGRATION_LOCK_WAIT_S:g} s. Wait for it to finish; msb-tui retries.",
                summary="microsandbox is migrating this home: waiting",
            ) from None

    async def _open_writable(self, path: Path, existed: bool) -> None:
        """Probe again under the exclusive migration lock (a migration may have run meanwhile) and
        migrate what is pending."""
        self._writer = self._engine("write")
        try:
            async with self._writer.connect() as conn:
                info = await conn.run_sync(read_schema_info)
                await conn.rollback()
            refused = _refused_state(info)
            if refused is not None:
                state = refused
            elif info.verdict.kind in (LedgerKind.EMPTY, LedgerKind.OLDER):
                await asyncio.to_thread(_migrate, path, info, self.settings.busy_timeout_secs)
                self.migrations_run += 1
                state = SchemaState.UPGRADED if existed and info.has_any_table else SchemaState.CREATED
                async with self._writer.connect() as conn:
                    info = await conn.run_sync(read_schema_info)
                    await conn.rollback()
            else:
                state = SchemaState.CURRENT
        except (DBAPIError, sqlite3.Error) as exc:
            raise translate(exc, path) from exc
        except DatabaseError:
            raise
        except Exception as exc:  # a failing migration (for example migration 8 on a bad row)
            raise DatabaseError(f"database error: migrating `{path}` failed: {exc}",
                                summary=f"migrating {catalog_name(path)} failed") from exc
        if state in (SchemaState.TOO_NEW, SchemaState.UNSUPPORTED):
            await self._writer.dispose()
            self._writer = None
            self._reader = self._engine("read_only")
        else:
            self._reader = self._engine("read")
        self._status = SchemaStatus(state, path, info)
        self._ledger = info.ledger

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

    def _refuse_if_blocked(self, action: str) -> None:
        reason = self.read_only_reason
        # A block that lifts by itself (an install lease) is checked again inside the transaction.
        if reason is not None and reason.lasting:
            raise ReadOnlyError(action, reason)

    def _check_home(self, action: str, query: Callable[[str], Any]) -> None:
        """Inside a write transaction: raise :class:`HomeChangedError` (rolling it back) unless the
        home is still the one opened; a block that has lifted is cleared."""
        assert self._ledger is not None
        reason = check_home(query, self._ledger, self.settings.path.parent)
        if reason is not None:
            raise HomeChangedError(action, reason)

    def on_block_change(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (from the event loop) whenever what blocks writing changes."""
        self._block_listeners.append(callback)

    def _set_block(self, reason: ReadOnlyReason | None) -> None:
        if reason == self._block:
            return
        self._block = reason
        for callback in self._block_listeners:
            callback()

    def _record(self, exc: HomeChangedError) -> None:
        reason = exc.read_only_reason
        if reason is not None and (reason.lasting or self._block is None or not self._block.lasting):
            self._set_block(reason)

    async def write(self, action: str, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """Run ``work`` in one write transaction (``BEGIN IMMEDIATE``, busy retries), after
        checking, in that transaction, that the home is still the one opened.

        Raises :class:`ReadOnlyError` naming ``action`` when the catalog is read-only, and
        :class:`HomeChangedError` (nothing written) when the check fails.
        """
        self._refuse_if_blocked(action)
        await self.open()
        self._refuse_if_blocked(action)
        if self._writer is None:
            raise ReadOnlyError(action, self.read_only_reason or REQUESTED_READ_ONLY)

        async def checked(conn: AsyncConnection) -> T:
            await conn.run_sync(lambda sync: self._check_home(action, lambda sql: sync.exec_driver_sql(sql).all()))
            return await work(conn)

        try:
            async with self._migration_lock(exclusive=False, create=True):
                result = await run_write(self._writer, self.settings.path, checked)
        except PoolTimeoutError as exc:
            raise DatabaseBusyError(
                f"database busy: the write connection to `{self.settings.path}` stayed in use"
            ) from exc
        except HomeChangedError as exc:
            self._record(exc)
            raise
        self._lift_passing_block()
        return result

    async def write_sync(self, action: str, work: Callable[[sqlite3.Connection], T]) -> T:
        """Like :meth:`write`, but ``work`` gets a plain ``sqlite3`` connection and the whole
        transaction runs in one thread hop (for hot paths such as creating many volumes)."""
        self._refuse_if_blocked(action)
        await self.open()
        self._refuse_if_blocked(action)
        if self._writer is None:
            raise ReadOnlyError(action, self.read_only_reason or REQUESTED_READ_ONLY)
        if self._sync_writer is None:
            self._sync_writer = RowWriter(self.settings.path, self.settings.busy_timeout_secs)

        def checked(conn: sqlite3.Connection) -> T:
            self._check_home(action, lambda sql: conn.execute(sql).fetchall())
            return work(conn)

        try:
            async with self._migration_lock(exclusive=False, create=True):
                result = await self._sync_writer.run(checked)
        except HomeChangedError as exc:
            self._record(exc)
            raise
        self._lift_passing_block()
        return result

    def _lift_passing_block(self) -> None:
        if self._block is not None and not self._block.lasting:
            self._set_block(None)

    async def recheck(self) -> ReadOnlyReason | None:
        """Look again, outside any write, at what :meth:`write` checks (the ledger, the install lease,
        an unfinished downgrade), update :attr:`read_only_reason`, and return it. Cheap: a refresh
        tick calls it so the header changes even when nobody writes."""
        if not self._opened or self._ledger is None or self._reader is None:
            return self.read_only_reason
        async with self.read() as conn:
            if conn is None:
                return self.read_only_reason
            try:
                await conn.run_sync(
                    lambda sync: self._check_home("write", lambda sql: sync.exec_driver_sql(sql).all()))
            except HomeChangedError as exc:
                self._record(exc)
            else:
                self._lift_passing_block()
        return self.read_only_reason

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
        self._block = None



def _migrate(path: Path, info: SchemaInfo, busy_timeout: float) -> None:
    """Apply the pending migrations in this thread, on one plain connection (see ``make_sync_writer``)."""
    engine = make_sync_writer(path, busy_timeout)
    try:
        with engine.connect() as conn:
            upgrade(conn, info)
    finally:
        engine.dispose()


def _refused_state(info: SchemaInfo) -> SchemaState | None:
    """The read-only state for a ledger no profile writes, or None when it may be written."""
    kind = info.verdict.kind
    if kind is LedgerKind.FOREIGN:
        return SchemaState.TOO_NEW
    if kind in (LedgerKind.INTERMEDIATE, LedgerKind.REORDERED, LedgerKind.NO_LEDGER):
        return SchemaState.UNSUPPORTED
    return None
