"""``msb-tui`` / ``python -m tui``: parse the command line, then run :class:`tui.app.MsbApp`."""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from tui import __version__

if TYPE_CHECKING:
    from tui.homes import HomeChoice

SCREENS = ("sandboxes", "volumes", "config")


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``msb-tui``."""
    parser = argparse.ArgumentParser(
        prog="msb-tui",
        description="Terminal UI for a microsandbox home: sandboxes, volumes and config.json.",
        epilog="Environment: MSB_HOME (the home, default ~/.microsandbox), MSB_CONFIG_PATH (the config "
        "file, default <home>/config.json), NO_COLOR (no colours). "
        "Also: `msb-tui doctor [--json]` explains what this tool sees and what to fix; "
        "`msb-tui serve --help` serves the UI in a web browser (read-only, loopback by default).",
    )
    parser.add_argument("--home", metavar="PATH", action=_HomeAction,
                        help="a microsandbox home to open; give it several times to switch between homes "
                        "(key h). The first is opened as MSB_HOME would be and is the only one "
                        "MSB_CONFIG_PATH applies to; the others read <home>/config.json")
    parser.add_argument("--home-read-only", metavar="PATH", action=_HomeAction,
                        help="like --home, but this home is opened read-only")
    parser.add_argument("--read-only", action="store_true",
                        help="change nothing: the database is opened read-only and every edit is refused")
    parser.add_argument("--demo", action="store_true",
                        help="open a realistic demo home built in a temporary folder (removed on exit)")
    parser.add_argument("--screen", choices=SCREENS, default="sandboxes", help="the screen to start on")
    parser.add_argument("--version", action="version", version=f"msb-tui {__version__}")
    return parser


class _HomeAction(argparse.Action):
    """Collects ``--home`` and ``--home-read-only`` in order into ``homes`` as (path, read_only);
    ``home`` keeps the first path (the one opened as ``MSB_HOME`` would be)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        homes: list[tuple[str, bool]] = list(getattr(namespace, "homes", None) or [])
        homes.append((str(values), option_string == "--home-read-only"))
        namespace.homes = homes
        namespace.home = homes[0][0]


def home_choices(homes: list[tuple[str, bool]], read_only: bool) -> list[HomeChoice]:
    """The switcher's homes from the command line: the first is opened as ``MSB_HOME`` would be
    (MSB_CONFIG_PATH applies), the others by path. ``read_only`` applies to all."""
    from tui.homes import HomeChoice

    choices = []
    for index, (path, home_read_only) in enumerate(homes):
        label = os.path.abspath(os.path.expanduser(path))
        location = Path(path) if index == 0 else Path(path).expanduser()
        choices.append(HomeChoice(location, read_only=read_only or home_read_only, label=label,
                                  environment=index == 0))
    return choices


def _build_demo() -> Path:
    from backend.demo import build_demo_home
    from tui import clock

    folder = Path(tempfile.mkdtemp(prefix="msb-tui-demo-"))
    home = folder / "home"
    try:
        asyncio.run(build_demo_home(home, now=clock.now()))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return home


def _exit_on_signal(signum: int, _frame: object) -> None:
    # A hang-up (the SSH session went away) or a kill must still remove the demo home.
    raise SystemExit(128 + signum)


def doctor_main(argv: list[str]) -> int:
    """``msb-tui doctor``: print what this tool sees, without starting the UI; exit 1 on a failure."""
    parser = argparse.ArgumentParser(prog="msb-tui doctor", description=doctor_main.__doc__)
    parser.add_argument("--home", metavar="PATH", help="the microsandbox home to check (instead of MSB_HOME)")
    parser.add_argument("--json", action="store_true", help="print a JSON document for scripts")
    args = parser.parse_args(argv)
    import json

    from backend import LocalBackend
    from backend.doctor import gather

    backend = LocalBackend.lazy(read_only=True, home=args.home)
    report = asyncio.run(gather(backend, home_from_flag=args.home is not None))
    print(json.dumps(report.to_json(), indent=2) if args.json else report.render_text())
    return 1 if report.worst == "error" else 0


def main(argv: list[str] | None = None) -> int:
    """Run the app (or the ``doctor`` / ``serve`` subcommand); returns the process exit code."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    if arguments[:1] == ["serve"]:
        from tui.serve import serve_main

        return serve_main(arguments[1:])
    if arguments[:1] == ["doctor"]:
        return doctor_main(arguments[1:])
    args = build_parser().parse_args(arguments)
    demo_home: Path | None = None
    homes: list[HomeChoice] | None = None
    if args.demo:
        print("msb-tui: building the demo home…", file=sys.stderr, flush=True)
        demo_home = _build_demo()
        for signum in (signal.SIGHUP, signal.SIGTERM):
            signal.signal(signum, _exit_on_signal)
        from tui.homes import HomeChoice

        homes = [HomeChoice(demo_home, read_only=args.read_only, label="demo home (temporary)",
                            environment=True, config_file=demo_home / "config.json")]
    elif args.home is not None:
        homes = home_choices(args.homes, args.read_only)

    from tui.app import EXIT_AFTER_FIRST_FRAME_ENV, MsbApp

    app = MsbApp(
        read_only=args.read_only or bool(homes and homes[0].read_only),
        homes=homes,
        demo=args.demo,
        initial_screen=args.screen,
        display_home="demo home (temporary)" if args.demo else None,
    )
    try:
        app.run(headless=bool(os.environ.get(EXIT_AFTER_FIRST_FRAME_ENV)))
    finally:
        if demo_home is not None:
            shutil.rmtree(demo_home.parent, ignore_errors=True)
    return app.return_code or 0


if __name__ == "__main__":
    raise SystemExit(main())
