"""Alembic environment.

Called programmatically, the caller passes an open connection in ``config.attributes["connection"]``
(the cookbook's connection-sharing recipe), so migrations run inside the app's event loop on the
backend's own writer connection. Nothing is logged to the terminal: ``fileConfig`` is never called.
From the developer CLI (``alembic -c migrations/alembic.ini upgrade head``) it opens the home's DB.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=None,
        transaction_per_migration=True,
        # SQLite DDL is transactional; without this Alembic assumes autocommit and nothing commits.
        transactional_ddl=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
        return
    from backend.config.model import LocalConfig

    url = context.config.get_main_option("sqlalchemy.url") or f"sqlite:///{LocalConfig().db_path()}"
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            run_on(conn)
            conn.commit()
    finally:
        engine.dispose()


main()
