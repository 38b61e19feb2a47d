"""``msb-tui serve``: the app in a browser, through textual-serve.

textual-serve runs one copy of the app per browser tab (``python -m tui ...`` in a subprocess) and
streams it to xterm.js over a websocket. The served UI has no authentication of its own, so:

* it binds loopback (``127.0.0.1``) unless ``--host`` says otherwise, and warns on stderr when the
  address is not loopback;
* every served app is opened ``--read-only`` unless ``--allow-write`` is given;
* ``--allow-write`` on a non-loopback address is refused unless ``--allow-exposed-write`` is given too.

Loopback is not private on a shared machine: every local user can reach a loopback port. Reach a
remote host's UI through an SSH tunnel (``ssh -L 8000:127.0.0.1:8000 host``) rather than binding wider.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import shlex
import socket
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tui import __version__

SCREENS = ("sandboxes", "volumes", "config")
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
EXPOSED_WRITE_FLAG = "--allow-exposed-write"
#: Host names that always mean this machine's loopback interface.
LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost", "ip6-loopback"})
#: Addresses that mean "every interface".
WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::", "[::]", "*"})
#: Exit code for a refused command line (argparse uses the same).
USAGE_ERROR = 2


def is_loopback(host: str) -> bool:
    """True when ``host`` can only be reached from this machine: 127.0.0.0/8, ::1, localhost.

    Any other name counts as exposed, because it may resolve to a public address.
    """
    name = host.strip().lower()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if name in LOOPBACK_NAMES:
        return True
    try:
        address = ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port {value} is out of range: choose 1-65535")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``msb-tui serve``."""
    parser = argparse.ArgumentParser(
        prog="msb-tui serve",
        description="Serve msb-tui in a web browser (textual-serve). Each browser tab runs its own copy "
        "of the app. The web UI has no authentication: it binds loopback and is read-only by default.",
        epilog="To use it from another machine, keep the default --host and tunnel: "
        "ssh -L 8000:127.0.0.1:8000 HOST, then open http://127.0.0.1:8000. Environment: MSB_HOME and "
        "MSB_CONFIG_PATH are passed to the served app unchanged.",
    )
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"address to listen on (default {DEFAULT_HOST}); anything but loopback "
                        "(127.0.0.0/8, ::1, localhost) prints a warning")
    parser.add_argument("--port", type=_port, default=DEFAULT_PORT,
                        help=f"port to listen on (default {DEFAULT_PORT})")
    parser.add_argument("--allow-write", action="store_true",
                        help="let browser users change the home (the served app is read-only without it)")
    parser.add_argument(EXPOSED_WRITE_FLAG, action="store_true",
                        help="needed with --allow-write when --host is not loopback: confirms that anyone "
                        "who can reach the port may change the home")
    parser.add_argument("--public-url", metavar="URL",
                        help="the address browsers use to reach this server (default http://HOST:PORT; "
                        "set it behind a proxy or when listening on every interface)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--home", metavar="PATH", help="the microsandbox home to serve (sets MSB_HOME)")
    source.add_argument("--demo", action="store_true",
                        help="serve a demo home (each browser tab gets its own, removed when it closes)")
    parser.add_argument("--screen", choices=SCREENS, default="sandboxes", help="the screen to start on")
    parser.add_argument("--version", action="version", version=f"msb-tui {__version__}")
    return parser


@dataclass(frozen=True)
class ServePlan:
    """What ``msb-tui serve`` will do: the app command, the address, and what to tell the operator."""

    command: str
    host: str
    port: int
    public_url: str
    title: str
    read_only: bool
    #: Environment variables to set before serving (the app subprocesses inherit them).
    environ: Mapping[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


class ServeRefused(Exception):
    """The command line asks for something unsafe; the message says what to pass instead."""


def _url_host(host: str) -> str:
    if host in WILDCARD_HOSTS:
        return socket.gethostname()
    if ":" in host and not host.startswith("["):
        return f"[{host}]"
    return host


def _exposure_warning(host: str, port: int, home: str, writable: bool) -> str:
    where = "every interface" if host in WILDCARD_HOSTS else host
    change = (" and CHANGE it (--allow-write is on: remove sandboxes, edit config.json, write volumes)"
              if writable else "")
    return (
        f"warning: msb-tui serve is listening on {where} port {port}, which is not a loopback address. "
        f"The web UI has no authentication: anyone who can reach this port can see the home {home} "
        f"(sandbox configs, environment variables, logs, volume files){change}. "
        f"Prefer the default --host {DEFAULT_HOST} with an SSH tunnel (ssh -L {port}:127.0.0.1:{port} HOST)."
    )


def plan_serve(args: argparse.Namespace, environ: Mapping[str, str]) -> ServePlan:
    """Turn parsed arguments into a :class:`ServePlan`; raises :class:`ServeRefused` on unsafe input.

    ``environ`` is the environment the server runs in; it is read, never changed.
    """
    host: str = args.host.strip()
    loopback = is_loopback(host)
    writable: bool = args.allow_write
    if writable and not loopback and not args.allow_exposed_write:
        raise ServeRefused(
            f"refusing --allow-write on {host or 'every interface'}, which is not a loopback address: the "
            f"web UI has no authentication, so anyone who can reach port {args.port} could change the home. "
            f"Serve read-only, bind {DEFAULT_HOST} and tunnel over SSH, or add {EXPOSED_WRITE_FLAG} if "
            "that is really what you want."
        )

    child_env: dict[str, str] = {}
    argv = [sys.executable, "-m", "tui"]
    if args.demo:
        argv.append("--demo")
        home_text = "demo home"
    else:
        if args.home is not None:
            home = Path(args.home).expanduser().absolute()
            child_env["MSB_HOME"] = str(home)
            argv += ["--home", str(home)]
            home_text = str(home)
        else:
            home_text = environ.get("MSB_HOME", "~/.microsandbox")
        config = environ.get("MSB_CONFIG_PATH")
        if config:
            # The apps run in this process's folder anyway; absolute makes the title and logs unambiguous.
            child_env["MSB_CONFIG_PATH"] = str(Path(config).expanduser().absolute())
    if not writable:
        argv.append("--read-only")
    argv += ["--screen", args.screen]

    # `python -m tui` must import this very package even when it is not installed.
    package_root = str(Path(__file__).resolve().parent.parent)
    python_path = environ.get("PYTHONPATH", "")
    if package_root not in python_path.split(os.pathsep):
        child_env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, python_path) if p)

    public_url = args.public_url or f"http://{_url_host(host)}:{args.port}"
    warnings = () if loopback else (_exposure_warning(host, args.port, home_text, writable),)
    mode = "read-write" if writable else "read-only"
    return ServePlan(
        command=shlex.join(argv),
        host=host,
        port=args.port,
        public_url=public_url.rstrip("/"),
        title=f"msb-tui · {home_text} ({mode})",
        read_only=not writable,
        environ=child_env,
        warnings=warnings,
    )


def _start_server(plan: ServePlan) -> None:
    """Run textual-serve until Ctrl+C or SIGTERM."""
    from textual_serve.server import Server

    server = Server(plan.command, host=plan.host, port=plan.port, title=plan.title, public_url=plan.public_url)
    server.serve()


def serve_main(argv: Sequence[str]) -> int:
    """``msb-tui serve ARGS``: check the arguments, warn if exposed, then serve; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(list(argv))
    try:
        plan = plan_serve(args, os.environ)
    except ServeRefused as exc:
        print(f"msb-tui serve: error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    for warning in plan.warnings:
        print(f"msb-tui serve: {warning}", file=sys.stderr, flush=True)
    os.environ.update(plan.environ)
    mode = "read-only" if plan.read_only else "READ-WRITE"
    print(f"msb-tui serve: serving {mode} on {plan.public_url} (Ctrl+C to stop)", file=sys.stderr, flush=True)
    try:
        _start_server(plan)
    except OSError as exc:
        print(f"msb-tui serve: error: cannot listen on {plan.host} port {plan.port}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(serve_main(sys.argv[1:]))
