"""Read-side sandbox calls: pages, windows, counts and one sandbox's detail. Never writes."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncConnection

from backend.errors import InvalidQueryError, SandboxNotFoundError
from backend.locks import LockTable, SandboxLockFiles, lock_held
from backend.paths import is_path_component
from backend.profiles.base import StatusRules
from backend.sandboxes.models import (
    ACTIVE_STATUSES,
    RootfsInfo,
    SandboxDetail,
    SandboxPage,
    SandboxQuery,
    SandboxRow,
)
from backend.sandboxes.names import require_lookup_name
from backend.sandboxes.parse import env_pairs, masked_document, parse_config
from backend.sandboxes.pending import caller_overrides, pending_changes
from backend.sandboxes.rows import group_runs, make_row, make_run
from backend.sandboxes.sql import (
    RUN_COLUMNS,
    STATUS_COUNTS_SQL,
    Cursor,
    count_sql,
    decode_cursor,
    page_sql,
    runs_sql,
)
from backend.timefmt import parse_ts

if TYPE_CHECKING:
    from backend.home import HomeContext

MAX_LIMIT = 10_000
MAX_OFFSET = 2**62


def _check_query(query: object) -> SandboxQuery:
    if not isinstance(query, SandboxQuery):
        raise InvalidQueryError(f"query must be a SandboxQuery, got {type(query).__name__}")
    return query


def _check_int(value: object, what: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidQueryError(f"{what} must be a whole number from {low} to {high}, got {value!r}")
    return value


async def _fetch(conn: AsyncConnection, sql: str, params: Sequence[Any]) -> list[Sequence[Any]]:
    result = await conn.exec_driver_sql(sql, tuple(params))
    return [tuple(row) for row in result.all()]


#: Rows whose lifecycle lock matters to the note: active ones, and (0.7) abandoned starts.
_LOCK_CHECKED = ACTIVE_STATUSES | {"Starting"}


def lifecycle_probe(run_dir: Path, stored: Sequence[Sequence[Any]]) -> Callable[[Sequence[Any]], bool | None]:
    """For rows ``(id, name, config, status, ...)``: whether a runtime holds the row's lifecycle lock,
    looked at only for ``Running``/``Draining`` rows, from one read of the kernel's lock table."""
    if not any(row[3] in _LOCK_CHECKED for row in stored):
        return lambda _row: None
    table = LockTable.read()

    def held(row: Sequence[Any]) -> bool | None:
        if row[3] not in _LOCK_CHECKED or not isinstance(row[1], str):
            return None
        return lock_held(SandboxLockFiles.for_sandbox(run_dir, row[1]).lifecycle, table)

    return held


async def _rows_with_runs(conn: AsyncConnection, stored: list[Sequence[Any]], run_dir: Path,
                         rules: StatusRules) -> list[SandboxRow]:
    if not stored:
        return []
    ids = [int(row[0]) for row in stored]
    grouped = group_runs(await _fetch(conn, runs_sql(len(ids)), ids))
    held = lifecycle_probe(run_dir, stored)
    out: list[SandboxRow] = []
    for row in stored:
        runs, problems = grouped.get(int(row[0]), ([], []))
        out.append(make_row(row, runs, problems, held(row), rules))
    return out


def _cursor(query: SandboxQuery, stored: Sequence[Any]) -> str:
    return Cursor(query.sort, query.descending, stored[-1], int(stored[0])).encode()


async def list_page(
    backend: HomeContext, query: SandboxQuery, *, limit: int, after: str | None, before: str | None
) -> SandboxPage:
    """See :meth:`backend.sandboxes.service.Sandboxes.list`."""
    query = _check_query(query)
    limit = _check_int(limit, "page size (limit)", 1, MAX_LIMIT)
    if after is not None and before is not None:
        raise InvalidQueryError("give either after= or before=, not both")
    anchor = after if after is not None else before
    cursor = decode_cursor(anchor, query) if anchor is not None else None
    forward = before is None
    sql, params = page_sql(query, limit=limit + 1, cursor=cursor, forward=forward)
    db = await backend.db()
    async with db.read() as conn:
        if conn is None:
            return SandboxPage((), None, None)
        stored = await _fetch(conn, sql, params)
        more = len(stored) > limit
        stored = stored[:limit]
        if not forward:
            stored.reverse()
        rows = await _rows_with_runs(conn, stored, backend.home() / "run", backend.profile.status_rules)
    if not stored:
        # Past either end: offer the way back to where the cursor pointed.
        back = anchor if cursor is not None else None
        return SandboxPage((), back if not forward else None, back if forward else None)
    first, last = _cursor(query, stored[0]), _cursor(query, stored[-1])
    if forward:
        return SandboxPage(tuple(rows), last if more else None, first if cursor is not None else None)
    return SandboxPage(tuple(rows), last, first if more else None)


async def window_rows(backend: HomeContext, query: SandboxQuery, offset: int, limit: int) -> list[SandboxRow]:
    """See :meth:`backend.sandboxes.service.Sandboxes.window`."""
    query = _check_query(query)
    offset = _check_int(offset, "offset", 0, MAX_OFFSET)
    limit = _check_int(limit, "window size (limit)", 0, MAX_LIMIT)
    if limit == 0:
        return []
    sql, params = page_sql(query, limit=limit, offset=offset)
    db = await backend.db()
    async with db.read() as conn:
        if conn is None:
            return []
        return await _rows_with_runs(conn, await _fetch(conn, sql, params), backend.home() / "run",
                                     backend.profile.status_rules)


async def count_rows(backend: HomeContext, query: SandboxQuery) -> int:
    """See :meth:`backend.sandboxes.service.Sandboxes.count`."""
    sql, params = count_sql(_check_query(query))
    db = await backend.db()
    async with db.read() as conn:
        if conn is None:
            return 0
        rows = await _fetch(conn, sql, params)
    return int(rows[0][0])


async def status_counts(backend: HomeContext) -> dict[str, int]:
    """See :meth:`backend.sandboxes.service.Sandboxes.counts_by_status`."""
    db = await backend.db()
    async with db.read() as conn:
        if conn is None:
            return {}
        rows = await _fetch(conn, STATUS_COUNTS_SQL, ())
    counts: dict[str, int] = {}
    for status, number in rows:
        key = status if isinstance(status, str) else str(status)
        counts[key] = counts.get(key, 0) + int(number)
    return counts


_ROOTFS_SQL = (
    "SELECT r.manifest_id, r.mode, r.upper_fstype, r.created_at, m.digest FROM sandbox_rootfs AS r "
    "LEFT JOIN manifest AS m ON m.id = r.manifest_id WHERE r.sandbox_id = ?"
)


async def get_detail(backend: HomeContext, name: str) -> SandboxDetail:
    """See :meth:`backend.sandboxes.service.Sandboxes.get`."""
    name = require_lookup_name(name)
    db = await backend.db()
    async with db.read() as conn:
        if conn is None:
            raise SandboxNotFoundError(name)
        extra = "".join(f", {column}" for column in backend.profile.sandbox_columns)
        found = await _fetch(
            conn,
            f"SELECT id, name, config, status, created_at, updated_at, ephemeral{extra} FROM sandbox WHERE name = ?",
            (name,),
        )
        if not found:
            raise SandboxNotFoundError(name)
        stored = found[0]
        run_rows = await _fetch(
            conn,
            f"SELECT {RUN_COLUMNS} FROM run WHERE sandbox_id = ? ORDER BY started_at DESC, id DESC",
            (stored[0],),
        )
        pins = await _fetch(conn, _ROOTFS_SQL, (stored[0],))
    run_problems: list[str] = []
    runs = [make_run(run, run_problems) for run in run_rows]
    row = make_row(stored, runs, run_problems, lifecycle_probe(backend.home() / "run", [stored])(stored),
                   backend.profile.status_rules)
    parsed = parse_config(stored[2])
    config: dict[str, Any] | None = None
    masked: tuple[str, ...] = ()
    text = stored[2] if isinstance(stored[2], str) else repr(stored[2])
    if parsed.document is not None:
        config, masked = masked_document(parsed.document)
        if masked:
            text = json.dumps(config, separators=(",", ":"), ensure_ascii=False)
    runtime = config.get("runtime") if config else None
    runtime = runtime if isinstance(runtime, dict) else {}
    sandbox_dir = backend.sandboxes_dir() / row.name
    newer = dict(zip(backend.profile.sandbox_columns, stored[7:], strict=False))
    active: dict[str, Any] | None = None
    if newer.get("active_config") is not None:
        booted = parse_config(newer["active_config"])
        active = masked_document(booted.document)[0] if booted.document is not None else None
    slot = newer.get("network_slot")
    return SandboxDetail(
        row=row,
        config=config,
        config_text=text,
        env=env_pairs(config),
        runs=tuple(runs),
        rootfs=_rootfs(parsed.image_kind, row.image, parsed.image_detail, config, pins),
        ports=row.ports,
        mounts=row.mounts,
        sandbox_dir=str(sandbox_dir),
        sandbox_dir_exists=_is_dir(sandbox_dir) if is_path_component(row.name) else False,
        security_profile=_text(config.get("security_profile")) if config else None,
        workdir=_text(runtime.get("workdir")),
        shell=_text(runtime.get("shell")),
        masked_keys=masked,
        max_cpus=parsed.max_cpus,
        max_memory_mib=parsed.max_memory_mib,
        deployment_profile=_text(config.get("deployment_profile")) if config else None,
        external_mount_policy=_text(config.get("external_mount_policy")) if config else None,
        network_slot=slot if isinstance(slot, int) and not isinstance(slot, bool) else None,
        active_config=active,
        pending_changes=pending_changes(active, config) if active is not None else (),
        caller_overrides=caller_overrides(newer.get("caller_config_overrides"), stored[2]),
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _is_dir(path: Any) -> bool:
    try:
        return bool(path.is_dir())
    except OSError:
        return False


def _rootfs(
    kind: str | None, source: str, detail: dict[str, Any], config: dict[str, Any] | None,
    pins: list[Sequence[Any]],
) -> RootfsInfo:
    upper = detail.get("upper_size_mib")
    found = detail.get("root_disk")
    root_disk: dict[str, Any] = found if kind == "Oci" and isinstance(found, dict) else {}
    size = root_disk.get("size_mib")
    follow = detail.get("follow_root_symlinks") if kind == "Bind" else None
    digest = config.get("manifest_digest") if config else None
    pin = pins[0] if pins else None
    return RootfsInfo(
        kind=kind or "-",
        source=source,
        upper_size_mib=upper if isinstance(upper, int) and not isinstance(upper, bool) else None,
        manifest_digest=digest if isinstance(digest, str) else (pin[4] if pin and isinstance(pin[4], str) else None),
        pin_mode=None if pin is None else _text(pin[1]),
        pin_upper_fstype=None if pin is None else _text(pin[2]),
        pin_manifest_id=None if pin is None or not isinstance(pin[0], int) else pin[0],
        pin_created_at=None if pin is None or not isinstance(pin[3], str) else parse_ts(pin[3]),
        disk_format=_text(detail.get("format")) if kind == "DiskImage" else None,
        disk_fstype=_text(detail.get("fstype")) if kind == "DiskImage" else None,
        root_disk_kind=_text(root_disk.get("kind")),
        root_disk_size_mib=size if isinstance(size, int) and not isinstance(size, bool) else None,
        follow_root_symlinks=follow if isinstance(follow, bool) else None,
    )
