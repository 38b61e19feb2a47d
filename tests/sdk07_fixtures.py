"""Fixtures for the ``microsandbox==0.7.11`` reference client (imported by ``tests/conftest.py``, so the
interop and reliability suites both see them). Each skips, with the reason, where its SDK is missing.

- ``sdk07_env`` (session): :class:`~tests.sdk07.Sdk07`, the cached venv (built on first use).
- ``sdk07`` (function): :class:`~tests.sdk07.Sdk07Runner` on ``home`` (``sdk07("volume-list")``,
  ``sdk07.batch(...)``, ``sdk07.cli("ls", "--format", "json")``, ``sdk07.config_check(path)``).
- ``sdk07_home`` (function): ``home`` filled with a copy of the realistic 0.7 home made by 0.7.11
  (``sdk07_home_template``, session, built once; never change the template itself).
- ``sdk05_home`` / ``sdk05_upgraded_home`` (function): ``home`` filled with the same home made by
  0.5.10, as it left it / after 0.7.11 migrated it (templates: ``sdk05_home_template``,
  ``sdk05_upgraded_home_template``).

The home fixtures fill ``home`` itself, so ``MSB_HOME`` already points there and ``sdk07`` runs on it.
The bind images live beside the templates (``bind-roots/``), shared by every copy: do not change them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sdk07 import Sdk07, Sdk07Runner, Sdk07Unavailable, ensure_venv
from tests.sdk07_homes import (
    build_sdk05_home,
    build_sdk07_home,
    copy_home,
    sdk05_missing_reason,
    upgrade_with_sdk07,
)

#: Below pytest-timeout's 300 s, so that a slow index gives a skip with the reason, not a timeout.
BUILD_TIMEOUT_S = 240


@pytest.fixture(scope="session")
def sdk07_env() -> Sdk07:
    """The 0.7.11 venv, built or reused once per session (a failure is cached: one attempt)."""
    try:
        return ensure_venv(timeout=BUILD_TIMEOUT_S)
    except Sdk07Unavailable as exc:
        pytest.skip(f"microsandbox==0.7.11 SDK unavailable: {exc}")


@pytest.fixture
def sdk07(sdk07_env: Sdk07, home: Path) -> Sdk07Runner:
    """``sdk07("volume-list")`` runs one 0.7.11 driver command on ``home`` and returns its JSON."""
    return sdk07_env.runner(home)


@pytest.fixture(scope="session")
def sdk07_home_template(sdk07_env: Sdk07, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The realistic home made by 0.7.11 (see ``tests/sdk07_homes.py``), built once. Read only."""
    folder = tmp_path_factory.mktemp("sdk07-template")
    return build_sdk07_home(sdk07_env, folder / "home", folder / "bind-roots")


@pytest.fixture
def sdk07_home(sdk07_home_template: Path, home: Path) -> Path:
    """``home`` (``MSB_HOME``) holding a private copy of the 0.7 home: change it freely."""
    return copy_home(sdk07_home_template, home)


@pytest.fixture(scope="session")
def sdk05_home_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same home made by 0.5.10 (13 migrations), built once. Read only."""
    reason = sdk05_missing_reason()
    if reason:
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("sdk05-template")
    return build_sdk05_home(folder / "home", folder / "bind-roots")


@pytest.fixture
def sdk05_home(sdk05_home_template: Path, home: Path) -> Path:
    """``home`` holding a private copy of the 0.5.10 home."""
    return copy_home(sdk05_home_template, home)


@pytest.fixture(scope="session")
def sdk05_upgraded_home_template(sdk07_env: Sdk07, sdk05_home_template: Path,
                                 tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 0.5.10 home after 0.7.11 opened it once (30 migrations). Read only."""
    home = copy_home(sdk05_home_template, tmp_path_factory.mktemp("sdk05-upgraded") / "home")
    return upgrade_with_sdk07(sdk07_env, home)


@pytest.fixture
def sdk05_upgraded_home(sdk05_upgraded_home_template: Path, home: Path) -> Path:
    """``home`` holding a private copy of the upgraded 0.5.10 home."""
    return copy_home(sdk05_upgraded_home_template, home)
