"""Volume kinds (dir or disk) and the volume_attach table.

Mirrors microsandbox migration ``m20260606_000001_named_volume_kinds``.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from migrations.seaql import apply

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

SEAQL_VERSION = 'm20260606_000001_named_volume_kinds'


def upgrade() -> None:
    apply(
        SEAQL_VERSION,
        [
        'ALTER TABLE "volume" ADD COLUMN "kind" text NOT NULL DEFAULT \'dir\'',
        'ALTER TABLE "volume" ADD COLUMN "capacity_bytes" bigint',
        'ALTER TABLE "volume" ADD COLUMN "disk_format" text',
        'ALTER TABLE "volume" ADD COLUMN "disk_fstype" text',
        'CREATE TABLE IF NOT EXISTS "volume_attach" ( "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "volume_id" integer NOT NULL, "sandbox_id" integer, "pid" integer NOT NULL, "mode" text NOT NULL, "created_at" datetime_text NOT NULL, FOREIGN KEY ("volume_id") REFERENCES "volume" ("id") ON DELETE CASCADE, FOREIGN KEY ("sandbox_id") REFERENCES "sandbox" ("id") ON DELETE SET NULL )',
        'CREATE INDEX IF NOT EXISTS "idx_volume_attach_volume_id" ON "volume_attach" ("volume_id")',
        ],
    )


def downgrade() -> None:
    raise NotImplementedError("microsandbox migrations are forward-only")
