"""Legacy sandbox-image link table (dropped by revision 0005).

Mirrors microsandbox migration ``m20260305_000004_create_sandbox_images_table``.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from migrations.seaql import apply

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

SEAQL_VERSION = 'm20260305_000004_create_sandbox_images_table'


def upgrade() -> None:
    apply(
        SEAQL_VERSION,
        [
        'CREATE TABLE IF NOT EXISTS "sandbox_image" ( "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "sandbox_id" integer NOT NULL, "image_id" integer NOT NULL, "created_at" datetime_text, FOREIGN KEY ("sandbox_id") REFERENCES "sandbox" ("id") ON DELETE CASCADE, FOREIGN KEY ("image_id") REFERENCES "image" ("id") ON DELETE CASCADE )',
        'CREATE UNIQUE INDEX "idx_sandbox_images_unique" ON "sandbox_image" ("sandbox_id", "image_id")',
        ],
    )


def downgrade() -> None:
    raise NotImplementedError("microsandbox migrations are forward-only")
