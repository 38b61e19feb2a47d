"""``msb-tui doctor``: text and ``--json`` output, exit codes, and no writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]


def run_doctor(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tui", "doctor", *args], cwd=PROJECT, capture_output=True,
                          text=True, timeout=60, env={**os.environ, **(env or {})})


def test_json_schema_and_no_writes(tmp_path: Path) -> None:
    home = tmp_path / "absent-home"
    result = run_doctor("--json", "--home", str(home), env={"TERM": "xterm-256color"})
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["status"] in ("ok", "warn")
    assert list(document["sections"]) == ["home", "config", "database", "terminal"]
    for checks in document["sections"].values():
        for check in checks:
            assert set(check) == {"name", "value", "level", "fix"}
            assert check["level"] in ("ok", "warn", "error", "info")
    assert document["sections"]["home"][0]["value"] == f"{home} (from flag)"
    assert not home.exists()


def test_bad_config_fails_with_a_fix(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.json").write_text('{"sandbox_defaults": {"cpus": 999}}')
    result = run_doctor(env={"MSB_HOME": str(home)})
    assert result.returncode == 1
    assert "FAIL" in result.stdout and "sandbox_defaults.cpus" in result.stdout
    assert "fix:" in result.stdout
    assert sorted(p.name for p in home.iterdir()) == ["config.json"]
