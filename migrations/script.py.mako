"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
"""

from __future__ import annotations

from migrations.seaql import apply

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = None
depends_on = None

SEAQL_VERSION = ""


def upgrade() -> None:
    apply(SEAQL_VERSION, [])


def downgrade() -> None:
    raise NotImplementedError("microsandbox migrations are forward-only")
