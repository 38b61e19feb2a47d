"""EROFS image schema: replaces the legacy image tables and adds sandbox_rootfs.

Mirrors microsandbox migration ``m20260410_000001_erofs_image_schema``.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from migrations.seaql import apply

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

SEAQL_VERSION = 'm20260410_000001_erofs_image_schema'


def upgrade() -> None:
    apply(
        SEAQL_VERSION,
        [
        'DROP TABLE IF EXISTS "sandbox_image"',
        'DROP TABLE IF EXISTS "manifest_layer"',
        'DROP TABLE IF EXISTS "layer"',
        'DROP TABLE IF EXISTS "config"',
        'DROP TABLE IF EXISTS "manifest"',
        'DROP TABLE IF EXISTS "index"',
        'DROP TABLE IF EXISTS "image"',
        'CREATE TABLE IF NOT EXISTS "manifest" ( "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "digest" text NOT NULL UNIQUE, "media_type" text, "config_digest" text, "architecture" text, "os" text, "variant" text, "layer_count" integer, "total_size_bytes" bigint, "created_at" datetime_text )',
        'CREATE TABLE IF NOT EXISTS "image_ref" ( "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "reference" text NOT NULL UNIQUE, "manifest_id" integer NOT NULL, "created_at" datetime_text, "updated_at" datetime_text, FOREIGN KEY ("manifest_id") REFERENCES "manifest" ("id") ON DELETE CASCADE )',
        'CREATE TABLE IF NOT EXISTS "config" ( "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "manifest_id" integer NOT NULL UNIQUE, "digest" text NOT NULL, "env" text, "cmd" text, "entrypoint" text, "working_dir" text, "user" text, "labels" text, "stop_signal" text, "created_at" datetime_text, FOREIGN KEY ("manifest_id") REFERENCES "manifest" ("id") ON DELETE CASCADE )',
        'CREATE TABLE IF NOT EXISTS "layer" ( "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "diff_id" text NOT NULL UNIQUE, "blob_digest" text NOT NULL, "media_type" text, "compressed_size_bytes" bigint, "erofs_size_bytes" bigint, "created_at" datetime_text, "last_used_at" datetime_text )',
        'CREATE TABLE IF NOT EXISTS "manifest_layer" ( "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "manifest_id" integer NOT NULL, "layer_id" integer NOT NULL, "position" integer NOT NULL, FOREIGN KEY ("manifest_id") REFERENCES "manifest" ("id") ON DELETE CASCADE, FOREIGN KEY ("layer_id") REFERENCES "layer" ("id") ON DELETE RESTRICT )',
        'CREATE UNIQUE INDEX "idx_manifest_layers_manifest_position" ON "manifest_layer" ("manifest_id", "position")',
        'CREATE TABLE IF NOT EXISTS "sandbox_rootfs" ( "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "sandbox_id" integer NOT NULL UNIQUE, "manifest_id" integer, "mode" text NOT NULL, "upper_fstype" text, "created_at" datetime_text, FOREIGN KEY ("sandbox_id") REFERENCES "sandbox" ("id") ON DELETE CASCADE, FOREIGN KEY ("manifest_id") REFERENCES "manifest" ("id") ON DELETE RESTRICT )',
        ],
    )


def downgrade() -> None:
    raise NotImplementedError("microsandbox migrations are forward-only")
