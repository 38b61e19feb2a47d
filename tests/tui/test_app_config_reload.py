"""After the config editor saves, the header re-reads config.json (a fixed file drops its warning)."""

from __future__ import annotations

from pathlib import Path

from tests.tui.support import make_app, settle
from tui.screens.config.messages import ConfigFileChanged


async def test_header_drops_the_config_error_after_a_save(demo_home: Path) -> None:
    config = demo_home / "config.json"
    good = config.read_text()
    config.write_text("{ broken")
    app = make_app(demo_home)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert "line 1 column 3" in app.header_state.config_error
        config.write_text(good)
        app.post_message(ConfigFileChanged(config))
        await settle(pilot)
        assert app.header_state.config_error == ""
