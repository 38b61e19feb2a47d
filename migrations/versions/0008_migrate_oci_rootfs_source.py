"""Rewrite legacy ``image.Oci`` strings in sandbox configs as ``{reference, upper_size_mib: 4096}``.

Mirrors microsandbox migration ``m20260527_000001_migrate_oci_rootfs_source`` (data only). Like the
original, a sandbox config that is not valid JSON fails the migration, naming the row.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import json
from typing import Any

from alembic import op
from sqlalchemy import text

from migrations.seaql import already_applied, record

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

SEAQL_VERSION = "m20260527_000001_migrate_oci_rootfs_source"
DEFAULT_UPPER_SIZE_MIB = 4096


def rewrite_config(raw: str) -> str | None:
    """The rewritten config JSON, or None when nothing changes. Raises ValueError on bad JSON."""
    config: Any = json.loads(raw)
    image = config.get("image") if isinstance(config, dict) else None
    if not isinstance(image, dict) or not isinstance(image.get("Oci"), str):
        return None
    image["Oci"] = {"reference": image["Oci"], "upper_size_mib": DEFAULT_UPPER_SIZE_MIB}
    return json.dumps(config, separators=(",", ":"), ensure_ascii=False)


def upgrade() -> None:
    if already_applied(SEAQL_VERSION):
        return
    bind = op.get_bind()
    for row_id, raw in bind.execute(text("SELECT id, config FROM sandbox")).all():
        try:
            rewritten = rewrite_config(raw)
        except ValueError as exc:
            raise RuntimeError(f"parse sandbox config JSON (sandbox id {row_id}): {exc}") from exc
        if rewritten is not None:
            bind.execute(text("UPDATE sandbox SET config = :c WHERE id = :i"), {"c": rewritten, "i": row_id})
    record(SEAQL_VERSION)


def downgrade() -> None:
    raise NotImplementedError("microsandbox migrations are forward-only")
