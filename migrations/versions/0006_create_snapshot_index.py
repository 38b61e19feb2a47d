"""Snapshot index replaces the legacy snapshot table.

Mirrors microsandbox migration ``m20260501_000001_create_snapshot_index``.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from migrations.seaql import apply

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

SEAQL_VERSION = 'm20260501_000001_create_snapshot_index'


def upgrade() -> None:
    apply(
        SEAQL_VERSION,
        [
        'DROP INDEX IF EXISTS "idx_snapshots_name_sandbox_unique"',
        'DROP INDEX IF EXISTS "idx_snapshots_name_unique_no_sandbox"',
        'DROP TABLE IF EXISTS "snapshot"',
        'CREATE TABLE IF NOT EXISTS "snapshot_index" ( "digest" text NOT NULL PRIMARY KEY, "name" text, "parent_digest" text, "image_ref" text NOT NULL, "image_manifest_digest" text NOT NULL, "format" text NOT NULL, "fstype" text NOT NULL, "artifact_path" text NOT NULL, "size_bytes" bigint, "created_at" datetime_text NOT NULL, "indexed_at" datetime_text NOT NULL, "child_count" integer NOT NULL DEFAULT 0 )',
        'CREATE UNIQUE INDEX IF NOT EXISTS idx_snapshot_index_name ON snapshot_index (name) WHERE name IS NOT NULL',
        'CREATE INDEX IF NOT EXISTS "idx_snapshot_index_parent" ON "snapshot_index" ("parent_digest")',
        'CREATE INDEX IF NOT EXISTS "idx_snapshot_index_image" ON "snapshot_index" ("image_manifest_digest")',
        ],
    )


def downgrade() -> None:
    raise NotImplementedError("microsandbox migrations are forward-only")
