"""microsandbox's migration ledger (``seaql_migrations``): the known ids and how to read them.

The ledger, not the DDL, says which microsandbox a catalog belongs to: the type names of a column differ
between a fresh 0.7 home and a migrated 0.5 one, but the ledger is the same. microsandbox inserts its rows
in list order, which is not lexical order (positions 18/19 and 24/25 are swapped), so the order of
``rowid`` is part of what a ledger is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

#: Every migration of microsandbox 0.7.11, in its list order (the order it inserts them).
MICROSANDBOX_MIGRATIONS: tuple[str, ...] = (
    "m20260305_000001_create_image_tables",
    "m20260305_000002_create_sandbox_tables",
    "m20260305_000003_create_storage_tables",
    "m20260305_000004_create_sandbox_images_table",
    "m20260410_000001_erofs_image_schema",
    "m20260501_000001_create_snapshot_index",
    "m20260517_000001_drop_sandbox_metric",
    "m20260527_000001_migrate_oci_rootfs_source",
    "m20260531_000001_create_sandbox_labels",
    "m20260531_000002_index_sandbox_labels_key_value",
    "m20260606_000001_named_volume_kinds",
    "m20260621_000001_add_sandbox_ephemeral",
    "m20260621_000002_create_maintenance_lease",
    "m20260703_000001_add_sandbox_active_config",
    "m20260708_000001_migrate_bind_rootfs_source",
    "m20260710_000001_migrate_root_disk",
    "m20260714_000001_add_snapshot_scope",
    "m20260723_000001_snapshot_artifact_transition",
    "m20260719_000001_create_cpu_allocations",
    "m20260803_000001_create_writeback_allocations",
    "m20260808_000001_create_memory_allocation_nodes",
    "m20260810_000001_rebuild_sandbox_labels",
    "m20260813_000001_share_cpu_allocations",
    "m20260824_000001_mount_owner_config",
    "m20260818_000001_sandbox_network_slot",
    "m20260829_000001_split_snapshot_identity",
    "m20260910_000001_snapshot_groups",
    "m20260922_000001_migrate_secret_config",
    "m20261001_000001_guest_clock_config",
    "m20261022_000001_sandbox_caller_config_overrides",
)

#: microsandbox 0.5.x's 13 migrations: the ones msb-tui's own Alembic revisions mirror.
MIGRATIONS_0_5: tuple[str, ...] = MICROSANDBOX_MIGRATIONS[:13]

LEDGER_SQL = "SELECT version FROM seaql_migrations ORDER BY rowid"
LEASE_SQL = "SELECT lease_expires_at FROM maintenance_lease WHERE name = 'install_exclusive'"


def read_ledger(query: Callable[[str], Sequence[Sequence[Any]]]) -> tuple[str, ...]:
    """The ledger's ids in the order they were inserted. ``query`` runs one SQL text and returns its
    rows, so this serves a plain ``sqlite3`` connection and an SQLAlchemy one alike."""
    return tuple(str(row[0]) for row in query(LEDGER_SQL))
