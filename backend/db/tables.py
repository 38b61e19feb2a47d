"""SQLAlchemy Core descriptions of microsandbox's tables, for building queries.

The DDL itself lives in the migrations, as exact text; these objects never create anything. Columns
are addressed by name (ALTER-added columns are physically last in microsandbox's tables).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Integer, MetaData, Table, Text

metadata = MetaData()

sandbox = Table(
    "sandbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("config", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("created_at", Text),
    Column("updated_at", Text),
    Column("ephemeral", Boolean, nullable=False, default=False),
)

run = Table(
    "run",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sandbox_id", Integer, ForeignKey("sandbox.id", ondelete="CASCADE"), nullable=False),
    Column("pid", Integer),
    Column("status", Text, nullable=False),
    Column("exit_code", Integer),
    Column("exit_signal", Integer),
    Column("termination_reason", Text),
    Column("termination_detail", Text),
    Column("signals_sent", Text),
    Column("started_at", Text),
    Column("terminated_at", Text),
)

sandbox_rootfs = Table(
    "sandbox_rootfs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sandbox_id", Integer, ForeignKey("sandbox.id", ondelete="CASCADE"), nullable=False),
    Column("manifest_id", Integer),
    Column("mode", Text, nullable=False),
    Column("upper_fstype", Text),
    Column("created_at", Text),
)

sandbox_labels = Table(
    "sandbox_labels",
    metadata,
    Column("sandbox_id", Integer, primary_key=True),
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
)

volume = Table(
    "volume",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("quota_mib", Integer),
    Column("size_bytes", BigInteger),
    Column("labels", Text),
    Column("created_at", Text),
    Column("updated_at", Text),
    Column("kind", Text, nullable=False),
    Column("capacity_bytes", BigInteger),
    Column("disk_format", Text),
    Column("disk_fstype", Text),
)

manifest = Table(
    "manifest",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("digest", Text, nullable=False),
    Column("architecture", Text),
    Column("os", Text),
    Column("total_size_bytes", BigInteger),
    Column("created_at", Text),
)

image_ref = Table(
    "image_ref",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("reference", Text, nullable=False),
    Column("manifest_id", Integer, nullable=False),
    Column("created_at", Text),
    Column("updated_at", Text),
)
