"""Realistic homes made by the reference clients themselves, for the tests to read and change copies of:

- :func:`build_sdk07_home`: a fresh home made by ``microsandbox==0.7.11`` (volumes of both kinds with
  labels and files; sandboxes with bind images, named mounts ro/rw, owned directory and disk volumes,
  tmpfs, env, labels). Every sandbox ends ``Stopped`` (no VM: see ``sdk07_driver.py``).
- :func:`build_sdk05_home`: the same volumes and sandboxes (without owned/tmpfs mounts, which 0.5 lacks),
  made by ``microsandbox==0.5.10`` through ``tests/interop/sdk_driver.py``.
- :func:`upgrade_with_sdk07`: any 0.7.11 call migrates a 0.5 home to the 30 migrations.

``VOLUMES`` and ``SANDBOXES`` say what is in them, so tests can name what they expect.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.resources
import shlex
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests.sdk07 import Sdk07, sdk_environment

SDK05_DRIVER = Path(__file__).resolve().parent / "interop" / "sdk_driver.py"
SDK05_VERSION = "0.5.10"


@dataclass(frozen=True)
class VolumeSpec:
    """A named volume (a row in ``volume`` and a folder under ``volumes/``)."""

    name: str
    kind: str = "dir"
    size_mib: int | None = None
    quota_mib: int | None = None
    labels: dict[str, str] = field(default_factory=dict)
    #: Files written through the SDK's host-side ``VolumeHandle.fs`` (directory volumes only: on a disk
    #: volume 0.7.11 writes them beside ``disk.raw``, not into the image). No newlines: the 0.5 driver's
    #: batch mode reads one shell-quoted command per line.
    files: dict[str, str] = field(default_factory=dict)

    def commands(self) -> list[list[str]]:
        cmd = ["volume-create", self.name, "--kind", self.kind]
        if self.size_mib is not None:
            cmd += ["--size-mib", str(self.size_mib)]
        if self.quota_mib is not None:
            cmd += ["--quota-mib", str(self.quota_mib)]
        cmd += [arg for k, v in self.labels.items() for arg in ("--label", f"{k}={v}")]
        return [cmd, *(["volume-write", self.name, path, text] for path, text in self.files.items())]


@dataclass(frozen=True)
class SandboxSpec:
    """A sandbox row with a bind image (``bind_roots/<root>``). Mounts: ``named`` (volume, guest,
    readonly); 0.7 only: ``owned`` (guest, "dir" or "disk", quota or capacity MiB), ``tmpfs`` (guest, MiB)."""

    name: str
    root: str
    cpus: int | None = None
    memory_mib: int | None = None
    labels: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    workdir: str | None = None
    named: tuple[tuple[str, str, bool], ...] = ()
    owned: tuple[tuple[str, str, int | None], ...] = ()
    tmpfs: tuple[tuple[str, int], ...] = ()

    def command(self, bind_roots: Path, *, sdk05: bool = False) -> list[str]:
        cmd = ["sandbox-create", self.name, "--image", str(bind_roots / self.root)]
        if self.cpus is not None:
            cmd += ["--cpus", str(self.cpus)]
        if self.memory_mib is not None:
            cmd += ["--memory-mib", str(self.memory_mib)]
        if self.workdir is not None:
            cmd += ["--workdir", self.workdir]
        cmd += [arg for k, v in self.labels.items() for arg in ("--label", f"{k}={v}")]
        cmd += [arg for k, v in self.env.items() for arg in ("--env", f"{k}={v}")]
        cmd += [arg for vol, guest, ro in self.named
                for arg in ("--mount-named", f"{vol}:{guest}" + (":ro" if ro else ""))]
        if not sdk05:
            cmd += [arg for guest, kind, size in self.owned
                    for arg in ("--mount-owned", ":".join([guest, kind, *([str(size)] if size else [])]))]
            cmd += [arg for guest, size in self.tmpfs for arg in ("--mount-tmpfs", f"{guest}:{size}")]
        return cmd


VOLUMES: dict[str, VolumeSpec] = {v.name: v for v in (
    VolumeSpec("data", quota_mib=100, labels={"team": "ml", "env": "prod"},
               files={"README.md": "training data", "sets/train.csv": "a,b"}),
    VolumeSpec("cache"),
    VolumeSpec("blk", kind="disk", size_mib=128, labels={"tier": "fast", "team": "ml"}),
)}

SANDBOXES: dict[str, SandboxSpec] = {s.name: s for s in (
    SandboxSpec("web-0", "web", cpus=2, memory_mib=512, labels={"team": "ml", "env": "prod"},
                env={"MODE": "dev", "API_TOKEN": "s3cret"},
                named=(("data", "/data", True), ("blk", "/blk", False)),
                owned=(("/scratch", "dir", 50), ("/odisk", "disk", 128)), tmpfs=(("/tmp", 32),)),
    SandboxSpec("web-1", "web", labels={"team": "web"}, named=(("cache", "/cache", False),),
                owned=(("/state", "dir", None),)),
    SandboxSpec("worker", "worker", cpus=1, memory_mib=256, env={"QUEUE": "jobs"}, workdir="/app",
                named=(("data", "/data", False),)),
)}


def make_bind_roots(folder: Path) -> Path:
    """One small root folder per image the specs use (a bind image must exist before any row is written)."""
    for spec in SANDBOXES.values():
        root = folder / spec.root
        (root / "etc").mkdir(parents=True, exist_ok=True)
        (root / "etc" / "hostname").write_text(spec.root + "\n")
    return folder


def build_sdk07_home(sdk: Sdk07, home: Path, bind_roots: Path) -> Path:
    """The realistic 0.7 home, made by 0.7.11 in one driver process (~1 s)."""
    make_bind_roots(bind_roots)
    commands = [cmd for v in VOLUMES.values() for cmd in v.commands()]
    commands += [s.command(bind_roots) for s in SANDBOXES.values()]
    sdk.runner(home).batch(*commands)
    return home


def sdk05_missing_reason() -> str | None:
    """Why the 0.5.10 SDK cannot be driven from this interpreter, or None."""
    try:
        found = importlib.metadata.version("microsandbox")
    except importlib.metadata.PackageNotFoundError:
        found = None
    if found != SDK05_VERSION:
        return (f"the microsandbox=={SDK05_VERSION} SDK is not installed here (found {found}): "
                "pip install -e '.[interop]' (x86_64 Linux wheel)")
    return None


def build_sdk05_home(home: Path, bind_roots: Path) -> Path:
    """The same volumes and sandboxes, made by 0.5.10 (its driver stubs the runtime with ``false``)."""
    make_bind_roots(bind_roots)
    commands = [cmd for v in VOLUMES.values() for cmd in v.commands()]
    commands += [s.command(bind_roots, sdk05=True) for s in SANDBOXES.values()]
    proc = subprocess.run([sys.executable, str(SDK05_DRIVER), "batch"],
                          input="\n".join(shlex.join(c) for c in commands) + "\n",
                          env=sdk_environment(home), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"0.5.10 SDK could not build the home: {proc.stdout} {proc.stderr[-2000:]}"
    return home


def upgrade_with_sdk07(sdk: Sdk07, home: Path) -> Path:
    """Let 0.7.11 open ``home`` once (``Volume.list``): it applies migrations 14-30 at the first open."""
    sdk.runner(home).run("volume-list")
    return home


def copy_home(template: Path, target: Path) -> Path:
    """Copy ``template``'s contents into ``target`` (which may exist, empty), keeping ``disk.raw`` sparse."""
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cp", "-a", "--sparse=always", f"{template}/.", str(target)], check=True)
    return target


# -- reading a catalog, and what 0.7.11's must be ----------------------------------------------------------

PROFILES = importlib.resources.files("backend") / "profiles"


def ledger_07() -> list[str]:
    """The 30 migration ids of 0.7.11 in microsandbox's list order (package data of the product)."""
    return PROFILES.joinpath("ledger-0.7.11.txt").read_text().split()


def schema_07() -> str:
    """``sqlite_master.sql`` of a fresh 0.7.11 home, verbatim (package data of the product)."""
    return PROFILES.joinpath("schema-0.7.11.sql").read_text()


def ledger(db: Path) -> list[str]:
    """``seaql_migrations`` versions in insertion (rowid) order."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return [row[0] for row in conn.execute("SELECT version FROM seaql_migrations ORDER BY rowid")]


def catalog_objects(db: Path, *, skip: tuple[str, ...] = ("alembic_version",)) -> dict[tuple[str, str], str]:
    """``{(type, name): sql}`` of every object with SQL text (autoindexes have none)."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        rows = conn.execute("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL").fetchall()
    return {(kind, name): sql for kind, name, sql in rows if name not in skip}


def script_objects(script: str, db: Path) -> dict[tuple[str, str], str]:
    """``catalog_objects`` of a new database at ``db`` made by running ``script`` (SQLite keeps each
    statement's text verbatim). ``sqlite_sequence`` cannot be created by hand: AUTOINCREMENT makes it."""
    body = "\n".join(line for line in script.splitlines() if not line.startswith("--"))
    statements = [s for s in body.split(";\n") if s.strip() and "TABLE sqlite_sequence" not in s]
    with contextlib.closing(sqlite3.connect(db)) as conn:
        for statement in statements:
            conn.execute(statement)
        conn.commit()
    return catalog_objects(db)
