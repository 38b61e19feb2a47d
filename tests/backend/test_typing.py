"""``mypy --strict`` stays clean on backend/, tui/ and tests/ (the project's typing rule, checked on every run)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("mypy") is None and sys.modules.get("mypy") is None, reason="mypy not installed")
def test_backend_tui_and_tests_are_mypy_strict_clean() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", "backend", "tui", "tests"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
