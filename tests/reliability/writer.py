"""A stand-in for a busy microsandbox process: creates and removes volumes and sandboxes in a loop.

Run as ``python3 -m tests.reliability.writer HOME SECONDS`` (from the repository root). It writes the
catalog the way microsandbox 0.5 does (reference sections 4.1-4.2, 5.4-5.5, 6): one long-lived write
connection with WAL, ``synchronous=NORMAL``, a 5 s busy timeout, deferred transactions retried on
SQLITE_BUSY with the reference backoff; volume rows before their folders, sandbox rows with a run, a
``logs`` folder and a status change, removal of the row and then the folder. It keeps the last few
volumes and sandboxes alive so a reader always finds something to browse.

Prints one JSON line: ``{"cycles", "ops", "busy_retries", "failures"}``; exit status 0 when no
operation failed.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.backend.sandbox_helpers import make_config

KEEP = 3
DELAYS = (0.010, 0.020, 0.040, 0.080, 0.160, 0.320, 0.500)


def stamp() -> str:
    """microsandbox's timestamp text: naive UTC with nine fractional digits."""
    now = time.time()
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1e9):09d}"


class Writer:
    """One catalog writer with the reference's retry policy."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.conn = sqlite3.connect(home / "db" / "msb.db", timeout=5, isolation_level=None)
        for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL"):
            self.conn.execute(f"PRAGMA {pragma}")
        self.busy_retries = 0
        self.ops = 0

    def transaction(self, work: Callable[[sqlite3.Connection], Any]) -> Any:
        for delay in (*DELAYS, None):
            try:
                self.conn.execute("BEGIN")
                try:
                    result = work(self.conn)
                    self.conn.execute("COMMIT")
                except BaseException:
                    if self.conn.in_transaction:
                        self.conn.execute("ROLLBACK")
                    raise
                self.ops += 1
                return result
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode not in (5, 517) or delay is None:
                    raise
                self.busy_retries += 1
                time.sleep(delay)
        raise AssertionError("unreachable")

    def create_volume(self, name: str) -> None:
        row = (name, json.dumps([["team", "ml"], ["cycle", name]], separators=(",", ":")), stamp(), stamp())
        self.transaction(lambda c: c.execute(
            "INSERT INTO volume (name, kind, quota_mib, labels, created_at, updated_at) "
            "VALUES (?, 'dir', 64, ?, ?, ?)", row))
        folder = self.home / "volumes" / name
        (folder / "data").mkdir(parents=True)
        (folder / "data" / "file.txt").write_text(f"content of {name}\n")

    def remove_volume(self, name: str) -> None:
        self.transaction(lambda c: c.execute("DELETE FROM volume WHERE name = ?", (name,)))
        shutil.rmtree(self.home / "volumes" / name)

    def create_sandbox(self, name: str) -> None:
        config = json.dumps(make_config(name, labels={"team": "ml", "cycle": name}), separators=(",", ":"))

        def insert(c: sqlite3.Connection) -> None:
            cursor = c.execute(
                "INSERT INTO sandbox (name, config, status, created_at, updated_at, ephemeral) "
                "VALUES (?, ?, 'Running', ?, ?, 0)", (name, config, stamp(), stamp()))
            c.execute("INSERT INTO run (sandbox_id, pid, status, started_at) VALUES (?, ?, 'Running', ?)",
                      (cursor.lastrowid, os.getpid(), stamp()))

        self.transaction(insert)
        logs = self.home / "sandboxes" / name / "logs"
        logs.mkdir(parents=True)
        (logs / "exec.log").write_text("".join(f'{{"d": "line {i}"}}\n' for i in range(50)))
        self.transaction(lambda c: c.execute(
            "UPDATE run SET status = 'Terminated', exit_code = 0, termination_reason = 'Completed', "
            "terminated_at = ? WHERE sandbox_id = (SELECT id FROM sandbox WHERE name = ?)", (stamp(), name)))
        self.transaction(lambda c: c.execute(
            "UPDATE sandbox SET status = 'Stopped', updated_at = ? WHERE name = ?", (stamp(), name)))

    def remove_sandbox(self, name: str) -> None:
        shutil.rmtree(self.home / "sandboxes" / name)
        self.transaction(lambda c: c.execute("DELETE FROM sandbox WHERE name = ?", (name,)))


def main(argv: list[str]) -> int:
    home, seconds = Path(argv[0]), float(argv[1])
    writer = Writer(home)
    failures: list[str] = []
    cycles = 0
    deadline = time.monotonic() + seconds
    print("ready", flush=True)
    while time.monotonic() < deadline and len(failures) < 5:
        steps: list[tuple[str, Callable[[str], None], str]] = [
            ("create volume", writer.create_volume, f"cw{cycles}"),
            ("create sandbox", writer.create_sandbox, f"cs{cycles}"),
        ]
        if cycles >= KEEP:
            steps += [("remove volume", writer.remove_volume, f"cw{cycles - KEEP}"),
                      ("remove sandbox", writer.remove_sandbox, f"cs{cycles - KEEP}")]
        for what, step, name in steps:
            try:
                step(name)
            except Exception as exc:  # noqa: BLE001 - every failure is reported, none stops the report
                failures.append(f"cycle {cycles}: {what}: {type(exc).__name__}: {exc}")
        cycles += 1
    writer.conn.close()
    print(json.dumps({"cycles": cycles, "ops": writer.ops, "busy_retries": writer.busy_retries,
                      "failures": failures}), flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
