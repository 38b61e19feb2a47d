"""Bounded JSON parsing: rows never raise anything but JsonError; files accept what serde_json accepts."""

from __future__ import annotations

import pytest

from backend.jsonio import SERDE_MAX_DEPTH, JsonError, loads_row, loads_strict


@pytest.mark.parametrize("text", ["[" * 100_000, "{\"a\":" * 50_000 + "1" + "}" * 50_000, "{bad", b"\xff"])
def test_rows_of_any_text_give_a_value_or_a_json_error(text: str | bytes) -> None:
    with pytest.raises(JsonError):
        loads_row(text)


def test_rows_parse_normally() -> None:
    assert loads_row('{"a": [1, 2.5, "x"]}') == {"a": [1, 2.5, "x"]}


@pytest.mark.parametrize(("text", "reason", "line", "column"), [
    ('{"a": 1,\n "a": 2}', "duplicate key `a`", 2, 2),
    ('{"a": NaN}', "`NaN` is not a JSON number", 1, 7),
    ('{"a": -Infinity}', "`-Infinity` is not a JSON number", 1, 7),
    ('{"a": Infinity}', "`Infinity` is not a JSON number", 1, 7),
    ("[" * (SERDE_MAX_DEPTH + 1) + "]" * (SERDE_MAX_DEPTH + 1), "nested deeper than 128", 1, 129),
    ('{"a": "\\ud800"}', "lone surrogate", None, None),
    ('{"a": 1} x', "Extra data", 1, 10),
])
def test_strict_rejects_what_serde_json_rejects(text: str, reason: str, line: int | None, column: int | None) -> None:
    with pytest.raises(JsonError) as caught:
        loads_strict(text)
    assert reason in str(caught.value)
    assert (caught.value.line, caught.value.column) == (line, column)


def test_strict_accepts_what_serde_json_accepts() -> None:
    deep = "[" * SERDE_MAX_DEPTH + "]" * SERDE_MAX_DEPTH
    assert loads_strict(deep) is not None
    assert loads_strict('{"s": "[{not nesting}]", "e": "\\ud83d\\ude00", "n": 1e400}')["e"] == "\U0001F600"
    assert loads_strict('{"a": {"a": 1}}') == {"a": {"a": 1}}  # the same key at two levels is fine
    assert loads_strict('{"n": 1e400}', parse_float=str) == {"n": "1e400"}
