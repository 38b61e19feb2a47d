"""Volume table and the legacy snapshot table. Every statement is idempotent.

Mirrors microsandbox migration ``m20260305_000003_create_storage_tables``.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from migrations.seaql import apply

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

SEAQL_VERSION = 'm20260305_000003_create_storage_tables'


def upgrade() -> None:
    apply(
        SEAQL_VERSION,
        [
        'CREATE TABLE IF NOT EXISTS "volume" ( "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "name" text NOT NULL UNIQUE, "quota_mib" integer, "size_bytes" bigint, "labels" text, "created_at" datetime_text, "updated_at" datetime_text )',
        'CREATE TABLE IF NOT EXISTS "snapshot" ( "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "name" text NOT NULL, "sandbox_id" integer, "size_bytes" bigint, "description" text, "created_at" datetime_text, FOREIGN KEY ("sandbox_id") REFERENCES "sandbox" ("id") ON DELETE SET NULL )',
        'CREATE UNIQUE INDEX IF NOT EXISTS "idx_snapshots_name_sandbox_unique" ON "snapshot" ("name", "sandbox_id")',
        'CREATE UNIQUE INDEX IF NOT EXISTS idx_snapshots_name_unique_no_sandbox ON snapshot (name) WHERE sandbox_id IS NULL',
        ],
    )


def downgrade() -> None:
    raise NotImplementedError("microsandbox migrations are forward-only")
