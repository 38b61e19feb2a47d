"""``msb-tui doctor``: what this tool sees, where each setting came from, and what to fix.

Gathers facts without starting the UI and without writing anything: the home and config path with
their sources, the config load result, the catalog's schema state (opened read-only), counts of
sandboxes and volumes, and the terminal's capabilities as far as the environment tells.
"""

from __future__ import annotations

import locale
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from backend.errors import BackendError
from backend.local import LocalBackend

Level = Literal["ok", "warn", "error", "info"]


@dataclass(frozen=True)
class Check:
    """One fact: its value, a verdict, and a suggested fix when something looks wrong."""

    name: str
    value: str
    level: Level = "ok"
    fix: str | None = None


@dataclass(frozen=True)
class DoctorReport:
    """Everything ``doctor`` found, grouped by section (home, config, database, terminal)."""

    sections: dict[str, list[Check]] = field(default_factory=dict)

    @property
    def worst(self) -> Level:
        """The most serious verdict in the report."""
        levels = [check.level for checks in self.sections.values() for check in checks]
        if "error" in levels:
            return "error"
        if "warn" in levels:
            return "warn"
        return "ok"

    def to_json(self) -> dict[str, Any]:
        """A stable document for scripts: ``{"status": ..., "sections": {name: [check, ...]}}``."""
        return {
            "status": self.worst,
            "sections": {name: [asdict(check) for check in checks] for name, checks in self.sections.items()},
        }

    def render_text(self) -> str:
        """Aligned plain text, one line per fact and an indented fix line where there is one."""
        marks = {"ok": "ok  ", "warn": "WARN", "error": "FAIL", "info": "    "}
        width = max((len(c.name) for checks in self.sections.values() for c in checks), default=10)
        lines: list[str] = []
        for section, checks in self.sections.items():
            lines.append(f"[{section}]")
            for check in checks:
                lines.append(f"  {marks[check.level]} {check.name.ljust(width)}  {check.value}")
                if check.fix:
                    lines.append(f"       {' ' * width}  fix: {check.fix}")
        return "\n".join(lines)


def _source(explicit: bool, env_name: str, env: Mapping[str, str]) -> str:
    if explicit:
        return "flag"
    return "environment" if env_name in env else "default"


async def gather(backend: LocalBackend, *, home_from_flag: bool = False,
                 env: Mapping[str, str] | None = None) -> DoctorReport:
    """Collect the report for ``backend``; the catalog is only ever opened read-only here."""
    env = os.environ if env is None else env
    sections: dict[str, list[Check]] = {}
    home = backend.home()
    home_checks = [Check("home", f"{home} (from {_source(home_from_flag, 'MSB_HOME', env)})", "info")]
    if not home.exists():
        home_checks.append(Check("home folder", "missing", "warn",
                                 "run msb once, or pass --home with the right folder"))
    elif not os.access(home, os.R_OK | os.X_OK):
        home_checks.append(Check("home folder", "not readable", "error", "run as the home's owner"))
    elif not os.access(home, os.W_OK):
        home_checks.append(Check("home folder", "not writable", "warn", "use --read-only, or fix permissions"))
    sections["home"] = home_checks

    config_file = backend.read_config_file()
    config_checks = [Check("config path", f"{config_file.path} (from "
                           f"{_source(False, 'MSB_CONFIG_PATH', env)})", "info")]
    if config_file.error is not None:
        config_checks.append(Check("config", str(config_file.error), "error",
                                   "fix the file (msb-tui --screen config opens a repair view); "
                                   "microsandbox silently uses defaults meanwhile"))
    else:
        config_checks.append(Check("config", "valid" if config_file.exists else "missing (defaults apply)"))
    sections["config"] = config_checks

    sections["database"] = await _database_checks(backend)
    sections["terminal"] = terminal_checks(env)
    return DoctorReport(sections)


async def _database_checks(backend: LocalBackend) -> list[Check]:
    probe = LocalBackend(backend.config, read_only=True, config_file=backend.config_path)
    checks = [Check("catalog", str(backend.config.db_path()), "info")]
    try:
        database = await probe.db()
        status = database.status
        level: Level = "warn" if status.state.name in ("TOO_NEW", "UNSUPPORTED", "OUTDATED", "MISSING") else "ok"
        checks.append(Check("schema", status.message, level,
                            "upgrade msb-tui" if status.state.name == "TOO_NEW" else None))
        if status.state.name not in ("MISSING", "NOT_OPENED"):
            checks.append(Check("profile", database.profile.title, "info"))
        await database.recheck()  # an install lease or an unfinished downgrade blocks every write
        blocked = database.status.blocked
        if blocked is not None:
            checks.append(Check("writes", blocked.message, "warn", "wait for msb to finish, then retry"))
        async with database.read() as conn:
            if conn is not None:
                for label, table in (("sandboxes", "sandbox"), ("volumes", "volume")):
                    count = (await conn.exec_driver_sql(f"SELECT count(*) FROM {table}")).scalar_one()
                    checks.append(Check(label, str(count), "info"))
    except BackendError as exc:
        checks.append(Check("schema", str(exc), "error", "see the message; --read-only avoids any write"))
    finally:
        await probe.close()
    return checks


def _tmux_clipboard() -> str | None:
    if shutil.which("tmux") is None:
        return None
    try:
        result = subprocess.run(["tmux", "show-options", "-gv", "set-clipboard"], capture_output=True,
                                text=True, timeout=2)
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None


def colour_depth(env: Mapping[str, str]) -> int:
    """Colours the terminal probably shows: 16,777,216 (truecolor), 256, 16, or 0 under NO_COLOR."""
    if "NO_COLOR" in env:
        return 0
    if env.get("COLORTERM", "").lower() in ("truecolor", "24bit"):
        return 16_777_216
    term = env.get("TERM", "")
    if "256" in term:
        return 256
    return 16 if term and term != "dumb" else 0


def terminal_checks(env: Mapping[str, str]) -> list[Check]:
    """TERM, colours, multiplexer, locale, SSH and clipboard facts, each with a fix when it matters."""
    term = env.get("TERM", "")
    checks = [Check("TERM", term or "(unset)", "ok" if term and term != "dumb" else "warn",
                    None if term and term != "dumb" else "export TERM=xterm-256color")]
    depth = colour_depth(env)
    names = {16_777_216: "truecolor", 256: "256 colours", 16: "16 colours", 0: "no colour"}
    checks.append(Check("colours", f"{names[depth]} (COLORTERM={env.get('COLORTERM', '') or 'unset'})",
                        "ok" if depth >= 256 or "NO_COLOR" in env else "warn",
                        None if depth >= 256 or "NO_COLOR" in env
                        else "use a 256-colour TERM such as xterm-256color or tmux-256color"))
    in_tmux = "TMUX" in env
    in_screen = "STY" in env
    multiplexer = "tmux" if in_tmux else "screen" if in_screen else "none"
    fix = None
    if in_tmux and not term.startswith(("tmux", "screen")):
        fix = "inside tmux set: set -g default-terminal tmux-256color"
    checks.append(Check("multiplexer", multiplexer, "warn" if fix else "ok", fix))
    encoding = locale.getpreferredencoding(False)
    lang = env.get("LC_ALL") or env.get("LC_CTYPE") or env.get("LANG") or ""
    utf8 = "utf-8" in encoding.lower().replace("_", "-") or "utf-8" in lang.lower().replace("utf8", "utf-8")
    checks.append(Check("UTF-8 locale", f"{lang or '(unset)'} ({encoding})", "ok" if utf8 else "warn",
                        None if utf8 else "export LANG=C.UTF-8 (box drawing and symbols need UTF-8)"))
    over_ssh = "SSH_CONNECTION" in env or "SSH_TTY" in env
    checks.append(Check("SSH session", "yes" if over_ssh else "no", "info"))
    clipboard = "OSC 52 likely works"
    level: Level = "ok"
    clip_fix: str | None = None
    if in_tmux:
        setting = _tmux_clipboard()
        if setting == "off":
            clipboard, level = "OSC 52 blocked: tmux set-clipboard is off", "warn"
            clip_fix = "tmux set -g set-clipboard on (and allow-passthrough on for tmux >= 3.3)"
        else:
            clipboard = f"OSC 52 through tmux (set-clipboard {setting or 'unknown'})"
    elif in_screen:
        clipboard = "OSC 52 wrapped for GNU screen; some terminals ignore it"
    elif term in ("linux", "dumb", ""):
        clipboard, level, clip_fix = "OSC 52 unlikely on this terminal", "warn", "use a terminal emulator"
    checks.append(Check("clipboard", clipboard, level, clip_fix))
    return checks

