"""Property: no sequence of msb-tui's writes changes the migration ledger it found (issue 14).

Between writes another program may migrate the home (a newer microsandbox); the writes after that
must all be refused, and even then the ledger is whatever that program left, never ours.
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend import LocalBackend
from backend.db.ledger import MICROSANDBOX_MIGRATIONS
from backend.errors import BackendError
from backend.volumes.models import VolumeConfig
from tests.backend.sandbox_helpers import add_sandbox

NAMES = st.sampled_from(["a", "b", "c"])
OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("create"), NAMES),
        st.tuples(st.just("remove"), NAMES),
        st.tuples(st.just("remove-sandbox"), NAMES),
        st.tuples(st.just("write-file"), NAMES),
        st.tuples(st.just("external-migration"), st.just("")),
    ),
    max_size=8,
)


def ledger(db: Path) -> list[str]:
    with closing(sqlite3.connect(db)) as conn:
        return [row[0] for row in conn.execute("SELECT version FROM seaql_migrations ORDER BY rowid")]


def external_migration(db: Path, step: int) -> None:
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("INSERT OR IGNORE INTO seaql_migrations VALUES (?, 1)", (MICROSANDBOX_MIGRATIONS[13 + step],))


async def run_sequence(home: Path, operations: list[tuple[str, str]]) -> None:
    backend = LocalBackend.builder().home(home).config_file(home / "config.json").build_lazy()
    db = home / "db" / "msb.db"
    try:
        await backend.db()
        for index, name in enumerate("abc"):
            add_sandbox(db, f"sb-{name}", status=["Stopped", "Running", "Crashed"][index])
        migrated = 0
        for operation, name in operations:
            found = ledger(db)
            if operation == "external-migration":
                external_migration(db, migrated)
                migrated += 1
                continue
            try:
                if operation == "create":
                    await backend.volumes().create(VolumeConfig(name))
                elif operation == "remove":
                    await backend.volumes().remove(name)
                elif operation == "remove-sandbox":
                    await backend.sandboxes().remove(f"sb-{name}")
                else:
                    await backend.volumes().fs_write(name, "f.txt", b"x")
            except BackendError:
                pass  # refused (read-only after a migration, missing, running): fine, if nothing changed
            assert ledger(db) == found, (operation, name)
        if migrated:
            await backend.recheck()
            assert backend.read_only
    finally:
        await backend.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS)
def test_no_sequence_of_writes_changes_the_ledger(operations: list[tuple[str, str]]) -> None:
    with tempfile.TemporaryDirectory(prefix="msb-ledger-") as folder:
        asyncio.run(run_sequence(Path(folder), operations))


@pytest.mark.parametrize("operations", [[("create", "a"), ("external-migration", ""), ("remove", "a")]])
def test_the_example_that_matters_most(operations: list[tuple[str, str]]) -> None:
    with tempfile.TemporaryDirectory(prefix="msb-ledger-") as folder:
        asyncio.run(run_sequence(Path(folder), operations))
