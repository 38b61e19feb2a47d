"""Sandbox listing on a home with 100,000 sandbox rows (quick: 20,000).

The catalog is created and migrated by our backend, then filled with ``sqlite3.executemany``: configs
shaped like microsandbox's (Appendix C, ~1 KB each), statuses in realistic proportions, one finished run
per sandbox and a ``Running`` run for each running one. Each case is our async call (SQLAlchemy +
aiosqlite, JSON parsing, pid checks, typed rows) against plain ``sqlite3`` executing the same SQL
statements and fetching the tuples, so the ratio is what our layer costs on top of SQLite. The note
also gives the time of the naive plain query (``SELECT * … ORDER BY created_at DESC LIMIT 100``).
"""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from backend.local import LocalBackend
from backend.sandboxes.models import SandboxQuery
from backend.sandboxes.parse import parse_config_for_row
from backend.sandboxes.sql import Cursor, page_sql, runs_sql
from bench.common import Result, measure, measure_async

PAGE = 100
TEAMS = ("ml", "web", "data", "infra", "search", "billing", "edge", "ops")
STATUSES = ("Stopped",) * 80 + ("Crashed",) * 12 + ("Running",) * 6 + ("Draining", "Paused")


def _config(name: str, index: int, rng: random.Random) -> str:
    document: dict[str, Any] = {
        "name": name,
        "image": {"Oci": {"reference": rng.choice(["python:3.12", "node:22", "alpine", "ubuntu:24.04"]),
                          "upper_size_mib": 4096}},
        "resources": {"cpus": rng.choice([1, 2, 4]), "memory_mib": rng.choice([512, 1024, 2048])},
        "runtime": {"workdir": None, "shell": None, "scripts": {}, "entrypoint": None, "cmd": ["python3"],
                    "hostname": None, "user": None, "log_level": None, "metrics_sample_interval_ms": 1000,
                    "disable_metrics_sample": False},
        "env": [{"key": "PATH", "value": "/usr/local/bin:/usr/bin:/bin"}, {"key": "RUN", "value": str(index)}],
        "labels": {"app": f"svc{index % 97}", "team": TEAMS[index % len(TEAMS)]},
        "rlimits": [],
        "mounts": [{"type": "Tmpfs", "guest": "/tmp", "size_mib": 128,
                    "options": {"readonly": False, "noexec": False, "nosuid": False, "nodev": False}},
                   {"type": "Named", "name": f"vol{index % 50}", "guest": "/data",
                    "options": {"readonly": False, "noexec": False, "nosuid": False, "nodev": False},
                    "stat_virtualization": "strict", "host_permissions": "private"}],
        "patches": [],
        "network": {"enabled": True, "ports": [{"host_port": 8000 + index % 1000, "guest_port": 80,
                                                "protocol": "tcp", "host_bind": "127.0.0.1"}],
                    "max_connections": None, "trust_host_cas": False},
        "init": None,
        "pull_policy": "IfMissing",
        "security_profile": "default",
        "lifecycle": {"ephemeral": False, "max_duration_secs": None, "idle_timeout_secs": None},
        "manifest_digest": "sha256:" + f"{index:064x}",
    }
    return json.dumps(document, separators=(",", ":"))


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f") + "123"  # 9 digits, as the SDK writes


def fill(db_path: Path, count: int, seed: int = 7) -> None:
    """Insert ``count`` sandboxes and their runs into a migrated catalog."""
    rng = random.Random(seed)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    dead_pid = 2**22 + 12345  # above the usual pid_max: never alive
    sandboxes: list[tuple[object, ...]] = []
    runs: list[tuple[object, ...]] = []
    for index in range(count):
        name = f"sbx-{index:06d}-{TEAMS[index % len(TEAMS)]}"
        created = start + timedelta(seconds=index * 37, microseconds=rng.randrange(1_000_000))
        status = rng.choice(STATUSES)
        sandboxes.append((index + 1, name, _config(name, index, rng), status, _ts(created),
                          _ts(created + timedelta(minutes=5)), 0))
        runs.append((index + 1, 1000 + index, "Terminated", rng.choice([0, 1, 137]),
                     rng.choice(["Completed", "Failed", "Signal"]), _ts(created), _ts(created + timedelta(minutes=4))))
        if status in ("Running", "Draining"):
            runs.append((index + 1, dead_pid, "Running", None, None, _ts(created + timedelta(minutes=4, seconds=1)), None))
    conn = sqlite3.connect(db_path)
    with conn:
        conn.executemany(
            "INSERT INTO sandbox (id, name, config, status, created_at, updated_at, ephemeral) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)", sandboxes)
        conn.executemany(
            "INSERT INTO run (sandbox_id, pid, status, exit_code, termination_reason, started_at, terminated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)", runs)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def _plain_page(conn: sqlite3.Connection, sql: str, params: list[object]) -> int:
    rows = conn.execute(sql, params).fetchall()
    if rows:
        ids = [row[0] for row in rows]
        conn.execute(runs_sql(len(ids)), ids).fetchall()
    return len(rows)


async def _measure_cold(fn: Callable[[], Awaitable[object]], repeat: int) -> float:
    """Median time with the parsed-config cache emptied before every call (nothing parsed before)."""
    await fn()
    samples = []
    for _ in range(repeat):
        parse_config_for_row.cache_clear()
        start = time.perf_counter()
        await fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def _naive_first_page(conn: sqlite3.Connection) -> int:
    rows = conn.execute("SELECT * FROM sandbox ORDER BY created_at DESC, id DESC LIMIT ?", (PAGE,)).fetchall()
    ids = [row[0] for row in rows]
    conn.execute(f"SELECT * FROM run WHERE sandbox_id IN ({','.join('?' * len(ids))})", ids).fetchall()
    return len(rows)


async def _run(workdir: Path, quick: bool) -> list[Result]:
    count = 20_000 if quick else 100_000
    repeat = 5 if quick else 9
    home = workdir / "home"
    home.mkdir()
    builder = LocalBackend.builder().home(home).config_file(home / "config.json")
    backend = await builder.build()
    db_path = backend.config.db_path()
    await backend.close()
    fill(db_path, count)

    backend = await builder.build()
    sandboxes = backend.sandboxes()
    plain = sqlite3.connect(f"{db_path.as_uri()}?mode=ro", uri=True)
    results: list[Result] = []
    try:
        default = SandboxQuery()
        filtered = SandboxQuery(statuses=frozenset({"Stopped"}), labels=(("team", "ml"),))
        by_name = SandboxQuery(sort="name", descending=False)
        # The cursor of the row just before the last page, taken from SQLite directly.
        key, row_id = plain.execute(
            "SELECT coalesce(CAST(created_at AS TEXT), ''), id FROM sandbox ORDER BY 1 DESC, 2 DESC "
            "LIMIT 1 OFFSET ?", (count - PAGE - 1,)).fetchone()
        last_cursor = Cursor("created", True, key, row_id)
        first = await sandboxes.list(default, limit=PAGE)
        last = await sandboxes.list(default, limit=PAGE, after=last_cursor.encode())
        assert len(first.rows) == PAGE and len(last.rows) == PAGE and last.next_cursor is None

        cases = [
            ("first page (created desc)", lambda: sandboxes.list(default, limit=PAGE),
             page_sql(default, limit=PAGE + 1)),
            ("last page (keyset)", lambda: sandboxes.list(default, limit=PAGE, after=last_cursor.encode()),
             page_sql(default, limit=PAGE + 1, cursor=last_cursor)),
            ("filtered page (status+label)", lambda: sandboxes.list(filtered, limit=PAGE),
             page_sql(filtered, limit=PAGE + 1)),
            ("first page (name asc)", lambda: sandboxes.list(by_name, limit=PAGE),
             page_sql(by_name, limit=PAGE + 1)),
            ("window at 90% (created desc)", lambda: sandboxes.window(default, count * 9 // 10, PAGE),
             page_sql(default, limit=PAGE, offset=count * 9 // 10)),
        ]
        timings: dict[str, float] = {}
        naive = measure(lambda: _naive_first_page(plain), repeat=repeat)
        for label, ours_fn, (sql, params) in cases:
            cold = await _measure_cold(ours_fn, repeat)
            warm = await measure_async(ours_fn, repeat=repeat)
            reference = measure(partial(_plain_page, plain, sql, params), repeat=repeat)
            timings[label] = cold
            note = f"warm parse cache {warm * 1000:.1f} ms"
            if label.startswith("first page (c"):
                note += f"; naive sqlite3 first page {naive * 1000:.1f} ms"
            results.append(Result(
                f"sandboxes {label}, {count // 1000}k rows", cold, "sqlite3 same SQL", reference, 3.0, note=note,
            ))
        ours = await measure_async(sandboxes.counts_by_status, repeat=repeat)
        reference = measure(
            lambda: plain.execute("SELECT status, count(*) FROM sandbox GROUP BY status").fetchall(), repeat=repeat)
        results.append(Result(f"sandboxes status counts, {count // 1000}k rows", ours, "sqlite3 GROUP BY", reference, 3.0))
        results.append(Result(
            f"sandboxes last page vs first page, {count // 1000}k rows", timings["last page (keyset)"],
            "our first page", timings["first page (created desc)"], 1.5,
        ))
    finally:
        plain.close()
        await backend.close()
    return results


def run(workdir: Path, quick: bool) -> list[Result]:
    """Build the home in ``workdir`` and compare our listing calls with plain sqlite3."""
    return asyncio.run(_run(workdir, quick))
