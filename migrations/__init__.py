"""Alembic migrations that build microsandbox's schema, shipped inside the wheel.

Each revision mirrors one of microsandbox's 13 sea-orm migrations statement for statement and records
the same ``seaql_migrations`` row, so microsandbox sees a database made here as current. A revision
whose seaql row already exists does nothing: that is how a home made by microsandbox is adopted
without touching its tables.
"""
