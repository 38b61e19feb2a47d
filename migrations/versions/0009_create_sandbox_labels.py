"""Sandbox labels table (never written by microsandbox 0.5.x).

Mirrors microsandbox migration ``m20260531_000001_create_sandbox_labels``.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from migrations.seaql import apply

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

SEAQL_VERSION = 'm20260531_000001_create_sandbox_labels'


def upgrade() -> None:
    apply(
        SEAQL_VERSION,
        [
        'CREATE TABLE IF NOT EXISTS "sandbox_labels" ( "sandbox_id" integer NOT NULL, "key" text NOT NULL, "value" text NOT NULL, PRIMARY KEY ("sandbox_id", "key"), FOREIGN KEY ("sandbox_id") REFERENCES "sandbox" ("id") ON DELETE CASCADE )',
        'CREATE INDEX IF NOT EXISTS "idx_sandbox_labels_sandbox_id" ON "sandbox_labels" ("sandbox_id")',
        ],
    )


def downgrade() -> None:
    raise NotImplementedError("microsandbox migrations are forward-only")
