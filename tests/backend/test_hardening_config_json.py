"""Issue 19: config.json is parsed as microsandbox parses it (serde_json), and saving keeps the text of
values nobody touched."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from backend import LocalBackend
from backend.config.changes import check_text
from backend.config.file import read_config_file, save_persisted_config
from backend.config.model import LocalConfig
from backend.doctor import gather
from backend.errors import ConfigParseError

REJECTED = [
    ('{"log_level": "info", "log_level": "debug"}', "duplicate key `log_level`", 1, 23),
    ('{\n  "x": NaN\n}', "`NaN` is not a JSON number", 2, 8),
    ('{"x": -Infinity}', "`-Infinity` is not a JSON number", 1, 7),
    ('{"x": Infinity}', "`Infinity` is not a JSON number", 1, 7),
    ('{"x": [1, 2,]}', "invalid JSON", 1, 13),
    ('{"x": 1,}', "invalid JSON", 1, 9),
    ('{"x": "\\ud800"}', "lone surrogate", None, None),
    ('{"x": ' + "[" * 200 + "]" * 200 + "}", "nested deeper than 128", 1, 134),
]


@pytest.mark.parametrize(("text", "words", "line", "column"), REJECTED)
def test_what_serde_json_rejects_is_invalid_with_its_position(
        home: Path, text: str, words: str, line: int | None, column: int | None) -> None:
    path = home / "config.json"
    path.write_text(text)
    loaded = read_config_file(path)
    assert isinstance(loaded.error, ConfigParseError) and words in loaded.error.message
    assert "fall back to defaults" in loaded.error.message
    assert (loaded.error.line, loaded.error.column) == (line, column)
    assert loaded.config == LocalConfig()
    check = check_text(text)
    assert not check.ok and (check.line, check.column) == (line, column)


@pytest.mark.parametrize("text", [REJECTED[0][0], REJECTED[1][0], None])
async def test_doctor_calls_such_a_file_invalid(home: Path, text: str | None) -> None:
    if text is None:
        os.mkfifo(home / "config.json")  # and a FIFO is an error, not a hang
    else:
        (home / "config.json").write_text(text)
    backend = LocalBackend.lazy()
    try:
        report = await asyncio.wait_for(gather(backend), 20)
    finally:
        await backend.close()
    config = {check.name: check for check in report.sections["config"]}["config"]
    assert config.level == "error" and config.fix is not None and "microsandbox silently uses defaults" in config.fix
    assert ("not a regular file" if text is None else "failed to parse") in config.value


def test_untouched_numbers_keep_their_text_when_the_backend_saves(home: Path) -> None:
    path = home / "config.json"
    original = ('{\n  "log_level": "info",\n  "x-huge": 1e400,\n  "x-tiny": 1e-400,\n'
                '  "x-list": [1e400, -1e400, 0.10000000000000000555],\n  "x-int": 123456789012345678901234567890\n}\n')
    path.write_text(original)
    save_persisted_config(LocalConfig.model_validate({"log_level": "debug"}), path)
    text = path.read_text()
    assert '"x-huge": 1e400' in text and '"x-tiny": 1e-400' in text
    assert "[1e400, -1e400, 0.10000000000000000555]" in text and "123456789012345678901234567890" in text
    assert "Infinity" not in text
    assert json.loads(text)["log_level"] == "debug"
    assert read_config_file(path).error is None


def test_saving_over_a_file_microsandbox_rejects_keeps_its_unknown_keys(home: Path) -> None:
    path = home / "config.json"
    path.write_text('{"x-mine": {"a": 1}, "log_level": "info", "log_level": "warn"}\n')
    save_persisted_config(LocalConfig.model_validate({"log_level": "debug"}), path)
    saved = json.loads(path.read_text())
    assert saved["x-mine"] == {"a": 1} and saved["log_level"] == "debug"
    assert read_config_file(path).error is None


@pytest.mark.parametrize("text", ['{"x": "\\uDBFF"}', b'{"x": "\\udc00"}', '{"x": "\ud800"}', '["\\u00e9", "\\udfff"]'])
def test_lone_surrogates_are_found_however_they_are_written(text: str | bytes) -> None:
    from backend.jsonio import JsonError, loads_strict

    with pytest.raises(JsonError, match="lone surrogate"):
        loads_strict(text)


def test_pairs_and_escaped_backslashes_are_not_surrogates() -> None:
    from backend.jsonio import loads_strict

    assert loads_strict('{"x": "\\ud83d\\ude00", "y": "\\\\ud800", "z": "é"}') == {
        "x": "😀", "y": "\\ud800", "z": "é"}
