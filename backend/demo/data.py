"""What the demo home holds: sandboxes with runs and logs, volumes, a config (``msb-tui --demo``, tests, pictures).

Everything is derived from ``now`` (and nothing else), so two builds with the same ``now`` differ only in
their folder: same rows, same timestamps, same file contents. Rows have exactly the shapes microsandbox
0.5.x writes (reference section 6 and Appendix C; checked against the 0.5.10 SDK): compact config JSON,
naive-UTC timestamps with nine fractional digits, ``sandbox_labels`` left empty.

Live processes: a row meant to read as "running" uses pid 1, which exists on every host (``kill(1, 0)``
succeeds or fails with EPERM, both of which microsandbox counts as alive). A row meant to have lost its
process uses a pid above Linux's largest possible pid.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

#: The instant the pictures, snapshots and benchmarks are built for.
DEMO_NOW = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)

#: Above PID_MAX_LIMIT (2**22), so never a live process.
DEAD_PID = 4_194_405
LIVE_PID = 1


def ts(moment: datetime) -> str:
    """``moment`` as microsandbox stores it: naive UTC, nine fractional digits."""
    moment = moment.astimezone(UTC)
    nanos = moment.microsecond * 1000 + 417  # a nanosecond tail, as chrono writes
    return moment.strftime("%Y-%m-%d %H:%M:%S") + f".{nanos:09d}"


def _rfc3339_ms(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _digest(seed: str) -> str:
    return "sha256:" + hashlib.sha256(seed.encode()).hexdigest()


_NO_OPTIONS = {"readonly": False, "noexec": False, "nosuid": False, "nodev": False}


def named_mount(volume: str, guest: str, *, readonly: bool = False) -> dict[str, Any]:
    """A ``Named`` mount entry as microsandbox persists it."""
    return {
        "type": "Named",
        "name": volume,
        "guest": guest,
        "options": {**_NO_OPTIONS, "readonly": readonly},
        "stat_virtualization": "strict",
        "host_permissions": "private",
    }


def tmpfs_mount(guest: str, size_mib: int) -> dict[str, Any]:
    """A ``Tmpfs`` mount entry (OCI sandboxes get one at /tmp automatically)."""
    return {"type": "Tmpfs", "guest": guest, "size_mib": size_mib, "options": dict(_NO_OPTIONS)}


def bind_mount(host: str, guest: str, *, readonly: bool = True) -> dict[str, Any]:
    """A ``Bind`` mount entry."""
    return {
        "type": "Bind",
        "host": host,
        "guest": guest,
        "options": {**_NO_OPTIONS, "readonly": readonly, "nosuid": True},
        "stat_virtualization": "strict",
        "host_permissions": "private",
    }


def sandbox_config(
    name: str,
    *,
    image: dict[str, Any],
    cpus: int = 1,
    memory_mib: int = 512,
    cmd: list[str] | None = None,
    entrypoint: list[str] | None = None,
    workdir: str | None = None,
    env: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
    mounts: Sequence[dict[str, Any]] = (),
    ports: Sequence[tuple[int, int, str]] = (),
    ephemeral: bool = False,
    idle_timeout_secs: int | None = None,
    max_duration_secs: int | None = None,
    security_profile: str = "default",
) -> dict[str, Any]:
    """A full persisted ``SandboxConfig`` document in microsandbox's key order (Appendix C)."""
    is_oci = "Oci" in image
    all_mounts = list(mounts)
    if is_oci and not any(m.get("guest") == "/tmp" for m in all_mounts):
        all_mounts.insert(0, tmpfs_mount("/tmp", max(1, min(memory_mib // 4, 512))))
    return {
        "name": name,
        "image": image,
        "resources": {"cpus": cpus, "memory_mib": memory_mib},
        "runtime": {
            "workdir": workdir,
            "shell": None,
            "scripts": {},
            "entrypoint": entrypoint,
            "cmd": cmd,
            "hostname": None,
            "user": None,
            "log_level": None,
            "metrics_sample_interval_ms": 1000,
            "disable_metrics_sample": False,
        },
        "env": [{"key": k, "value": v} for k, v in (env or {}).items()],
        "labels": dict(sorted((labels or {}).items())),
        "rlimits": [],
        "mounts": all_mounts,
        "patches": [],
        "network": {
            "enabled": True,
            "ports": [
                {"host_port": host, "guest_port": guest, "protocol": proto, "host_bind": "127.0.0.1"}
                for host, guest, proto in ports
            ],
            "max_connections": None,
            "trust_host_cas": False,
        },
        "init": None,
        "pull_policy": "IfMissing",
        "security_profile": security_profile,
        "lifecycle": {
            "ephemeral": ephemeral,
            "max_duration_secs": max_duration_secs,
            "idle_timeout_secs": idle_timeout_secs,
        },
        "manifest_digest": _digest(json.dumps(image, sort_keys=True)) if is_oci else None,
    }


def oci(reference: str, upper_size_mib: int | None = 4096) -> dict[str, Any]:
    """``{"Oci": {...}}`` with ``upper_size_mib`` omitted when None, as serde does."""
    inner: dict[str, Any] = {"reference": reference}
    if upper_size_mib is not None:
        inner["upper_size_mib"] = upper_size_mib
    return {"Oci": inner}


@dataclass(frozen=True)
class DemoRun:
    """One boot of a demo sandbox. Offsets are minutes before ``now``."""

    started_min: float
    ended_min: float | None = None
    pid: int | None = None
    exit_code: int | None = None
    reason: str | None = None

    @property
    def status(self) -> str:
        """``Running`` while not ended, else ``Terminated``."""
        return "Running" if self.ended_min is None else "Terminated"


@dataclass(frozen=True)
class DemoSandbox:
    """One demo row: its stored config text, status, age and runs."""

    name: str
    status: str
    config_text: str
    created_min: float
    updated_min: float
    runs: tuple[DemoRun, ...] = ()
    ephemeral: bool = False
    logs: dict[str, str] = field(default_factory=dict)


def config_text(document: dict[str, Any]) -> str:
    return json.dumps(document, separators=(",", ":"))


#: The demo volumes and what each holds (created by :func:`build_demo_volumes`).
DEMO_DIR_VOLUMES: tuple[tuple[str, int | None, dict[str, str]], ...] = (
    ("project-data", None, {"team": "web", "tier": "prod"}),
    ("ml-models", 20_480, {"team": "ml"}),
    ("build-cache", 4_096, {}),
    ("scratch", None, {"owner": "nobody"}),
)
DEMO_DISK_VOLUME = ("pg-disk", 96)


def demo_sandboxes() -> list[DemoSandbox]:
    """The demo rows: every status (one unknown), every termination reason, a malformed config, odd
    nulls, an ephemeral run, labels, Named mounts of the demo volumes (and of one that does not exist),
    ports and env."""
    cfg = sandbox_config
    rows: list[DemoSandbox] = []

    def add(name: str, status: str, document: dict[str, Any] | str, created: float, updated: float,
            runs: Iterable[DemoRun] = (), *, ephemeral: bool = False) -> None:
        text = document if isinstance(document, str) else config_text(document)
        rows.append(DemoSandbox(name, status, text, created, updated, tuple(runs), ephemeral))

    add("web-frontend", "Running", cfg(
        "web-frontend", image=oci("nginx:1.27-alpine"), cpus=2, memory_mib=1024,
        cmd=["nginx", "-g", "daemon off;"], env={"NGINX_PORT": "80", "TZ": "UTC"},
        labels={"app": "web", "team": "web", "tier": "prod"},
        mounts=[named_mount("project-data", "/usr/share/nginx/html", readonly=True)],
        ports=[(8080, 80, "tcp"), (8443, 443, "tcp")],
    ), 4320, 95, [
        DemoRun(4320, 1500, None, 0, "ShutdownRequested"),
        DemoRun(1490, 96, None, 137, "Signal"),
        DemoRun(95, None, LIVE_PID),
    ])
    add("api-server", "Running", cfg(
        "api-server", image=oci("python:3.12-slim"), cpus=4, memory_mib=2048,
        entrypoint=["python", "-m"], cmd=["uvicorn", "app:main", "--port", "8000"], workdir="/srv",
        env={"APP_ENV": "demo", "DATABASE_URL": "postgres://api@10.0.0.5/api", "API_TOKEN": "demo-not-a-secret"},
        labels={"app": "api", "team": "web", "tier": "prod"},
        mounts=[named_mount("project-data", "/srv/data"), named_mount("build-cache", "/root/.cache")],
        ports=[(8000, 8000, "tcp"), (5353, 53, "udp")],
    ), 2880, 30, [DemoRun(2880, 31, None, 0, "Completed"), DemoRun(30, None, LIVE_PID)])
    add("trainer-gpu", "Running", cfg(
        "trainer-gpu", image=oci("pytorch/pytorch:2.4.0-cuda12.1-cudnn9-runtime", 16384), cpus=8,
        memory_mib=16384, cmd=["python", "train.py", "--epochs", "40"], workdir="/work",
        labels={"app": "trainer", "team": "ml"},
        mounts=[named_mount("ml-models", "/models"), named_mount("project-data", "/data", readonly=True)],
    ), 720, 600, [DemoRun(600, None, DEAD_PID)])
    add("ci-runner-7", "Running", cfg(
        "ci-runner-7", image=oci("ghcr.io/acme/ci-runner:2026.11"), cpus=2, memory_mib=4096,
        labels={"team": "platform", "ci": ""}, mounts=[named_mount("build-cache", "/cache")],
    ), 0.5, 0.5)
    add("queue-drain", "Draining", cfg(
        "queue-drain", image=oci("redis:7.4"), memory_mib=768, cmd=["redis-server"],
        labels={"app": "queue", "team": "platform"}, ports=[(6379, 6379, "tcp")],
    ), 1440, 2, [DemoRun(1440, None, LIVE_PID)])
    add("notebook-ana", "Paused", cfg(
        "notebook-ana", image=oci("jupyter/scipy-notebook:2024-10-07"), cpus=2, memory_mib=3072,
        labels={"owner": "ana", "team": "ml"}, mounts=[named_mount("ml-models", "/home/jovyan/models")],
        ports=[(8888, 8888, "tcp")], idle_timeout_secs=3600,
    ), 10080, 180, [DemoRun(10080, 181, None, 0, "IdleTimeout")])
    add("db-migrate", "Stopped", cfg(
        "db-migrate", image=oci("flyway/flyway:10"), cmd=["migrate"], env={"FLYWAY_URL": "jdbc:postgresql://db/app"},
        labels={"app": "api", "job": "migrate"},
    ), 2900, 2895, [DemoRun(2900, 2895, None, 0, "Completed")])
    add("etl-nightly", "Stopped", cfg(
        "etl-nightly", image=oci("python:3.12-slim"), cpus=2, memory_mib=2048,
        cmd=["python", "etl.py", "--date", "yesterday"], labels={"job": "etl", "team": "data"},
        mounts=[named_mount("project-data", "/data"), named_mount("old-exports", "/exports")],
        max_duration_secs=7200,
    ), 1560, 1320, [
        DemoRun(5880, 5760, None, 1, "Failed"),
        DemoRun(4440, 4320, None, None, "MaxDurationExceeded"),
        DemoRun(1560, 1320, None, 0, "Completed"),
    ])
    add("agent-sbx", "Stopped", cfg(
        "agent-sbx", image={"Bind": "/srv/rootfs/agent"}, labels={"app": "agent"},
        mounts=[bind_mount("/srv/tools", "/opt/tools")],
    ), 300, 240, [DemoRun(300, 240, None, None, "AgentUnresponsive")])
    add("legacy-alpine", "Stopped", cfg(
        "legacy-alpine", image={"Oci": "alpine:3.20"}, labels={"era": "0.4"},
    ), 43200, 43000, [DemoRun(43200, 43000, None, 0, "ShutdownRequested")])
    add("disk-vm", "Stopped", cfg(
        "disk-vm", image={"DiskImage": {"path": "/var/lib/images/debian-12.qcow2", "format": "Qcow2",
                                        "fstype": "ext4"}},
        cpus=2, memory_mib=2048, labels={"team": "platform"},
        mounts=[named_mount("pg-disk", "/var/lib/postgresql")],
    ), 20160, 20000, [DemoRun(20160, 20000, None, 143, "Signal")])
    add("builder-x86", "Crashed", cfg(
        "builder-x86", image=oci("docker.io/library/golang:1.23"), cpus=4, memory_mib=4096,
        cmd=["make", "release"], labels={"ci": "", "team": "platform"},
        mounts=[named_mount("build-cache", "/go/pkg")],
    ), 200, 45, [DemoRun(200, 45, None, None, "InternalError")])
    add("msb-3f9a2c1e", "Running", cfg(
        "msb-3f9a2c1e", image=oci("alpine:3.20"), cmd=["sh", "-c", "sleep 600"], ephemeral=True,
    ), 3, 3, [DemoRun(3, None, LIVE_PID)], ephemeral=True)
    add("preview-pr-412", "Created", cfg(
        "preview-pr-412", image=oci("ghcr.io/acme/web:pr-412"), labels={"pr": "412", "team": "web"},
    ), 12, 12)
    add("preview-pr-413", "Starting", cfg(
        "preview-pr-413", image=oci("ghcr.io/acme/web:pr-413"), labels={"pr": "413", "team": "web"},
    ), 6, 6)
    add("hibernated-db", "Hibernating", cfg(
        "hibernated-db", image=oci("postgres:17"), memory_mib=1024, labels={"app": "db"},
        mounts=[named_mount("pg-disk", "/var/lib/postgresql/data")],
    ), 8000, 7000)
    add("broken-row", "Stopped", '{"name":"broken-row","image":{"Oci":{"reference":"busybox"', 9000, 9000)
    odd = cfg("null-fields", image=oci("busybox:1.36"))
    odd["resources"] = {"cpus": None, "memory_mib": 256}
    odd["labels"] = None
    odd["mounts"] = [{"type": "Named", "name": "scratch", "guest": "/scratch", "readonly": True}]
    add("null-fields", "Stopped", odd, 8500, 8400)
    return rows


def demo_logs(name: str, now: datetime) -> dict[str, bytes]:
    """Log files for one demo sandbox (``exec.log`` is JSON lines, as the runtime writes it)."""

    def exec_line(minutes_ago: float, source: str, text: str, session: int | None = 1) -> str:
        entry: dict[str, Any] = {"t": _rfc3339_ms(now - timedelta(minutes=minutes_ago)), "s": source, "d": text}
        if source != "system" and session is not None:
            entry["id"] = session
        return json.dumps(entry, separators=(",", ":"))

    def runtime_line(minutes_ago: float, level: str, text: str) -> str:
        moment = (now - timedelta(minutes=minutes_ago)).astimezone(UTC)
        return f"{moment.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}  {level:>5} microsandbox_runtime: {text}"

    files: dict[str, bytes] = {}
    if name == "broken-row":
        return files
    lines = [exec_line(95, "system", "--- sandbox started ---\n")]
    for i in range(40):
        lines.append(exec_line(90 - i * 2, "stdout", f"[{name}] request {i:03d} handled in {7 + i % 5} ms\n"))
        if i % 9 == 4:
            lines.append(exec_line(89.5 - i * 2, "stderr", f"[{name}] warning: slow upstream ({i % 7 + 1}s)\n"))
    files["exec.log"] = ("\n".join(lines) + "\n").encode()
    files["runtime.log"] = ("\n".join([
        runtime_line(96, "INFO", f"starting sandbox {name}"),
        runtime_line(96, "INFO", "rootfs ready"),
        runtime_line(95.9, "INFO", "agent connected"),
        runtime_line(95.8, "DEBUG", "relay: primary session opened id=1"),
    ]) + "\n").encode()
    files["kernel.log"] = (
        b"[    0.000000] Linux version 6.12.0-msb (root@build) #1 SMP PREEMPT_DYNAMIC\n"
        b"[    0.104233] virtio_blk virtio1: [vda] 8388608 512-byte logical blocks\n"
        b"[    0.198762] EXT4-fs (vda): mounted filesystem with ordered data mode\n"
    )
    if name == "api-server":
        # A large log (~2 MB, rotated once) so the tail really has to seek.
        bulk = [exec_line(60 - (i % 60) / 60, "stdout", f"GET /api/items/{i} 200 {i % 97} ms\n", 2)
                for i in range(16_000)]
        files["exec.log"] = ("\n".join(bulk) + "\n").encode() + files["exec.log"]
        files["exec.log.1"] = ("\n".join(bulk[:2000]) + "\n").encode()
    if name == "builder-x86":
        files["boot-error.json"] = (json.dumps({
            "stage": "spawn", "message": "failed to start VM: KVM not available (permission denied)",
            "time": _rfc3339_ms(now - timedelta(minutes=45)),
        }, indent=2) + "\n").encode()
    return files


def demo_config_document() -> dict[str, Any]:
    """config.json for the demo: registries with each credential source, and two profiles."""
    return {
        "log_level": "info",
        "database": {"url": None, "max_connections": 5, "connect_timeout_secs": 30, "busy_timeout_secs": 5},
        "sandbox_defaults": {"cpus": 2, "memory_mib": 1024, "oci": {"upper_size_mib": 8192}},
        "registries": {
            "ca_certs": None,
            "hosts": {
                "ghcr.io": {"auth": {"username": "acme-bot", "store": None, "password_env": "GHCR_TOKEN",
                                     "secret_name": None}},
                "registry.internal:5000": {"auth": None, "insecure": True},
                "docker.io": {"auth": {"username": "acme", "store": "keyring", "password_env": None,
                                       "secret_name": None}},
            },
        },
        "metrics": {"capacity": 0},
        "active_profile": "local",
        "profiles": {
            "local": {"backend": "local"},
            "staging": {"backend": "cloud", "url": "https://msb.staging.example.com", "api_key_ref": "env:MSB_STAGING_KEY"},
        },
    }
