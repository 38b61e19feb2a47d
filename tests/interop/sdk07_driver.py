"""Drive the published ``microsandbox==0.7.11`` SDK (and its bundled ``msb``) for one operation; print JSON.

Runs only with the Python of the 0.7.11 virtual environment (``tests/sdk07.py`` builds it; this SDK
cannot share an environment with the project's 0.5.10). Usage, always as a subprocess, since the SDK
resolves its backend and config once per process::

    MSB_HOME=/tmp/h VENV/bin/python sdk07_driver.py COMMAND [ARGS...]
    MSB_HOME=/tmp/h VENV/bin/python sdk07_driver.py batch < commands.txt   # one command per line
                                                    # (shell-quoted, or a JSON array of arguments)

On success: one JSON document on stdout, exit 0. When the SDK raises: ``{"error": <exception type
name>, "message": <str(exc)>}``, exit 1. ``batch`` prints one ``{"exit", "result", "ms"}`` line per
command and exits with the worst code. Anything the SDK or a runtime child writes to stdout is sent to
stderr, so stdout holds only the JSON.

Runtime stub (default): no VM may start in the tests. ``MSB_PATH=false`` (the 0.5 driver's stub) is refused
by 0.7 ("/bin/false has no matching libkrunfw"), and a real VM start on a host with ``/dev/kvm`` runs the
guest for ~27 s before it fails. So the driver points ``MSB_PATH`` at the wheel's own bundled ``msb`` and
``MSB_LIBKRUNFW_PATH`` at a regular file that is not a library (this script). 0.7.11 then does everything a
real create does up to the VM (row, sandbox dir, owned volumes, ``external-mounts.json``, locks, run row),
the runtime fails at ``libkrunfw: load`` (``logs/boot-error.json``, stage ``build_vm``), and the row ends
``Stopped`` with its run ``Terminated``/``Failed``, in ~70 ms. ``--real-runtime`` (before COMMAND) keeps
the caller's environment instead.

Values come back as the SDK exposes them: ``created_at``/``updated_at`` are float *milliseconds* since the
epoch, statuses and kinds are the lowercase enum values (``"stopped"``, ``"dir"``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import importlib.util
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

MANAGED_CONFIG = Path("/etc/microsandbox/managed.json")


def bundled_msb() -> Path:
    """The ``msb`` binary inside the installed wheel (found without importing the SDK)."""
    spec = importlib.util.find_spec("microsandbox")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("sdk07_driver.py: microsandbox is not importable in this interpreter")
    return Path(next(iter(spec.submodule_search_locations))) / "_bundled" / "bin" / "msb"


def parse_pairs(items: list[str] | None) -> dict[str, str]:
    """Turn ``["k=v", "flag"]`` into ``{"k": "v", "flag": ""}`` (no ``=`` means an empty value)."""
    out: dict[str, str] = {}
    for item in items or []:
        key, _, value = item.partition("=")
        out[key] = value
    return out


def volume_dict(h: Any) -> dict[str, Any]:
    """Every data field a ``VolumeHandle`` exposes."""
    return {
        "name": h.name,
        "kind": h.kind,  # VolumeKind value: "dir" | "disk"
        "is_default": h.is_default,
        "quota_mib": h.quota_mib,
        "used_bytes": h.used_bytes,  # always 0: nothing writes volume.size_bytes
        "capacity_bytes": h.capacity_bytes,
        "disk_format": h.disk_format,  # "raw" for disk, else None
        "disk_fstype": h.disk_fstype,  # "ext4" for disk, else None
        "labels": dict(h.labels),
        "created_at": h.created_at,
    }


async def sandbox_dict(h: Any) -> dict[str, Any]:
    """Every data field a ``SandboxHandle`` exposes without a running VM."""
    usage = await h.storage_usage()
    return {
        "name": h.name,
        "id": h.id,  # "local:<row id>"
        "status": h.status,  # SandboxStatus value, lowercase
        "created_at": h.created_at,
        "updated_at": h.updated_at,
        "config": h.config(),  # sandbox.config, parsed
        "config_json": h.config_json,  # the exact bytes of sandbox.config (the digest covers these)
        "storage": {
            "path": usage.path,
            "logical_bytes": usage.logical_bytes,
            "allocated_bytes": usage.allocated_bytes,
        },
    }


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sdk07_driver.py")
    p.add_argument("--real-runtime", action="store_true", help="do not stub MSB_PATH / MSB_LIBKRUNFW_PATH")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("version", help="SDK and bundled msb versions, and where they are")

    c = sub.add_parser("volume-create")
    c.add_argument("name")
    c.add_argument("--kind", default="dir", choices=["dir", "disk"])
    c.add_argument("--size-mib", type=int, help="disk capacity")
    c.add_argument("--quota-mib", type=int, help="dir only; enforced on guest writes since 0.5.10")
    c.add_argument("--label", action="append", metavar="K=V")
    sub.add_parser("volume-list")
    for cmd in ("volume-get", "volume-remove"):
        sub.add_parser(cmd).add_argument("name")
    w = sub.add_parser("volume-write")
    w.add_argument("name")
    w.add_argument("path")
    w.add_argument("text")
    for cmd in ("volume-read", "volume-mkdir", "volume-stat"):
        r = sub.add_parser(cmd)
        r.add_argument("name")
        r.add_argument("path")
    ls = sub.add_parser("volume-ls")
    ls.add_argument("name")
    ls.add_argument("path", nargs="?", default="")

    s = sub.add_parser("sandbox-create")
    s.add_argument("name")
    s.add_argument("--image", default="/tmp", help="host directory: Image.bind(path)")
    s.add_argument("--cpus", type=int)
    s.add_argument("--memory-mib", type=int, help="passed as memory= (MiB)")
    s.add_argument("--max-cpus", type=int)
    s.add_argument("--max-memory-mib", type=int)
    s.add_argument("--label", action="append", metavar="K=V")
    s.add_argument("--env", action="append", metavar="K=V")
    s.add_argument("--workdir")
    s.add_argument("--ephemeral", action="store_true")
    s.add_argument("--mount-named", action="append", default=[], metavar="VOL:GUEST[:ro]")
    s.add_argument("--mount-owned", action="append", default=[],
                   metavar="GUEST:dir[:QUOTA][:ro] | GUEST:disk:SIZE[:ro]")
    s.add_argument("--mount-tmpfs", action="append", default=[], metavar="GUEST[:SIZE]")
    s.add_argument("--mount-bind", action="append", default=[], metavar="HOST:GUEST[:ro]")
    s.add_argument("--attached", action="store_true", help="detached=False (the default here is True)")
    for name in ("sandbox-list", "sandbox-page"):
        sl = sub.add_parser(name, help="all pages (a list)" if name == "sandbox-list" else "one page")
        sl.add_argument("--label", action="append", metavar="K=V")
        sl.add_argument("--limit", type=int)
        sl.add_argument("--cursor")
    for cmd in ("sandbox-get", "sandbox-remove"):
        sub.add_parser(cmd).add_argument("name")

    m = sub.add_parser("msb", help="run the bundled msb CLI on MSB_HOME: msb -- volume ls --format json")
    m.add_argument("argv", nargs=argparse.REMAINDER)
    cc = sub.add_parser("config-check", help="does 0.7.11 accept this config.json? (msb registry list)")
    cc.add_argument("path")
    sub.add_parser("batch", help="stdin: one shell-quoted command per line; stdout: one JSON line each")
    return p


async def run(args: argparse.Namespace) -> tuple[Any, int]:
    """Perform one SDK call; return (JSON-able result, exit code). SDK exceptions propagate."""
    # Imported late (the runtime-stub variables must be set first) and untyped: a type checker run in the
    # project's environment would see the 0.5.10 SDK.
    msb: Any = importlib.import_module("microsandbox")

    cmd: str = args.command
    if cmd == "version":
        return {"sdk": msb.version(), "msb": run_msb(["--version"])["stdout"].strip(),
                "msb_path": str(bundled_msb()), "python": sys.executable}, 0
    if cmd == "volume-create":
        kw: dict[str, Any] = {"kind": msb.VolumeKind(args.kind)}
        if args.size_mib is not None:
            kw["size_mib"] = args.size_mib
        if args.quota_mib is not None:
            kw["quota_mib"] = args.quota_mib
        if args.label:
            kw["labels"] = parse_pairs(args.label)
        vol = await msb.Volume.create(args.name, **kw)
        return {**volume_dict(await msb.Volume.get(args.name)), "path": vol.path}, 0
    if cmd == "volume-list":
        return [volume_dict(h) for h in await msb.Volume.list()], 0  # created_at DESC
    if cmd == "volume-get":
        return volume_dict(await msb.Volume.get(args.name)), 0
    if cmd == "volume-remove":
        await msb.Volume.remove(args.name)
        return {"removed": args.name}, 0
    if cmd.startswith("volume-"):
        return await volume_fs(msb, args)
    if cmd == "sandbox-create":
        return await sandbox_create(msb, args)
    if cmd in ("sandbox-list", "sandbox-page"):
        return await sandbox_list(msb, args)
    if cmd == "sandbox-get":
        return await sandbox_dict(await msb.Sandbox.get(args.name)), 0
    if cmd == "sandbox-remove":
        await msb.Sandbox.remove(args.name)  # refuses Running/Draining; takes owned volumes with it
        return {"removed": args.name}, 0
    if cmd == "msb":
        argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
        result = run_msb(argv)
        return result, 0 if result["exit"] == 0 else 1
    if cmd == "config-check":
        return config_check(Path(args.path)), 0
    raise AssertionError(cmd)


async def volume_fs(msb: Any, args: argparse.Namespace) -> tuple[Any, int]:
    """Host-side file operations through ``VolumeHandle.fs`` (no VM needed)."""
    fs = (await msb.Volume.get(args.name)).fs  # a missing volume fails here
    if args.command == "volume-write":
        await fs.write(args.path, args.text.encode())
        return {"written": args.path, "bytes": len(args.text.encode())}, 0
    if args.command == "volume-read":
        return {"path": args.path, "text": await fs.read_text(args.path)}, 0
    if args.command == "volume-mkdir":
        await fs.mkdir(args.path)
        return {"made": args.path}, 0
    if args.command == "volume-stat":
        st = await fs.stat(args.path)
        return {"kind": st.kind, "size": st.size, "mode": st.mode, "readonly": st.readonly,
                "modified": st.modified}, 0
    entries = await fs.list(args.path)  # immediate children
    return [{"path": e.path, "kind": e.kind, "size": e.size, "mode": e.mode, "modified": e.modified}
            for e in entries], 0


def mounts(msb: Any, args: argparse.Namespace) -> dict[str, Any]:
    """``volumes=`` for ``Sandbox.create``: guest path -> MountConfig."""
    out: dict[str, Any] = {}
    for spec in args.mount_named:
        vol, guest, *rest = spec.split(":")
        out[guest] = msb.Volume.named(vol, readonly=rest == ["ro"])
    for spec in args.mount_owned:
        guest, kind, *rest = spec.split(":")
        readonly = "ro" in rest
        sizes = [int(x) for x in rest if x != "ro"]
        if kind == "disk":  # capacity; 0.7.11 refuses < ~100 MiB ("too small for ext4 formatting")
            out[guest] = msb.Volume.owned(kind=msb.VolumeKind.DISK, size_mib=sizes[0], readonly=readonly)
        else:
            out[guest] = msb.Volume.owned(kind=msb.VolumeKind.DIRECTORY,
                                          quota_mib=sizes[0] if sizes else None, readonly=readonly)
    for spec in args.mount_tmpfs:
        guest, *size = spec.split(":")
        out[guest] = msb.Volume.tmpfs(size_mib=int(size[0]) if size else None)
    for spec in args.mount_bind:
        host, guest, *rest = spec.split(":")
        out[guest] = msb.Volume.bind(host, readonly=rest == ["ro"])
    return out


async def sandbox_create(msb: Any, args: argparse.Namespace) -> tuple[Any, int]:
    """Create a sandbox; the VM start is expected to fail, but the row should survive as Stopped.

    Result: ``{"name", "row": bool, "existed_before": bool, "sandbox": <handle dict or None>,
    "create_error": {"error", "message"} or None, "create_ms"}``. Exit 0 when this call left a new row
    (whatever the create error, normally the stubbed runtime's failure), else 1.
    """
    kw: dict[str, Any] = {"image": msb.Image.bind(args.image), "detached": not args.attached}
    for option, keyword in (("cpus", "cpus"), ("memory_mib", "memory"), ("max_cpus", "max_cpus"),
                            ("max_memory_mib", "max_memory"), ("workdir", "workdir")):
        if getattr(args, option) is not None:
            kw[keyword] = getattr(args, option)
    if args.label:
        kw["labels"] = parse_pairs(args.label)
    if args.env:
        kw["env"] = parse_pairs(args.env)
    if args.ephemeral:
        kw["ephemeral"] = True
    volumes = mounts(msb, args)
    if volumes:
        kw["volumes"] = volumes
    existed_before = await sandbox_exists(msb, args.name)
    create_error: dict[str, str] | None = None
    started = time.perf_counter()
    try:
        sb = await msb.Sandbox.create(args.name, **kw)
        with contextlib.suppress(Exception):  # it really started: do not leave a VM behind
            await (await msb.Sandbox.get(args.name)).kill()
        del sb
    except Exception as exc:  # noqa: BLE001 - any SDK failure is data here
        create_error = {"error": type(exc).__name__, "message": str(exc)}
    create_ms = (time.perf_counter() - started) * 1000
    try:
        handle: dict[str, Any] | None = await sandbox_dict(await msb.Sandbox.get(args.name))
    except msb.SandboxNotFoundError:
        handle = None
    result = {
        "name": args.name,
        "row": handle is not None,
        "existed_before": existed_before,
        "sandbox": handle,
        "create_error": create_error,
        "create_ms": round(create_ms, 1),
    }
    return result, 0 if handle is not None and not existed_before else 1


async def sandbox_exists(msb: Any, name: str) -> bool:
    """True when ``Sandbox.get`` finds a row (note: get also reconciles rows with dead runtimes)."""
    try:
        await msb.Sandbox.get(name)
    except msb.SandboxNotFoundError:
        return False
    return True


async def sandbox_list(msb: Any, args: argparse.Namespace) -> tuple[Any, int]:
    """``sandbox-list``: every page followed, as one list; ``sandbox-page``: one ``SandboxPage``.

    With ``--label`` the SDK selects through the ``sandbox_labels`` projection (not the config JSON).
    """
    labels = parse_pairs(args.label)
    kw: dict[str, Any] = {"labels": labels} if labels else {}
    if args.limit is not None:
        kw["limit"] = args.limit
    cursor = args.cursor
    rows: list[dict[str, Any]] = []
    while True:
        page = await (msb.Sandbox.list_with(cursor=cursor, **kw) if kw or cursor else msb.Sandbox.list())
        rows.extend([await sandbox_dict(h) for h in page.sandboxes])
        if args.command == "sandbox-page":
            return {"sandboxes": rows, "next_cursor": page.next_cursor}, 0
        cursor = page.next_cursor
        if cursor is None:
            return rows, 0  # created_at DESC; reads reconcile dead runs


def run_msb(argv: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run the bundled ``msb`` with this process's environment (``MSB_HOME`` etc.)."""
    started = time.perf_counter()
    proc = subprocess.run([str(bundled_msb()), *argv], env=env, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)
    parsed: Any = None
    with contextlib.suppress(ValueError):
        parsed = json.loads(proc.stdout)
    return {"argv": argv, "exit": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr,
            "json": parsed, "ms": round((time.perf_counter() - started) * 1000, 1)}


def config_check(path: Path) -> dict[str, Any]:
    """Load ``path`` as 0.7.11 loads its user config: ``msb registry list`` with ``MSB_CONFIG_PATH=path``.

    Every 0.7 command parses and validates the whole layered config first (version, enums, ranges,
    ``allowed_backends``, ``active_profile``/``profiles``, ``root_disk`` vs ``upper_size_mib``,
    ``block_writeback``) and fails with ``error: invalid config: ...``; ``registry list`` is the one that
    needs nothing else, and it writes nothing: it runs on an empty scratch home. The system layer
    ``/etc/microsandbox/managed.json`` is merged too; ``managed_config`` says whether one was present.
    """
    with tempfile.TemporaryDirectory(prefix="sdk07-config-check-") as scratch:
        env = {**os.environ, "MSB_HOME": scratch, "MSB_CONFIG_PATH": str(path.resolve())}
        result = run_msb(["registry", "list"], env=env)
    message = result["stderr"].strip()
    return {
        "accepted": result["exit"] == 0,
        "message": message.removeprefix("error: ") if result["exit"] else None,
        "exit": result["exit"],
        "managed_config": str(MANAGED_CONFIG) if MANAGED_CONFIG.exists() else None,
    }


async def run_batch(parser: argparse.ArgumentParser, out: Any) -> int:
    """Run many commands in this one process (same MSB_HOME); print ``{"exit", "result", "ms"}`` per line.

    A line is a shell-quoted command, or a JSON array of arguments (for arguments holding newlines).

    Saves ~250 ms of interpreter + SDK start-up per command. Exit code: the worst one.
    """
    worst = 0
    for line in sys.stdin:
        if not line.strip():
            continue
        started = time.perf_counter()
        try:
            argv = json.loads(line) if line.lstrip().startswith("[") else shlex.split(line)
            result, code = await run(parser.parse_args(argv))
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - SystemExit: argparse error on this line
            result, code = {"error": type(exc).__name__, "message": str(exc)}, 1
        ms = round((time.perf_counter() - started) * 1000, 1)
        out.write(json.dumps({"exit": code, "result": result, "ms": ms}) + "\n")
        out.flush()
        worst = max(worst, code)
    return worst


def main(argv: list[str] | None = None) -> int:
    # Keep stdout for our JSON only: the SDK, and runtime children that inherit fd 1, get stderr.
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.real_runtime:
        os.environ["MSB_PATH"] = str(bundled_msb())
        os.environ["MSB_LIBKRUNFW_PATH"] = os.path.abspath(__file__)  # a regular file, not a library
    if args.command == "batch":
        return asyncio.run(run_batch(parser, out))
    try:
        result, code = asyncio.run(run(args))
    except Exception as exc:  # noqa: BLE001 - SDK errors (MicrosandboxError subclasses), ValueError, ...
        result, code = {"error": type(exc).__name__, "message": str(exc)}, 1
    out.write(json.dumps(result) + "\n")
    out.flush()
    return code


if __name__ == "__main__":
    sys.exit(main())
