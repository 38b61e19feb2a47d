"""SQL text for listing sandboxes, and the opaque keyset cursors.

The catalog must stay identical to microsandbox's, so no index can be added: ``sandbox`` has only its
rowid, the UNIQUE index on ``name`` and ``(ephemeral, status)``; ``run`` has no index on
``sandbox_id``. The queries are shaped around that:

- a page first selects only ``(id, sort key)`` with ``LIMIT``, then joins back by rowid for the full
  rows, so the sorter never copies the config JSON of rows that are not on the page;
- keyset conditions are row values ``(key, id) < (?, ?)``, so the ``name`` order walks the name
  index and a page costs the same anywhere in the list;
- label filters read ``config`` with ``json_extract`` behind ``json_valid`` (one malformed row can
  never fail the query), compared as exact text.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from backend.errors import InvalidCursorError
from backend.jsonio import loads_row
from backend.sandboxes.models import SandboxQuery, SandboxSort

SORT_EXPRESSIONS: dict[SandboxSort, str] = {
    "name": "s.name",
    "status": "s.status",
    "created": "coalesce(s.created_at, '')",
    "updated": "coalesce(s.updated_at, '')",
}

ROW_COLUMNS = "s.id, s.name, s.config, s.status, s.created_at, s.updated_at, s.ephemeral"

_CURSOR_VERSION = 1
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True, slots=True)
class Cursor:
    """A position in one sort order: the sort key and id of a row (the page starts after/before it)."""

    sort: SandboxSort
    descending: bool
    key: Any
    id: int

    def encode(self) -> str:
        """Opaque, URL-safe text."""
        key: Any = {"hex": self.key.hex()} if isinstance(self.key, bytes) else self.key
        raw = json.dumps([_CURSOR_VERSION, self.sort, self.descending, key, self.id], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(text: object, query: SandboxQuery) -> Cursor:
    """Read a cursor made by :meth:`Cursor.encode` for ``query``'s order; :class:`InvalidCursorError`
    when it is not one, or was made for another order."""
    if not isinstance(text, str) or not text or len(text) > 4096:
        raise InvalidCursorError("page cursor must be the text returned with a previous page")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        version, sort, descending, key, row_id = loads_row(raw)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise InvalidCursorError(
            "page cursor is not one this program made; start again from the first page"
        ) from exc
    if isinstance(key, dict) and isinstance(key.get("hex"), str):
        try:
            key = bytes.fromhex(key["hex"])
        except ValueError as exc:
            raise InvalidCursorError("page cursor is damaged; start again from the first page") from exc
    if (
        version != _CURSOR_VERSION
        or not isinstance(row_id, int)
        or isinstance(row_id, bool)
        or not isinstance(key, (str, int, float, bytes))
    ):
        raise InvalidCursorError("page cursor is damaged; start again from the first page")
    if sort != query.sort or descending != query.descending:
        raise InvalidCursorError(
            f"page cursor was made for the {sort!r} {'descending' if descending else 'ascending'} order, "
            f"not {query.sort!r} {'descending' if query.descending else 'ascending'}; "
            "start again from the first page"
        )
    return Cursor(sort, bool(descending), key, row_id)


def label_path(key: str) -> str:
    """The JSON path of ``config.labels[key]`` (SQLite quotes a label with double quotes)."""
    return f'$.labels."{key}"'


def where_clause(query: SandboxQuery) -> tuple[str, list[Any]]:
    """``WHERE`` text (or "") and its parameters for the query's filters."""
    terms: list[str] = []
    params: list[Any] = []
    if query.name_contains:
        terms.append("instr(lower(s.name), ?) > 0")
        params.append(query.name_contains.translate(_ASCII_LOWER))
    if query.statuses:
        statuses = sorted(query.statuses)
        terms.append(f"s.status IN ({', '.join('?' * len(statuses))})")
        params.extend(statuses)
    for key, value in query.labels:
        if '"' in key:
            # A path cannot quote a double quote; walk the labels instead (rare, slower).
            terms.append(
                "EXISTS (SELECT 1 FROM json_each(CASE WHEN json_valid(s.config) THEN s.config "
                "ELSE '{}' END, '$.labels') AS l WHERE l.key = ? AND l.type = 'text' AND l.atom = ?)"
            )
            params.extend([key, value])
        else:
            path = label_path(key)
            terms.append(
                "(CASE WHEN json_valid(s.config) AND json_type(s.config, ?) = 'text' "
                "THEN json_extract(s.config, ?) END) = ?"
            )
            params.extend([path, path, value])
    return (" AND ".join(terms), params)


def _keyset(cursor: Cursor, forward: bool, expression: str) -> tuple[str, list[Any]]:
    greater = cursor.descending != forward  # walking towards larger keys?
    op = ">" if greater else "<"
    return (f"({expression}, s.id) {op} (?, ?)", [cursor.key, cursor.id])


PROBE_FACTOR = 16  # rows a probe looks at per row of the page


def page_sql(
    query: SandboxQuery, *, limit: int, cursor: Cursor | None = None, forward: bool = True,
    offset: int = 0,
) -> tuple[str, list[Any]]:
    """Full rows of one page. ``forward=False`` walks backwards from ``cursor`` (for ``before=``);
    the rows then come in reverse order and the caller flips them. The last column is the sort key.

    Orders without an index (created, updated, status) would push every row through SQLite's sorter.
    For a keyset page (``offset == 0``) a *probe* first sorts a small rowid range next to where the
    page starts (rowids grow with creation time, so these rows usually sort close to the page) and
    takes its ``limit``-th matching row as a bound. At least ``limit`` matching rows sort up to the
    bound, so the page is exact whatever the data; the bound only lets the full scan discard almost
    every row before the filters and the sorter see it. With fewer matches in the probe range, no bound
    is used.
    """
    expression = SORT_EXPRESSIONS[query.sort]
    where, params = where_clause(query)
    terms = [where] if where else []
    if cursor is not None:
        keyset, keyset_params = _keyset(cursor, forward, expression)
        terms.append(keyset)
        params = params + keyset_params
    descending = query.descending == forward
    direction = "DESC" if descending else "ASC"
    where_text = " AND ".join(terms)
    if query.sort == "name" or offset:
        sql = (
            f"WITH page AS (SELECT s.id AS id, {expression} AS k FROM sandbox AS s "
            f"{'WHERE ' + where_text if where_text else ''} "
            f"ORDER BY k {direction}, s.id {direction} LIMIT ? OFFSET ?) "
            f"SELECT {ROW_COLUMNS}, page.k FROM page JOIN sandbox AS s ON s.id = page.id "
            f"ORDER BY page.k {direction}, page.id {direction}"
        )
        return sql, [*params, limit, offset]
    span = limit * PROBE_FACTOR
    if cursor is not None:
        anchor, anchor_params = "?", [cursor.id]
    else:
        anchor, anchor_params = f"(SELECT {'max' if descending else 'min'}(id) FROM sandbox)", []
    if descending:
        probe_range = f"s.id BETWEEN {anchor} - ? AND {anchor} + 1"
    else:
        probe_range = f"s.id BETWEEN {anchor} - 1 AND {anchor} + ?"
    compare = ">=" if descending else "<="
    and_where = f" AND {where_text}" if where_text else ""
    sql = (
        f"WITH probe AS (SELECT {expression} AS k, s.id AS id FROM sandbox AS s "
        f"WHERE {probe_range}{and_where}), "
        f"bound AS (SELECT edge.id IS NOT NULL AS ok, edge.k AS k, edge.id AS id FROM (SELECT 1) "
        f"LEFT JOIN (SELECT k, id FROM probe ORDER BY k {direction}, id {direction} LIMIT 1 OFFSET ?) AS edge), "
        f"page AS (SELECT s.id AS id, {expression} AS k FROM bound, sandbox AS s "
        f"WHERE (NOT bound.ok OR ({expression}, s.id) {compare} (bound.k, bound.id)){and_where} "
        f"ORDER BY k {direction}, s.id {direction} LIMIT ?) "
        f"SELECT {ROW_COLUMNS}, page.k FROM page JOIN sandbox AS s ON s.id = page.id "
        f"ORDER BY page.k {direction}, page.id {direction}"
    )
    range_params = [*anchor_params, span, *anchor_params] if descending else [*anchor_params, *anchor_params, span]
    return sql, [*range_params, *params, limit - 1, *params, limit]


def count_sql(query: SandboxQuery) -> tuple[str, list[Any]]:
    """``count(*)`` of the rows the query's filters keep."""
    where, params = where_clause(query)
    return f"SELECT count(*) FROM sandbox AS s{' WHERE ' + where if where else ''}", params


# Grouping by (ephemeral, status) first walks idx_sandbox_ephemeral_status in order, with no temp b-tree.
STATUS_COUNTS_SQL = (
    "SELECT status, sum(n) FROM (SELECT ephemeral, status, count(*) AS n FROM sandbox "
    "GROUP BY ephemeral, status) GROUP BY status"
)


def runs_sql(sandbox_ids: int) -> str:
    """Per sandbox: the latest run, plus its latest few ``Running`` runs (for the pid checks).

    ``run`` has no index on ``sandbox_id``, so this is one scan of ``run`` for the whole page rather than
    one scan per row. Columns: id, sandbox_id, pid, status, exit_code, termination_reason, started_at,
    terminated_at, is_latest.
    """
    marks = ", ".join("?" * sandbox_ids)
    return (
        "SELECT id, sandbox_id, pid, status, exit_code, termination_reason, started_at, terminated_at, "
        "latest = 1 FROM (SELECT r.*, "
        "row_number() OVER (PARTITION BY r.sandbox_id ORDER BY r.started_at DESC, r.id DESC) AS latest, "
        "row_number() OVER (PARTITION BY r.sandbox_id, r.status = 'Running' "
        "ORDER BY r.started_at DESC, r.id DESC) AS nth "
        f"FROM run AS r WHERE r.sandbox_id IN ({marks})) "
        "WHERE latest = 1 OR (status = 'Running' AND nth <= 8) "
        "ORDER BY sandbox_id, started_at DESC, id DESC"
    )


RUN_COLUMNS = "id, sandbox_id, pid, status, exit_code, termination_reason, started_at, terminated_at"
