"""``msb-tui serve`` without a browser: argument handling, the command the server runs, the exposure
warning and the refusal of a writable UI on a non-loopback address."""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tui import serve
from tui.serve import ServePlan, ServeRefused, build_parser, is_loopback, plan_serve, serve_main

REPO = Path(__file__).resolve().parents[2]


def plan(*argv: str, environ: dict[str, str] | None = None) -> ServePlan:
    return plan_serve(build_parser().parse_args(list(argv)), environ or {})


def app_argv(result: ServePlan) -> list[str]:
    return shlex.split(result.command)


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[tuple[ServePlan, dict[str, str]]]:
    """Records what serve_main would serve (and the environment then) instead of listening."""
    calls: list[tuple[ServePlan, dict[str, str]]] = []
    monkeypatch.setattr(serve, "_start_server", lambda p: calls.append((p, dict(os.environ))))
    return calls


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost", "LOCALHOST",
                                  " 127.0.0.1 ", "::ffff:127.0.0.1", "ip6-localhost"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "", "192.168.1.5", "10.0.0.1", "128.0.0.1", "fe80::1",
                                  "::ffff:10.0.0.1", "example.com", "localhost.example.com", "my-host"])
def test_exposed_hosts(host: str) -> None:
    assert not is_loopback(host)


def test_defaults_serve_read_only_on_loopback() -> None:
    result = plan()
    assert (result.host, result.port, result.public_url) == ("127.0.0.1", 8000, "http://127.0.0.1:8000")
    assert app_argv(result) == [sys.executable, "-m", "tui", "--read-only", "--screen", "sandboxes"]
    assert result.read_only
    assert result.warnings == ()
    assert "read-only" in result.title


def test_home_is_made_absolute_and_given_to_the_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = plan("--home", "my home", "--screen", "config")
    home = str(tmp_path / "my home")
    assert app_argv(result)[3:] == ["--home", home, "--read-only", "--screen", "config"]
    assert result.environ["MSB_HOME"] == home
    assert home in result.title


def test_config_path_from_the_environment_is_passed_on_absolute(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = plan(environ={"MSB_HOME": "/srv/msb", "MSB_CONFIG_PATH": "conf/msb.json"})
    assert result.environ["MSB_CONFIG_PATH"] == str(tmp_path / "conf" / "msb.json")
    assert "MSB_HOME" not in result.environ  # inherited unchanged
    assert "/srv/msb" in result.title


def test_demo_is_passed_through_without_a_home() -> None:
    argv = app_argv(plan("--demo"))
    assert "--demo" in argv and "--home" not in argv and "--read-only" in argv


def test_app_can_import_this_package_from_anywhere() -> None:
    result = plan(environ={"PYTHONPATH": "/opt/lib"})
    assert result.environ["PYTHONPATH"].split(os.pathsep) == [str(REPO), "/opt/lib"]
    assert "PYTHONPATH" not in plan(environ={"PYTHONPATH": str(REPO)}).environ


def test_allow_write_on_loopback_serves_writable_without_warning() -> None:
    result = plan("--allow-write", "--host", "localhost")
    assert "--read-only" not in app_argv(result)
    assert not result.read_only
    assert result.warnings == ()


def test_non_loopback_read_only_warns_about_missing_authentication() -> None:
    result = plan("--host", "192.168.1.5", "--port", "9000", "--home", "/srv/msb")
    assert "--read-only" in app_argv(result)
    (warning,) = result.warnings
    assert "192.168.1.5 port 9000" in warning
    assert "no authentication" in warning and "/srv/msb" in warning
    assert "CHANGE" not in warning
    assert "ssh -L 9000:127.0.0.1:9000" in warning


def test_allow_write_on_non_loopback_is_refused_without_the_explicit_flag() -> None:
    with pytest.raises(ServeRefused, match="--allow-exposed-write"):
        plan("--host", "0.0.0.0", "--allow-write")


def test_allow_write_on_non_loopback_with_the_explicit_flag_warns_that_anyone_can_change_it() -> None:
    result = plan("--host", "0.0.0.0", "--allow-write", "--allow-exposed-write")
    assert "--read-only" not in app_argv(result)
    (warning,) = result.warnings
    assert "every interface" in warning and "CHANGE" in warning


def test_explicit_flag_alone_keeps_the_ui_read_only() -> None:
    assert "--read-only" in app_argv(plan("--host", "0.0.0.0", "--allow-exposed-write"))


@pytest.mark.parametrize(("host", "url"), [
    ("::1", "http://[::1]:8000"),
    ("0.0.0.0", f"http://{socket.gethostname()}:8000"),
])
def test_public_url_is_a_usable_address(host: str, url: str) -> None:
    assert plan("--host", host).public_url == url


def test_public_url_can_be_given() -> None:
    assert plan("--public-url", "https://msb.example.org/").public_url == "https://msb.example.org"


@pytest.mark.parametrize("argv", [
    ["--port", "0"], ["--port", "65536"], ["--port", "http"], ["--screen", "nope"],
    ["--demo", "--home", "/srv/msb"], ["--unknown"],
])
def test_bad_arguments_exit_with_usage(argv: list[str], capsys: pytest.CaptureFixture[str],
                                       started: list[tuple[ServePlan, dict[str, str]]]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        serve_main(argv)
    assert exit_info.value.code == 2
    assert "usage: msb-tui serve" in capsys.readouterr().err
    assert started == []


def test_serve_main_refuses_exposed_write_before_listening(
    capsys: pytest.CaptureFixture[str], started: list[tuple[ServePlan, dict[str, str]]],
) -> None:
    assert serve_main(["--host", "0.0.0.0", "--allow-write"]) == 2
    err = capsys.readouterr().err
    assert "refusing --allow-write on 0.0.0.0" in err and "--allow-exposed-write" in err
    assert started == []


def test_serve_main_warns_on_stderr_then_serves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    started: list[tuple[ServePlan, dict[str, str]]],
) -> None:
    monkeypatch.delenv("MSB_HOME", raising=False)
    home = tmp_path / "home"
    assert serve_main(["--host", "10.1.2.3", "--home", str(home)]) == 0
    captured = capsys.readouterr()
    assert "no authentication" in captured.err and "10.1.2.3" in captured.err
    assert "serving read-only on http://10.1.2.3:8000" in captured.err
    assert captured.out == ""
    ((served, environ),) = started
    assert served.host == "10.1.2.3" and "--read-only" in app_argv(served)
    assert environ["MSB_HOME"] == str(home)  # the app subprocesses inherit it


def test_serve_main_on_loopback_prints_no_warning(capsys: pytest.CaptureFixture[str],
                                                  started: list[tuple[ServePlan, dict[str, str]]]) -> None:
    assert serve_main(["--port", "8123"]) == 0
    err = capsys.readouterr().err
    assert "warning" not in err
    assert "serving read-only on http://127.0.0.1:8123" in err
    assert len(started) == 1


def test_busy_port_is_reported_with_exit_code_1() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("MSB_")}
        done = subprocess.run([sys.executable, "-m", "tui.serve", "--port", str(port)], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 1, done.stderr
    assert f"cannot listen on 127.0.0.1 port {port}" in done.stderr


def test_parser_is_the_documented_one() -> None:
    parser = build_parser()
    assert parser.prog == "msb-tui serve"
    text = parser.format_help()
    for flag in ("--host", "--port", "--allow-write", "--allow-exposed-write", "--public-url", "--home",
                 "--demo", "--screen"):
        assert flag in text
