"""Sandbox and run tables.

Mirrors microsandbox migration ``m20260305_000002_create_sandbox_tables``.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from migrations.seaql import apply

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

SEAQL_VERSION = 'm20260305_000002_create_sandbox_tables'


def upgrade() -> None:
    apply(
        SEAQL_VERSION,
        [
        'CREATE TABLE IF NOT EXISTS "sandbox" ( "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "name" text NOT NULL UNIQUE, "config" text NOT NULL, "status" text NOT NULL, "created_at" datetime_text, "updated_at" datetime_text )',
        'CREATE TABLE IF NOT EXISTS "run" ( "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "sandbox_id" integer NOT NULL, "pid" integer, "status" text NOT NULL, "exit_code" integer, "exit_signal" integer, "termination_reason" text, "termination_detail" text, "signals_sent" text, "started_at" datetime_text, "terminated_at" datetime_text, FOREIGN KEY ("sandbox_id") REFERENCES "sandbox" ("id") ON DELETE CASCADE )',
        ],
    )


def downgrade() -> None:
    raise NotImplementedError("microsandbox migrations are forward-only")
