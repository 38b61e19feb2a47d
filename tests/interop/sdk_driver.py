"""Drive the published ``microsandbox==0.5.10`` SDK for one operation and print one JSON result.

Usage (always as a subprocess; the SDK resolves its backend once per process, so the caller
sets ``MSB_HOME`` in the child's environment)::

    MSB_HOME=/tmp/h python3 sdk_driver.py COMMAND [ARGS...]
    MSB_HOME=/tmp/h python3 sdk_driver.py batch < commands.txt   # one command per line

On success: one JSON document on stdout, exit 0. When the SDK raises: ``{"error": <exception
type name>, "message": <str(exc)>}`` on stdout, exit 1. (``sandbox-create`` is special: see below.)

Runtime stub: no VM can start in the test environment, so before importing the SDK the driver
points ``MSB_PATH`` at ``false`` and ``MSB_LIBKRUNFW_PATH`` at a regular file (this script). The
SDK then inserts the sandbox row, makes ``sandboxes/<name>/{logs,runtime/scripts}``, spawns
``false``, which exits at once, and marks the row ``Stopped``. This takes about 5 ms and does not depend
on the host's glibc/KVM. Pass ``--real-runtime`` (before COMMAND) to keep the caller's environment.

Timestamps come back exactly as the SDK exposes them: ``created_at``/``updated_at`` are float
*milliseconds* since the Unix epoch (not seconds), and ``SandboxHandle.status`` is lowercase.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shlex
import shutil
import sys
from typing import Any


def parse_labels(items: list[str] | None) -> dict[str, str]:
    """Turn ``["k=v", "flag"]`` into ``{"k": "v", "flag": ""}`` (no ``=`` means an empty value)."""
    out: dict[str, str] = {}
    for item in items or []:
        key, _, value = item.partition("=")
        out[key] = value
    return out


def volume_dict(h: Any) -> dict[str, Any]:
    """Every field a ``VolumeHandle`` exposes (it has no path; ``Volume.create`` returns that)."""
    return {
        "name": h.name,
        "kind": h.kind,  # "dir" | "disk"
        "quota_mib": h.quota_mib,  # stored i32; negative values read back as 0
        "used_bytes": h.used_bytes,  # always 0: nothing writes volume.size_bytes
        "capacity_bytes": h.capacity_bytes,
        "disk_format": h.disk_format,  # "raw" for disk, else None
        "disk_fstype": h.disk_fstype,  # "ext4" for disk, else None
        "labels": dict(h.labels),
        "created_at": h.created_at,  # float ms since epoch, or None
    }


def sandbox_dict(h: Any) -> dict[str, Any]:
    """Every data field a ``SandboxHandle`` exposes."""
    return {
        "name": h.name,
        "status": h.status,  # lowercase: "stopped", "running", "crashed", ...
        "created_at": h.created_at,  # float ms since epoch, or None
        "updated_at": h.updated_at,
        "config": h.config(),  # the sandbox.config JSON, parsed
    }


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sdk_driver.py")
    p.add_argument("--real-runtime", action="store_true", help="do not stub MSB_PATH / MSB_LIBKRUNFW_PATH")
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("volume-create")
    c.add_argument("name")
    c.add_argument("--kind", default="dir", help="dir | disk (the SDK rejects anything else)")
    c.add_argument("--size-mib", type=int, help="required for disk; at least 67")
    c.add_argument("--quota-mib", type=int, help="dir only; caps guest writes (0.5.10+)")
    c.add_argument("--label", action="append", metavar="K=V")
    sub.add_parser("volume-list")
    for cmd in ("volume-get", "volume-remove"):
        sub.add_parser(cmd).add_argument("name")
    w = sub.add_parser("volume-write")
    w.add_argument("name")
    w.add_argument("path")
    w.add_argument("text")
    r = sub.add_parser("volume-read")
    r.add_argument("name")
    r.add_argument("path")
    ls = sub.add_parser("volume-ls")
    ls.add_argument("name")
    ls.add_argument("path", nargs="?", default="")

    s = sub.add_parser("sandbox-create")
    s.add_argument("name")
    s.add_argument(
        "--image", default="/tmp", help="host dir -> Bind rootfs (row written); OCI ref -> pull, no row"
    )
    s.add_argument("--cpus", type=int)
    s.add_argument("--memory-mib", type=int)
    s.add_argument("--label", action="append", metavar="K=V")
    s.add_argument("--mount-named", action="append", metavar="VOL:GUEST[:ro]")
    s.add_argument("--env", action="append", metavar="K=V")
    s.add_argument("--workdir")
    s.add_argument("--ephemeral", action="store_true")
    sl = sub.add_parser("sandbox-list")
    sl.add_argument("--label", action="append", metavar="K=V")
    for cmd in ("sandbox-get", "sandbox-remove"):
        sub.add_parser(cmd).add_argument("name")
    sub.add_parser("batch", help="stdin: one shell-quoted command per line; stdout: one JSON line each")
    return p


async def run(args: argparse.Namespace) -> tuple[Any, int]:
    """Perform one SDK call; return (JSON-able result, exit code). SDK exceptions propagate."""
    import microsandbox as msb  # imported late: the runtime-stub env vars must be set first

    cmd: str = args.command
    if cmd == "volume-create":
        kw: dict[str, Any] = {"kind": args.kind}
        if args.size_mib is not None:
            kw["size_mib"] = args.size_mib
        if args.quota_mib is not None:
            kw["quota_mib"] = args.quota_mib
        if args.label:
            kw["labels"] = parse_labels(args.label)
        vol = await msb.Volume.create(args.name, **kw)
        # Volume only exposes name/path; re-read the row for the full handle view.
        return {**volume_dict(await msb.Volume.get(args.name)), "path": vol.path}, 0
    if cmd == "volume-list":
        return [volume_dict(h) for h in await msb.Volume.list()], 0  # created_at DESC
    if cmd == "volume-get":
        return volume_dict(await msb.Volume.get(args.name)), 0
    if cmd == "volume-remove":
        await msb.Volume.remove(args.name)
        return {"removed": args.name}, 0
    if cmd in ("volume-write", "volume-read", "volume-ls"):
        fs = (await msb.Volume.get(args.name)).fs  # fs needs a handle, so a missing volume fails here
        if cmd == "volume-write":
            await fs.write(args.path, args.text.encode())  # bytes only; str raises TypeError
            return {"written": args.path, "bytes": len(args.text.encode())}, 0
        if cmd == "volume-read":
            return {"path": args.path, "text": await fs.read_text(args.path)}, 0
        entries = await fs.list(args.path)  # immediate children, OS order
        return [
            {"path": e.path, "kind": e.kind, "size": e.size, "mode": e.mode, "modified": e.modified}
            for e in entries
        ], 0
    if cmd == "sandbox-create":
        return await sandbox_create(msb, args)
    if cmd == "sandbox-list":
        labels = parse_labels(args.label)
        handles = await (msb.Sandbox.list_with(labels=labels) if labels else msb.Sandbox.list())
        return [sandbox_dict(h) for h in handles], 0  # created_at DESC; reads reconcile dead runs
    if cmd == "sandbox-get":
        return sandbox_dict(await msb.Sandbox.get(args.name)), 0
    if cmd == "sandbox-remove":
        await msb.Sandbox.remove(args.name)  # refuses Running/Draining rows
        return {"removed": args.name}, 0
    raise AssertionError(cmd)


async def run_batch(parser: argparse.ArgumentParser) -> int:
    """Run many commands in this one process (same MSB_HOME); print ``{"exit", "result"}`` per line.

    Saves ~250 ms of interpreter + SDK start-up per command. Exit code: the worst one.
    """
    worst = 0
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            result, code = await run(parser.parse_args(shlex.split(line)))
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - SystemExit: argparse error on this line
            result, code = {"error": type(exc).__name__, "message": str(exc)}, 1
        sys.stdout.write(json.dumps({"exit": code, "result": result}) + "\n")
        worst = max(worst, code)
    return worst


async def sandbox_create(msb: Any, args: argparse.Namespace) -> tuple[Any, int]:
    """Create a sandbox; the VM start is expected to fail, but the row should survive as Stopped.

    Result: ``{"name", "row": bool, "existed_before": bool, "sandbox": <handle dict or None>,
    "create_error": {"error", "message"} or None}``. Exit 0 when this call left a new row
    (whatever the create error, normally the runtime failure), else 1.
    NB: unknown kwargs are silently ignored by the SDK, so the names below matter (``memory``, not
    ``memory_mib``; ``volumes`` maps guest path -> MountConfig).
    """
    kw: dict[str, Any] = {"image": args.image}
    if args.cpus is not None:
        kw["cpus"] = args.cpus
    if args.memory_mib is not None:
        kw["memory"] = args.memory_mib  # MiB
    if args.label:
        kw["labels"] = parse_labels(args.label)
    if args.env:
        kw["env"] = parse_labels(args.env)
    if args.workdir:
        kw["workdir"] = args.workdir
    if args.ephemeral:
        kw["ephemeral"] = True
    if args.mount_named:
        volumes: dict[str, Any] = {}
        for spec in args.mount_named:
            vol, guest, *rest = spec.split(":")
            volumes[guest] = msb.Volume.named(vol, readonly=rest == ["ro"])
        kw["volumes"] = volumes
    existed_before = await sandbox_exists(msb, args.name)
    create_error: dict[str, str] | None = None
    try:
        sb = await msb.Sandbox.create(args.name, **kw)
        with contextlib.suppress(Exception):  # it really started: do not leave a VM behind
            await sb.kill()
    except Exception as exc:  # noqa: BLE001 - any SDK failure is data here
        create_error = {"error": type(exc).__name__, "message": str(exc)}
    try:  # the row is what the interop tests need; the create error is expected
        handle: dict[str, Any] | None = sandbox_dict(await msb.Sandbox.get(args.name))
    except msb.SandboxNotFoundError:
        handle = None
    result = {
        "name": args.name,
        "row": handle is not None,
        "existed_before": existed_before,
        "sandbox": handle,
        "create_error": create_error,
    }
    return result, 0 if handle is not None and not existed_before else 1


async def sandbox_exists(msb: Any, name: str) -> bool:
    """True when ``Sandbox.get`` finds a row (note: get also reconciles Running rows with dead pids)."""
    try:
        await msb.Sandbox.get(name)
    except msb.SandboxNotFoundError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.real_runtime:
        os.environ["MSB_PATH"] = shutil.which("false") or "/bin/false"
        os.environ["MSB_LIBKRUNFW_PATH"] = os.path.abspath(__file__)  # any regular file passes the check
    if args.command == "batch":
        return asyncio.run(run_batch(parser))
    try:
        result, code = asyncio.run(run(args))
    except Exception as exc:  # noqa: BLE001 - SDK errors (MicrosandboxError subclasses), ValueError, ...
        result, code = {"error": type(exc).__name__, "message": str(exc)}, 1
    sys.stdout.write(json.dumps(result) + "\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
