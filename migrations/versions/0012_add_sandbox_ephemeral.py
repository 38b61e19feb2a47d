"""The denormalized sandbox.ephemeral column (no backfill, as in microsandbox).

Mirrors microsandbox migration ``m20260621_000001_add_sandbox_ephemeral``.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from migrations.seaql import apply

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

SEAQL_VERSION = 'm20260621_000001_add_sandbox_ephemeral'


def upgrade() -> None:
    apply(
        SEAQL_VERSION,
        [
        'ALTER TABLE "sandbox" ADD COLUMN "ephemeral" boolean NOT NULL DEFAULT FALSE',
        'CREATE INDEX IF NOT EXISTS "idx_sandbox_ephemeral_status" ON "sandbox" ("ephemeral", "status")',
        ],
    )


def downgrade() -> None:
    raise NotImplementedError("microsandbox migrations are forward-only")
