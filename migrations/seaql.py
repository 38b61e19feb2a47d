"""Helpers shared by the revisions: microsandbox's migration ledger, ``seaql_migrations``."""

from __future__ import annotations

import time

from alembic import context, op
from sqlalchemy import text

INSTALL = (
    'CREATE TABLE IF NOT EXISTS "seaql_migrations" '
    '( "version" varchar NOT NULL PRIMARY KEY, "applied_at" bigint NOT NULL )'
)


def already_applied(version: str) -> bool:
    """True when microsandbox (or an earlier run here) recorded ``version``.

    The app passes the ledger it read before migrating (``config.attributes["seaql_applied"]``), which
    saves two queries per revision; the developer CLI queries the table.
    """
    known = context.config.attributes.get("seaql_applied")
    if known is not None:
        return version in known
    bind = op.get_bind()
    has_table = bind.execute(
        text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'seaql_migrations'")
    ).first()
    if has_table is None:
        return False
    row = bind.execute(text("SELECT 1 FROM seaql_migrations WHERE version = :v"), {"v": version}).first()
    return row is not None


def apply(version: str, statements: list[str]) -> None:
    """Run ``statements`` and record ``version``, unless it is recorded already."""
    if already_applied(version):
        return
    for statement in statements:
        op.execute(statement)
    record(version)


def record(version: str) -> None:
    """Insert the seaql row for ``version`` with the current unix time, as sea-orm does."""
    op.get_bind().execute(
        text("INSERT INTO seaql_migrations (version, applied_at) VALUES (:v, :t)"),
        {"v": version, "t": int(time.time())},
    )
