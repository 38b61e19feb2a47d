"""The command line: flags, environment, and the demo home's lifetime."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tui.__main__ import build_parser
from tui.app import MsbApp


def test_version_and_help() -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["--version"])
    assert exit_info.value.code == 0
    args = build_parser().parse_args(["--home", "/srv/msb", "--read-only", "--screen", "volumes"])
    assert (args.home, args.read_only, args.screen, args.demo) == ("/srv/msb", True, "volumes", False)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--screen", "images"])


def test_unknown_initial_screen_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown screen"):
        MsbApp(initial_screen="images")


def test_no_color_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    assert MsbApp().no_color
    monkeypatch.delenv("NO_COLOR")
    app = MsbApp()
    assert not app.no_color and app.current_theme.ansi, "the default theme uses the terminal's colours"


def _first_frame(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tui", *args], check=False, capture_output=True, text=True,
                          timeout=120,
                          env={**env, "MSB_TUI_EXIT_AFTER_FIRST_FRAME": "1"},
                          cwd=Path(__file__).resolve().parents[2])


def test_home_flag_opens_that_home_and_draws_a_frame(demo_template: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MSB_")}
    done = _first_frame(["--home", str(demo_template), "--read-only"], env)
    assert done.returncode == 0 and "MSB_TUI_FIRST_FRAME" in done.stdout


def test_demo_builds_a_home_and_removes_it_on_exit(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MSB_")}
    env["TMPDIR"] = str(tmp_path)
    done = _first_frame(["--demo"], env)
    assert done.returncode == 0 and "MSB_TUI_FIRST_FRAME" in done.stdout
    assert list(tmp_path.iterdir()) == [], "the temporary demo home is gone after exit"
