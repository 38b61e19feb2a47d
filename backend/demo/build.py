"""Writing the demo home (:mod:`backend.demo.data`) through the backend: catalog rows, sandbox folders
with logs, volumes with files, config.json; and bulk sandboxes for benchmarks and scale tests."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.config.file import dumps_config, write_config_text
from backend.db import tables
from backend.demo.data import (
    DEMO_DIR_VOLUMES,
    DEMO_DISK_VOLUME,
    DemoSandbox,
    config_text,
    demo_config_document,
    demo_logs,
    demo_sandboxes,
    oci,
    sandbox_config,
    ts,
)
from backend.local import LocalBackend
from backend.volumes.models import VolumeConfig


async def _insert_sandboxes(conn: AsyncConnection, rows: Sequence[DemoSandbox], now: datetime) -> None:
    def at(minutes: float) -> str:
        return ts(now - timedelta(minutes=minutes))

    for row in rows:
        result = await conn.execute(insert(tables.sandbox).values(
            name=row.name, config=row.config_text, status=row.status,
            created_at=at(row.created_min), updated_at=at(row.updated_min), ephemeral=row.ephemeral,
        ))
        sandbox_id = result.inserted_primary_key[0] if result.inserted_primary_key else None
        for run in row.runs:
            await conn.execute(insert(tables.run).values(
                sandbox_id=sandbox_id, pid=run.pid, status=run.status, exit_code=run.exit_code,
                termination_reason=run.reason, started_at=at(run.started_min),
                terminated_at=None if run.ended_min is None else at(run.ended_min),
            ))


def _write_sandbox_dirs(backend: LocalBackend, rows: Sequence[DemoSandbox], now: datetime) -> None:
    for row in rows:
        folder = backend.sandboxes_dir() / row.name
        (folder / "runtime" / "scripts").mkdir(parents=True, exist_ok=True)
        logs = folder / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        for file_name, data in demo_logs(row.name, now).items():
            (logs / file_name).write_bytes(data)


#: Volume name -> days before ``now`` it was created (volume rows get these times, not the wall clock).
_VOLUME_AGE_DAYS = {"project-data": 40, "ml-models": 21, "build-cache": 9, "scratch": 2, "pg-disk": 14}


async def build_demo_volumes(backend: LocalBackend, now: datetime) -> None:
    """Create the demo volumes through the backend's volume API: directory ones with nested text,
    JSON, binary and large files, and a disk one when ``mkfs.ext4`` exists."""
    volumes = backend.volumes()
    for name, quota, labels in DEMO_DIR_VOLUMES:
        await volumes.create(VolumeConfig.directory(name, quota_mib=quota, labels=labels))
    files: dict[str, dict[str, bytes]] = {
        "project-data": {
            "README.md": b"# project-data\n\nShared web content and the API's uploads.\n",
            "site/index.html": b"<!doctype html><title>acme</title><h1>It works</h1>\n",
            "site/assets/app.js": b"console.log('acme demo');\n" * 40,
            "site/assets/logo.png": bytes.fromhex("89504e470d0a1a0a0000000d49484452") + bytes(range(256)) * 4,
            "api/settings.json": json.dumps({"debug": False, "workers": 4, "features": {"search": True}},
                                            indent=2).encode(),
            "api/uploads/2026/11/report.csv": b"id,name,total\n" + b"".join(
                f"{i},item-{i},{i * 3.5:.2f}\n".encode() for i in range(500)),
            "api/uploads/2026/11/blob.bin": bytes((i * 37) % 256 for i in range(65_536)),
            "logs/access.log": b"".join(
                f"10.0.0.{i % 250} - - GET /items/{i} 200\n".encode() for i in range(60_000)),
        },
        "ml-models": {
            "resnet50/config.json": json.dumps({"arch": "resnet50", "classes": 1000}, indent=2).encode(),
            "resnet50/weights.bin": bytes((i * 13) % 256 for i in range(3 * 1024 * 1024)),
            "tokenizer/vocab.txt": "\n".join(f"token{i}" for i in range(5000)).encode(),
            "notes/TODO.txt": b"- retrain with the November data\n- prune old checkpoints\n",
        },
        "build-cache": {
            "go/pkg/mod/cache/download/example.com/lib/@v/v1.2.3.zip": bytes(range(256)) * 64,
            "pip/http/d/e/f/abcdef": b"cached wheel bytes\n" * 100,
            "ccache/ccache.conf": b"max_size = 5G\n",
        },
        "scratch": {"empty/.keep": b""},
    }
    for volume, contents in files.items():
        for path, data in contents.items():
            await volumes.fs_write(volume, path, data)
    if shutil.which("mkfs.ext4"):
        name, size = DEMO_DISK_VOLUME
        await volumes.create(VolumeConfig.disk(name, capacity_mib=size, labels={"app": "db"}))
    database = await backend.db()

    async def backdate(conn: AsyncConnection) -> None:
        for name, days in _VOLUME_AGE_DAYS.items():
            moment = ts(now - timedelta(days=days, minutes=17))
            await conn.execute(update(tables.volume).where(tables.volume.c.name == name)
                               .values(created_at=moment, updated_at=moment))

    await database.write("date the demo volumes", backdate)


async def build_demo_home(path: Path, *, now: datetime) -> None:
    """Create a demo home at ``path`` (which must not exist yet or be empty).

    Writes config.json, the catalog (sandboxes, runs), per-sandbox folders with logs, and the volumes.
    """
    path.mkdir(parents=True, exist_ok=True)
    config_file = path / "config.json"
    write_config_text(config_file, dumps_config(demo_config_document()))
    backend = LocalBackend.builder().home(path).config_file(config_file).build_lazy()
    try:
        db = await backend.db()
        rows = demo_sandboxes()

        async def work(conn: AsyncConnection) -> None:
            await _insert_sandboxes(conn, rows, now)

        await db.write("build the demo sandboxes", work)
        _write_sandbox_dirs(backend, rows, now)
        await build_demo_volumes(backend, now)
    finally:
        await backend.close()
    _stamp_times(backend.volumes_dir(), now - timedelta(hours=2))


def _stamp_times(folder: Path, moment: datetime) -> None:
    """Give every file and folder below ``folder`` the same modification time, relative to ``now``,
    so the demo's ages read sensibly and pictures of it do not depend on when they were taken."""
    stamp = moment.timestamp()
    for parent, dirs, files in os.walk(folder, topdown=False):
        for name in (*files, *dirs):
            os.utime(os.path.join(parent, name), (stamp, stamp), follow_symlinks=False)


_BULK_IMAGES = ("python:3.12-slim", "node:22-alpine", "alpine:3.20", "nginx:1.27-alpine", "golang:1.23")
_BULK_STATUSES = ("Stopped", "Stopped", "Stopped", "Running", "Crashed", "Stopped", "Paused", "Stopped")


async def add_bulk_sandboxes(path: Path, count: int, *, now: datetime, prefix: str = "bulk") -> None:
    """Add ``count`` plain sandbox rows (no runs, no folders) to the home at ``path``, for scale tests
    and benchmarks. Names are ``<prefix>-000001`` and up; creation times are one second apart."""
    config_file = path / "config.json"
    backend = LocalBackend.builder().home(path).config_file(config_file).build_lazy()
    try:
        db = await backend.db()
        batch = 5_000
        for start in range(0, count, batch):
            values = []
            for i in range(start, min(count, start + batch)):
                name = f"{prefix}-{i + 1:06d}"
                document = sandbox_config(
                    name, image=oci(_BULK_IMAGES[i % len(_BULK_IMAGES)]), cpus=1 + i % 4,
                    memory_mib=256 * (1 + i % 8), labels={"shard": str(i % 16), "team": ("a", "b", "c")[i % 3]},
                )
                moment = ts(now - timedelta(seconds=count - i))
                values.append({
                    "name": name, "config": config_text(document), "status": _BULK_STATUSES[i % len(_BULK_STATUSES)],
                    "created_at": moment, "updated_at": moment, "ephemeral": False,
                })

            async def work(conn: AsyncConnection, values: list[dict[str, Any]] = values) -> None:
                await conn.execute(insert(tables.sandbox), values)

            await db.write("add bulk sandboxes", work)
    finally:
        await backend.close()
