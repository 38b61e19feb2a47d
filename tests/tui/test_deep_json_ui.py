"""Issue 19: JSON nested too deep never crashes a screen: the config screen, the log tail, file previews."""

from __future__ import annotations

from pathlib import Path

from backend.volumes.models import FilePreview
from tests.tui.config_editor_helpers import editor, make_app, view_of
from tui.screens.sandboxes.log_tail import format_log_line
from tui.screens.volumes.file_preview import text_or_hex


async def test_a_deep_config_file_opens_the_repair_view(home: Path) -> None:
    (home / "config.json").write_text('{"x": ' + "[" * 200_000 + "]" * 200_000 + "}")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await editor(pilot)
        assert view_of(screen) == "repair" and screen.doc is None
        assert screen.loaded is not None and screen.loaded.error is not None
        assert "nested deeper than 128" in screen.loaded.error.message


def test_a_deep_exec_log_line_is_shown_as_text() -> None:
    line = '{"t": "x", "d": ' + "[" * 60_000 + "]" * 60_000 + "}"
    assert format_log_line("exec.log", line).plain.startswith('{"t"')


def test_a_deep_json_file_is_previewed_as_text() -> None:
    data = ("[" * 60_000 + "]" * 60_000).encode()
    content = text_or_hex("deep.json", FilePreview(len(data), data, b"", False))
    assert "pretty-printed" not in content.title.plain
