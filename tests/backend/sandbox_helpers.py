"""Helpers for the sandbox tests: hand-written catalog rows, written with plain sqlite3 the way
microsandbox writes them (compact config JSON, naive-UTC timestamp text). No tests here."""

from __future__ import annotations

import copy
import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from backend import LocalBackend

OPTIONS = {"readonly": False, "noexec": False, "nosuid": False, "nodev": False}

# Appendix C of the reference: an OCI sandbox created with defaults.
APPENDIX_C: dict[str, Any] = {
    "name": "dev",
    "image": {"Oci": {"reference": "python", "upper_size_mib": 4096}},
    "resources": {"cpus": 1, "memory_mib": 512},
    "runtime": {"workdir": None, "shell": None, "scripts": {}, "entrypoint": None, "cmd": ["python3"],
                "hostname": None, "user": None, "log_level": None, "metrics_sample_interval_ms": 1000,
                "disable_metrics_sample": False},
    "env": [{"key": "PATH", "value": "/usr/local/bin:/usr/bin:/bin"}],
    "labels": {"app": "engine"},
    "rlimits": [],
    "mounts": [
        {"type": "Tmpfs", "guest": "/tmp", "size_mib": 128, "options": dict(OPTIONS)},
        {"type": "Named", "name": "data", "guest": "/data", "options": dict(OPTIONS),
         "stat_virtualization": "strict", "host_permissions": "private"},
    ],
    "patches": [],
    "network": {"enabled": True, "ports": [], "max_connections": None, "trust_host_cas": False},
    "init": None,
    "pull_policy": "IfMissing",
    "security_profile": "default",
    "lifecycle": {"ephemeral": False, "max_duration_secs": None, "idle_timeout_secs": None},
    "manifest_digest": "sha256:" + "ab" * 32,
}


def make_config(name: str, **changes: Any) -> dict[str, Any]:
    """Appendix C for ``name`` with top-level keys replaced by ``changes``."""
    document = copy.deepcopy(APPENDIX_C)
    document["name"] = name
    document.update(changes)
    return document


def db_file(backend: LocalBackend) -> Path:
    """The catalog file of ``backend``."""
    return backend.config.db_path()


def add_sandbox(
    db: Path,
    name: str,
    *,
    status: str = "Stopped",
    config: dict[str, Any] | str | None = None,
    created: str | None = "2026-01-01 10:00:00.000000",
    updated: str | None = None,
    ephemeral: int = 0,
) -> int:
    """Insert one ``sandbox`` row; ``config`` None means Appendix C for ``name``. Returns its id."""
    text = json.dumps(make_config(name) if config is None else config, separators=(",", ":")) \
        if not isinstance(config, str) else config
    with sqlite3.connect(db) as conn:
        cursor = conn.execute(
            "INSERT INTO sandbox (name, config, status, created_at, updated_at, ephemeral) VALUES (?, ?, ?, ?, ?, ?)",
            (name, text, status, created, updated if updated is not None else created, ephemeral),
        )
        row_id = cursor.lastrowid
    assert row_id is not None
    return row_id


def add_run(
    db: Path,
    sandbox_id: int,
    *,
    pid: int | None = None,
    status: str = "Terminated",
    exit_code: int | None = None,
    reason: str | None = None,
    started: str | None = "2026-01-01 10:00:01.000000",
    terminated: str | None = None,
) -> int:
    """Insert one ``run`` row. Returns its id."""
    with sqlite3.connect(db) as conn:
        cursor = conn.execute(
            "INSERT INTO run (sandbox_id, pid, status, exit_code, termination_reason, started_at, terminated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (sandbox_id, pid, status, exit_code, reason, started, terminated),
        )
        row_id = cursor.lastrowid
    assert row_id is not None
    return row_id


def query_all(db: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` read with plain sqlite3."""
    with sqlite3.connect(db) as conn:
        return list(conn.execute(sql, params))


def dead_pid() -> int:
    """The pid of a child that has exited and been reaped (so nothing answers to it for a while)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid
