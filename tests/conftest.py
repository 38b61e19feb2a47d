"""Shared fixtures: every test gets its own real home on disk, never the developer's."""

from __future__ import annotations

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
