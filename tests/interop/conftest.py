"""Interop fixtures: run the published microsandbox==0.5.10 SDK against a home, in a subprocess."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

DRIVER = Path(__file__).with_name("sdk_driver.py")
SdkRunner = Callable[..., Any]


def _sdk_missing_reason() -> str | None:
    if importlib.util.find_spec("microsandbox") is None:
        return "the microsandbox==0.5.10 SDK is not installed (pip install -e '.[interop]'; x86_64 Linux wheel)"
    return None


@pytest.fixture
def sdk(home: Path) -> SdkRunner:
    """``sdk("volume-list")`` runs one SDK command on ``home`` and returns its parsed JSON.

    ``sdk(..., expect_error=True)`` returns the error document instead of failing the test.
    """
    reason = _sdk_missing_reason()
    if reason:
        pytest.skip(reason)

    def run(*args: str, expect_error: bool = False) -> Any:
        env = {**os.environ, "MSB_HOME": str(home)}
        result = subprocess.run(
            [sys.executable, str(DRIVER), *args], env=env, capture_output=True, text=True, timeout=60
        )
        payload = json.loads(result.stdout) if result.stdout.strip() else None
        if expect_error:
            assert result.returncode != 0, f"expected the SDK to fail: {payload}"
            return payload
        assert result.returncode == 0, f"SDK {args} failed: {result.stdout} {result.stderr[-2000:]}"
        return payload

    return run
