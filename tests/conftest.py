"""Shared fixtures: every test gets its own real home on disk, never the developer's.

The demo home is built once per run (:func:`demo_template`) and copied for each test that changes
it (:func:`demo_home`). Tests of the UI (tui/, snapshots/, reliability/) also get
:func:`ui_environment`: one clock, no auto-refresh, no terminal multiplexer.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from backend import LocalBackend
from tests.sdk07_fixtures import (  # noqa: F401 - fixtures of the microsandbox==0.7.11 reference client
    sdk05_home,
    sdk05_home_template,
    sdk05_upgraded_home,
    sdk05_upgraded_home_template,
    sdk07,
    sdk07_env,
    sdk07_home,
    sdk07_home_template,
)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Give the run a short temporary root, removed at the end.

    microsandbox derives Unix socket paths from ``MSB_HOME`` and refuses a home whose paths would
    reach 108 bytes. pytest's own root (``/tmp/pytest-of-<user>/pytest-<n>/``, plus ``popen-gw<k>/``
    under pytest-xdist) leaves the reference SDKs too little room, so the homes of the interop tests
    would be refused for their length alone.
    """
    if config.option.basetemp is None and "PYTEST_XDIST_WORKER" not in os.environ:
        root = tempfile.mkdtemp(prefix="msbt-")
        config.option.basetemp = root
        config.add_cleanup(lambda: shutil.rmtree(root, ignore_errors=True))


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Keep the real ``~/.microsandbox`` and any ``MSB_*`` of the developer out of every test."""
    for name in ("MSB_HOME", "MSB_CONFIG_PATH", "MSB_BACKEND", "MSB_PROFILE", "MSB_API_URL", "MSB_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path_factory.mktemp("user-home")))
    yield


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty home folder, set as ``MSB_HOME`` (so the config is ``<home>/config.json``)."""
    path = tmp_path / "msb-home"
    path.mkdir()
    monkeypatch.setenv("MSB_HOME", str(path))
    return path


@pytest.fixture
async def backend(home: Path) -> AsyncIterator[LocalBackend]:
    """A writable backend on ``home``, connected and migrated, closed afterwards."""
    instance = LocalBackend.lazy()
    await instance.db()
    try:
        yield instance
    finally:
        await instance.close()


#: Test folders whose tests drive the UI and so get :func:`ui_environment`.
UI_TEST_DIRS = ("tui", "snapshots", "reliability")


@pytest.fixture(autouse=True)
def ui_environment(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """For tests of the UI: every age and timestamp on screen is computed against one instant, no
    auto-refresh fires mid-test, no tmux/screen clipboard wrapping."""
    path = request.node.path
    root = Path(__file__).parent
    if path.is_relative_to(root) and path.relative_to(root).parts[0] in UI_TEST_DIRS:
        from tests.tui.support import pin_ui_environment

        pin_ui_environment(monkeypatch)
    yield


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo home (every status, logs, dir and disk volumes, a config with hosts), built once per
    run; tests that change it work on :func:`demo_home`."""
    from tests.tui.support import build_template

    return build_template(tmp_path_factory.mktemp("demo-template"))


@pytest.fixture
def demo_home(demo_template: Path, tmp_path: Path) -> Path:
    """A private copy of the demo home."""
    from tests.tui.support import copy_home

    return copy_home(demo_template, tmp_path / "home")
