"""The published ``microsandbox==0.7.11`` SDK as a test tool: its own cached virtual environment, and a
runner that drives ``tests/interop/sdk07_driver.py`` inside it on a given home.

It cannot share an environment with the project's ``microsandbox==0.5.10`` (the ``interop`` extra), so
it lives in a venv of its own, built once and reused while it works:

- where: ``$MSB_TUI_SDK07_VENV``, else ``$XDG_CACHE_HOME/msb-tui/sdk-0.7.11-venv``, else
  ``~/.cache/msb-tui/sdk-0.7.11-venv``. Computed when this module is imported, from the real
  environment: ``tests/conftest.py`` points ``HOME`` at a temporary folder for every test.
- reuse: a marker file is written after a successful install and import check; a venv with the marker
  is reused after one quick probe per session (~0.2 s). A venv without it is (re)installed into.
- build: ``python -m tests.sdk07 build`` (``.ci/run`` does it, so that its time and errors show there),
  else the first test that needs it. About 15 s and 140 MB from nothing.

Where it cannot be installed (no network, no wheel for this platform) :class:`Sdk07Unavailable` carries a
reason that says how to get it; the fixtures skip with it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pwd
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SDK07_VERSION = "0.7.11"
PACKAGE = f"microsandbox=={SDK07_VERSION}"
VENV_VARIABLE = "MSB_TUI_SDK07_VENV"
MARKER = ".msb-tui-sdk07-ready.json"
DRIVER = Path(__file__).resolve().parent / "interop" / "sdk07_driver.py"
#: Variables of the developer's own microsandbox setup that must not reach the SDK under test.
FOREIGN_VARIABLES = (
    "MSB_HOME", "MSB_CONFIG_PATH", "MSB_BACKEND", "MSB_PROFILE", "MSB_API_URL", "MSB_API_KEY", "MSB_PATH",
    "MSB_LIBKRUNFW_PATH", "MSB_AGENTD_PATH", "PYTHONPATH", "PYTHONHOME",
)
HOW_TO_GET_IT = (
    f"to run these tests, build it with network access: `python -m tests.sdk07 build` (pip install {PACKAGE} "
    f"into a venv of its own, ~140 MB; x86_64/aarch64 Linux or macOS wheels), or point {VENV_VARIABLE} at a "
    f"venv where `pip install {PACKAGE}` succeeded"
)


class Sdk07Unavailable(Exception):
    """The 0.7.11 SDK cannot be used here; ``str(exc)`` says why and how to get it."""


def real_user_home() -> Path:
    """The user's home as the environment gives it, else the password database."""
    return Path(os.environ.get("HOME") or pwd.getpwuid(os.getuid()).pw_dir)


def default_venv_path() -> Path:
    """Where the venv lives (see the module docstring)."""
    if os.environ.get(VENV_VARIABLE):
        return Path(os.environ[VENV_VARIABLE]).expanduser().absolute()
    cache = os.environ.get("XDG_CACHE_HOME") or str(real_user_home() / ".cache")
    return Path(cache).expanduser().absolute() / "msb-tui" / f"sdk-{SDK07_VERSION}-venv"


#: Fixed at import, before any test fixture changes ``HOME``.
VENV_PATH = default_venv_path()


def sdk_environment(home: Path | None = None, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The caller's environment without any ``MSB_*`` of the developer, with ``MSB_HOME=home``."""
    env = {k: v for k, v in os.environ.items() if k not in FOREIGN_VARIABLES}
    if home is not None:
        env["MSB_HOME"] = str(home)
    env.update(extra or {})
    return env


@dataclass(frozen=True)
class Sdk07:
    """A working 0.7.11 venv. ``runner(home)`` drives the SDK on one home."""

    venv: Path

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def runner(self, home: Path) -> Sdk07Runner:
        return Sdk07Runner(self, Path(home))

    def version(self) -> dict[str, Any]:
        """``{"sdk", "msb", "msb_path", "python"}`` from inside the venv (imports the SDK)."""
        result: dict[str, Any] = self.runner(Path("/nonexistent-msb-home")).run("version")
        return result


@dataclass(frozen=True)
class Sdk07Runner:
    """The 0.7.11 SDK on ``home``: ``runner("volume-list")`` runs one driver command, returns its JSON.

    Every call is a fresh process (the SDK reads its config once per process), ~0.25 s; ``batch`` runs many
    in one process (~1-30 ms each after start-up). The commands are those of ``sdk07_driver.py``.
    """

    sdk: Sdk07
    home: Path

    def on(self, home: Path) -> Sdk07Runner:
        """The same SDK on another home."""
        return Sdk07Runner(self.sdk, Path(home))

    def __call__(self, *args: str, expect_error: bool = False) -> Any:
        return self.run(*args, expect_error=expect_error)

    def run(self, *args: str, expect_error: bool = False, real_runtime: bool = False,
            env: dict[str, str] | None = None, timeout: float = 120) -> Any:
        """One command. ``expect_error=True`` returns the ``{"error", "message"}`` document instead of
        failing; ``env`` adds variables (e.g. ``MSB_CONFIG_PATH``)."""
        prefix = ["--real-runtime"] if real_runtime else []
        proc = self._driver([*prefix, *args], env=env, timeout=timeout)
        payload = json.loads(proc.stdout) if proc.stdout.strip() else None
        if expect_error:
            assert proc.returncode != 0, f"expected the 0.7.11 SDK to fail on {args}: {payload}"
            return payload
        assert proc.returncode == 0, f"0.7.11 SDK {args} failed: {proc.stdout} {proc.stderr[-2000:]}"
        return payload

    def batch(self, *commands: str | Sequence[str], check: bool = True,
              env: dict[str, str] | None = None, timeout: float = 300) -> list[dict[str, Any]]:
        """Many commands in one process. Each is a shell-quoted line or an argument list (sent as JSON, so
        arguments may hold newlines). Returns one
        ``{"exit", "result", "ms"}`` per command; ``check`` fails the test unless every exit is 0."""
        lines = [c if isinstance(c, str) else json.dumps(list(c)) for c in commands]
        proc = self._driver(["batch"], stdin="\n".join(lines) + "\n", env=env, timeout=timeout)
        results = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
        assert len(results) == len(lines), f"batch stopped early: {proc.stdout} {proc.stderr[-2000:]}"
        if check:
            failed = [(line, r["result"]) for line, r in zip(lines, results, strict=True) if r["exit"]]
            assert not failed, f"0.7.11 SDK batch commands failed: {failed}"
        return results

    def cli(self, *argv: str, expect_error: bool = False) -> dict[str, Any]:
        """The bundled ``msb`` on this home: ``{"argv", "exit", "stdout", "stderr", "json", "ms"}``
        (``json`` is the parsed stdout, or None)."""
        result: dict[str, Any]
        if expect_error:
            result = self.run("msb", "--", *argv, expect_error=True)
            assert result.get("exit", 0) != 0, f"expected msb {argv} to fail: {result}"
        else:
            result = self.run("msb", "--", *argv)
        return result

    def config_check(self, path: Path) -> dict[str, Any]:
        """Does 0.7.11 accept ``path`` as its config?
        ``{"accepted", "message", "exit", "managed_config"}``."""
        result: dict[str, Any] = self.run("config-check", str(path))
        return result

    def _driver(self, args: list[str], *, stdin: str | None = None, env: dict[str, str] | None = None,
                timeout: float) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.sdk.python), str(DRIVER), *args], input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL, env=sdk_environment(self.home, env),
            capture_output=True, text=True, timeout=timeout,
        )


# -- building the venv -------------------------------------------------------------------------------------

def probe(venv: Path) -> str | None:
    """None when ``venv`` imports the 0.7.11 SDK and runs its bundled ``msb`` 0.7.11; else what is wrong."""
    python = venv / "bin" / "python"
    if not python.exists():
        return f"{python} does not exist"
    try:
        found = Sdk07(venv).version()
    except (AssertionError, OSError, subprocess.SubprocessError, ValueError) as exc:
        return f"the import check failed: {str(exc)[-600:]}"
    if found.get("sdk") != SDK07_VERSION or found.get("msb") != f"msb {SDK07_VERSION}":
        return f"found {found}, expected SDK {SDK07_VERSION} with msb {SDK07_VERSION}"
    return None


def python_runs(venv: Path) -> bool:
    """``venv`` is a virtual environment whose interpreter starts (its base Python may have moved)."""
    if not (venv / "pyvenv.cfg").exists():
        return False
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        return subprocess.run([str(venv / "bin" / "python"), "-c", "pass"], timeout=60,
                              capture_output=True).returncode == 0
    return False


def marker_matches(venv: Path) -> bool:
    """The venv was completed (install and import check) by :func:`ensure_venv` for this version."""
    with contextlib.suppress(OSError, ValueError):
        marker = json.loads((venv / MARKER).read_text())
        return bool(marker.get("package") == PACKAGE)
    return False


@contextlib.contextmanager
def build_lock(venv: Path) -> Iterator[None]:
    """One builder at a time per venv path (sessions of several engineers share the cache)."""
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.with_name(venv.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def ensure_venv(venv: Path = VENV_PATH, *, timeout: float = 900, log: Any = None) -> Sdk07:
    """A working 0.7.11 venv at ``venv``: reused when its marker is there and the probe passes, else
    created (or installed into, if it already is a venv) and checked. Raises :class:`Sdk07Unavailable`
    (``timeout`` bounds each build step)."""
    say = log or (lambda message: None)
    try:
        with build_lock(venv):
            if marker_matches(venv) and probe(venv) is None:
                say(f"reusing {venv}")
                return Sdk07(venv)
            return build_venv(venv, timeout=timeout, say=say)
    except OSError as exc:
        raise Sdk07Unavailable(f"cannot use {venv}: {exc}. {HOW_TO_GET_IT}") from exc


def build_venv(venv: Path, *, timeout: float, say: Any) -> Sdk07:
    """Install the SDK into ``venv`` (creating it unless it is a venv that starts), check it, mark it."""
    if venv.exists() and any(venv.iterdir()) and not (venv / "pyvenv.cfg").exists():
        raise Sdk07Unavailable(f"{venv} exists and is not a virtual environment; remove it or set "
                               f"{VENV_VARIABLE} to another path. {HOW_TO_GET_IT}")
    (venv / MARKER).unlink(missing_ok=True)
    started = time.monotonic()
    steps = [] if python_runs(venv) else [[sys.executable, "-m", "venv", "--clear", str(venv)]]
    steps.append([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                  "--disable-pip-version-check", PACKAGE])
    for step in steps:
        say("running " + shlex.join(step))
        try:
            proc = subprocess.run(step, capture_output=True, text=True, timeout=timeout,
                                  env=sdk_environment(), stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as exc:
            raise Sdk07Unavailable(f"`{shlex.join(step)}` did not finish in {timeout} s. "
                                   f"{HOW_TO_GET_IT}") from exc
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip()[-800:]
            raise Sdk07Unavailable(f"`{shlex.join(step)}` failed (exit {proc.returncode}): {tail}\n"
                                   f"{HOW_TO_GET_IT}")
    problem = probe(venv)
    if problem is not None:
        raise Sdk07Unavailable(f"installed {PACKAGE} into {venv}, but {problem}. {HOW_TO_GET_IT}")
    marker = {
        "package": PACKAGE,
        "base_python": os.path.realpath(sys.executable),
        "built_in_s": round(time.monotonic() - started, 1),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    (venv / MARKER).write_text(json.dumps(marker, indent=2) + "\n")
    say(f"built {venv} in {marker['built_in_s']} s")
    return Sdk07(venv)


def main(argv: list[str]) -> int:
    """``python -m tests.sdk07 build``: build (or check) the venv; exit 0 either way, saying which."""
    if argv != ["build"]:
        print("usage: python -m tests.sdk07 build", file=sys.stderr)
        return 2
    try:
        sdk = ensure_venv(log=lambda message: print(f"sdk07: {message}", flush=True))
    except Sdk07Unavailable as exc:
        print(f"sdk07: unavailable, the tests that need it will skip: {exc}", flush=True)
        return 0
    print(f"sdk07: ready: {sdk.version()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
