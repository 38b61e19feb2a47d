"""The runtime maintenance lease table.

Mirrors microsandbox migration ``m20260621_000002_create_maintenance_lease``.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from migrations.seaql import apply

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

SEAQL_VERSION = 'm20260621_000002_create_maintenance_lease'


def upgrade() -> None:
    apply(
        SEAQL_VERSION,
        [
        'CREATE TABLE IF NOT EXISTS "maintenance_lease" ( "name" text NOT NULL PRIMARY KEY, "holder_pid" integer, "lease_expires_at" datetime_text NOT NULL, "last_completed_at" datetime_text )',
        ],
    )


def downgrade() -> None:
    raise NotImplementedError("microsandbox migrations are forward-only")
