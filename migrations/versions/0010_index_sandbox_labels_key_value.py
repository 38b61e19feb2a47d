"""Index sandbox labels by key and value.

Mirrors microsandbox migration ``m20260531_000002_index_sandbox_labels_key_value``.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from migrations.seaql import apply

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

SEAQL_VERSION = 'm20260531_000002_index_sandbox_labels_key_value'


def upgrade() -> None:
    apply(
        SEAQL_VERSION,
        [
        'CREATE INDEX IF NOT EXISTS "idx_sandbox_labels_key_value" ON "sandbox_labels" ("key", "value")',
        ],
    )


def downgrade() -> None:
    raise NotImplementedError("microsandbox migrations are forward-only")
