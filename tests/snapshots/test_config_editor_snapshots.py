"""Snapshots of the config editor at 80x24 and 120x40, on fixed files in ``~/.microsandbox``.

``HOME`` is a per-test temporary folder (tests/conftest.py), so the screen shows the stable
``~/.microsandbox/config.json`` and never a temporary path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.tui.config_editor_helpers import SAMPLE, make_app, settle, type_into
from tui.screens.config.screen import ConfigEditorScreen

INVALID = SAMPLE.replace('"memory_mib": 1024', '"memory_mib": 1024,\n    "cpus": 300')
MALFORMED = '{\n  "metrics": {\n    "capacity": 10\n  },,\n  "profiles": {}\n}\n'


@pytest.fixture
def msb_home(monkeypatch: pytest.MonkeyPatch) -> Path:
    """``~/.microsandbox`` inside the test's temporary HOME, set as ``MSB_HOME``."""
    home = Path.home() / ".microsandbox"
    home.mkdir()
    monkeypatch.setenv("MSB_HOME", str(home))
    return home


@pytest.fixture
def relative_config(msb_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``MSB_CONFIG_PATH=config.json`` run from the home: the app header quotes the config path in its
    parse error, and a relative path keeps temporary folders off the screen."""
    monkeypatch.chdir(msb_home)
    monkeypatch.setenv("MSB_CONFIG_PATH", "config.json")
    return msb_home / "config.json"


async def _ready(pilot: Pilot[Any], tab: str | None = None) -> ConfigEditorScreen:
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, ConfigEditorScreen)
    if tab is not None:
        screen.query_one("#cfg-tabs").active = f"cfg-pane-{tab}"  # type: ignore[attr-defined]
    await settle(pilot)
    return screen


class TestConfigEditorSnapshots:
    """What an operator sees in the config editor."""

    def test_general_tab_80x24(self, snap_compare: Any, msb_home: Path) -> None:
        """The General tab: the path as ~/.microsandbox/config.json, the SDK keys kept, a warning for
        the unknown key ``x-custom``, home and log_level as defaults, log_level tagged as not read."""
        (msb_home / "config.json").write_text(SAMPLE)

        async def run_before(pilot: Pilot[Any]) -> None:
            await _ready(pilot)

        assert snap_compare(make_app(), terminal_size=(80, 24), run_before=run_before)

    def test_invalid_value_80x24(self, snap_compare: Any, relative_config: Path) -> None:
        """Sandbox defaults with ``cpus: 300`` from the file: the row is red with the range error, the
        status line says one error blocks saving; memory_mib and oci.upper_size_mib are marked set.
        The title names the file as given by MSB_CONFIG_PATH."""
        relative_config.write_text(INVALID)

        async def run_before(pilot: Pilot[Any]) -> None:
            await _ready(pilot, "sandbox_defaults")

        assert snap_compare(make_app(), terminal_size=(80, 24), run_before=run_before)

    def test_registries_120x40(self, snap_compare: Any, msb_home: Path) -> None:
        """Registries: the hosts table (ghcr.io with keyring auth, localhost:5000 insecure) and the
        settings of ghcr.io below it, auth switched on with username and store set."""
        (msb_home / "config.json").write_text(SAMPLE)

        async def run_before(pilot: Pilot[Any]) -> None:
            await _ready(pilot, "registries")

        assert snap_compare(make_app(), terminal_size=(120, 40), run_before=run_before)

    def test_diff_before_saving_80x24(self, snap_compare: Any, msb_home: Path) -> None:
        """After setting metrics.capacity to 2048 and pressing ctrl+s: the change, the note to stop
        every sandbox first, and the unified diff; Cancel has the focus."""
        (msb_home / "config.json").write_text(SAMPLE)

        async def run_before(pilot: Pilot[Any]) -> None:
            screen = await _ready(pilot)
            await type_into(pilot, screen, ("metrics", "capacity"), "2048")
            await pilot.press("ctrl+s")
            await settle(pilot)

        assert snap_compare(make_app(), terminal_size=(80, 24), run_before=run_before)

    def test_diff_before_saving_120x40(self, snap_compare: Any, msb_home: Path) -> None:
        """The same diff dialog with room for the whole diff: one added ``metrics`` object at the end."""
        (msb_home / "config.json").write_text(SAMPLE)

        async def run_before(pilot: Pilot[Any]) -> None:
            screen = await _ready(pilot)
            await type_into(pilot, screen, ("metrics", "capacity"), "2048")
            await pilot.press("ctrl+s")
            await settle(pilot)

        assert snap_compare(make_app(), terminal_size=(120, 40), run_before=run_before)

    def test_repair_view_80x24(self, snap_compare: Any, relative_config: Path) -> None:
        """A file with ``,,`` on line 4: the repair view explains it, the JSON text area has the cursor
        on line 4 column 5, the status names that place, and Save is disabled."""
        relative_config.write_text(MALFORMED)

        async def run_before(pilot: Pilot[Any]) -> None:
            await _ready(pilot)

        assert snap_compare(make_app(), terminal_size=(80, 24), run_before=run_before)

    def test_read_only_120x40(self, snap_compare: Any, msb_home: Path) -> None:
        """Read-only: the title says nothing can be saved, inputs are disabled, no reset buttons."""
        (msb_home / "config.json").write_text(SAMPLE)

        async def run_before(pilot: Pilot[Any]) -> None:
            await _ready(pilot, "sandbox_defaults")

        assert snap_compare(make_app(read_only=True), terminal_size=(120, 40), run_before=run_before)
