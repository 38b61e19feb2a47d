"""Drop the legacy sandbox_metric table that older homes have.

Mirrors microsandbox migration ``m20260517_000001_drop_sandbox_metric``.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from migrations.seaql import apply

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

SEAQL_VERSION = 'm20260517_000001_drop_sandbox_metric'


def upgrade() -> None:
    apply(
        SEAQL_VERSION,
        [
        'DROP TABLE IF EXISTS "sandbox_metric"',
        ],
    )


def downgrade() -> None:
    raise NotImplementedError("microsandbox migrations are forward-only")
