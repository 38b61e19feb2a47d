"""Legacy image tables (replaced by revision 0005).

Mirrors microsandbox migration ``m20260305_000001_create_image_tables``.

Revision ID: 0001
Revises: 
"""

from __future__ import annotations

from alembic import op

from migrations.seaql import INSTALL, apply

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None

SEAQL_VERSION = 'm20260305_000001_create_image_tables'


def upgrade() -> None:
    op.execute(INSTALL)
    apply(
        SEAQL_VERSION,
        [
        'CREATE TABLE IF NOT EXISTS "image" ( "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "reference" text NOT NULL UNIQUE, "size_bytes" bigint, "last_used_at" datetime_text, "created_at" datetime_text, "updated_at" datetime_text )',
        'CREATE TABLE IF NOT EXISTS "index" ( "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "image_id" integer NOT NULL, "digest" text NOT NULL, "media_type" text, "created_at" datetime_text, FOREIGN KEY ("image_id") REFERENCES "image" ("id") ON DELETE CASCADE )',
        'CREATE TABLE IF NOT EXISTS "manifest" ( "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "index_id" integer, "image_id" integer NOT NULL, "digest" text NOT NULL, "architecture" text, "os" text, "created_at" datetime_text, FOREIGN KEY ("image_id") REFERENCES "image" ("id") ON DELETE CASCADE, FOREIGN KEY ("index_id") REFERENCES "index" ("id") ON DELETE CASCADE )',
        'CREATE TABLE IF NOT EXISTS "config" ( "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "manifest_id" integer NOT NULL, "digest" text NOT NULL, "env" text, "cmd" text, "entrypoint" text, "working_dir" text, "created_at" datetime_text, FOREIGN KEY ("manifest_id") REFERENCES "manifest" ("id") ON DELETE CASCADE )',
        'CREATE TABLE IF NOT EXISTS "layer" ( "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "digest" text NOT NULL UNIQUE, "diff_id" text NOT NULL, "media_type" text, "size_bytes" bigint, "created_at" datetime_text )',
        'CREATE TABLE IF NOT EXISTS "manifest_layer" ( "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "manifest_id" integer NOT NULL, "layer_id" integer NOT NULL, FOREIGN KEY ("manifest_id") REFERENCES "manifest" ("id") ON DELETE CASCADE, FOREIGN KEY ("layer_id") REFERENCES "layer" ("id") ON DELETE CASCADE )',
        'CREATE UNIQUE INDEX "idx_manifest_layers_unique" ON "manifest_layer" ("manifest_id", "layer_id")',
        ],
    )


def downgrade() -> None:
    raise NotImplementedError("microsandbox migrations are forward-only")
