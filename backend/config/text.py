"""Where things are in config.json text, and writing an edited document with the smallest text change.

:func:`value_spans` finds the key and value of every key path in valid JSON text (for marking errors
in the repair view). :func:`render_preserving` writes an edited document so that every value the edit
did not touch keeps its original text, spacing included: a hand-formatted file shows only the edited
lines in the diff, not a reformatting of the whole file.
"""

from __future__ import annotations

import json
import re
from json.decoder import scanstring  # type: ignore[attr-defined]
from typing import Any

KeyPath = tuple[str, ...]

_WS = re.compile(r"[ \t\n\r]*")
_ATOM = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?|true|false|null")


class _Spans:
    """Key and value offsets by key path (array items use their index as the key)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.keys: dict[KeyPath, int] = {}
        self.values: dict[KeyPath, tuple[int, int]] = {}
        start = self._skip(0)
        self.values[()] = (start, self._value(start, ()))

    def _skip(self, index: int) -> int:
        match = _WS.match(self.text, index)
        return match.end() if match else index

    def _value(self, index: int, path: KeyPath) -> int:
        text = self.text
        char = text[index]
        if char in "{[":
            closing = "}" if char == "{" else "]"
            index = self._skip(index + 1)
            position = 0
            while text[index] != closing:
                if char == "{":
                    key_start = index
                    key, index = scanstring(text, index + 1)
                    child: KeyPath = (*path, key)
                    self.keys[child] = key_start
                    index = self._skip(self._skip(index) + 1)
                else:
                    child = (*path, str(position))
                    position += 1
                end = self._value(index, child)
                self.values[child] = (index, end)
                index = self._skip(end)
                if text[index] == ",":
                    index = self._skip(index + 1)
            return index + 1
        if char == '"':
            return int(scanstring(text, index + 1)[1])
        match = _ATOM.match(text, index)
        if match is None:
            raise ValueError(f"unexpected {char!r} at offset {index}")
        return match.end()


def key_offsets(text: str) -> dict[KeyPath, int]:
    """Character offsets of every object key in valid JSON ``text``, by key path."""
    return _Spans(text).keys


def locate_key(text: str, path: KeyPath) -> tuple[int, int] | None:
    """1-based (line, column) of the key at ``path`` (or its nearest present parent) in ``text``."""
    try:
        offsets = key_offsets(text)
    except (IndexError, ValueError):
        return None
    for end in range(len(path), 0, -1):
        offset = offsets.get(path[:end])
        if offset is not None:
            line = text.count("\n", 0, offset) + 1
            return line, offset - (text.rfind("\n", 0, offset) + 1) + 1
    return None


_ABSENT = object()


def _at(document: Any, path: KeyPath) -> Any:
    node = document
    for part in path:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _ABSENT
    return node


def _same(old: Any, new: Any) -> bool:
    return old is not _ABSENT and json.dumps(old, ensure_ascii=False) == json.dumps(new, ensure_ascii=False)


def render_preserving(original_text: str, original: Any, document: Any, indent: str | int = 2) -> str:
    """``document`` as JSON text, reusing ``original_text`` for every value equal to the original's.

    ``original`` is ``json.loads(original_text)``. Values that changed are written as pretty JSON with
    ``indent``; keys keep the document's order. The result always ends with a newline.
    """
    spans = _Spans(original_text).values
    unit = indent if isinstance(indent, str) else " " * indent

    def render(value: Any, path: KeyPath, level: int) -> str:
        span = spans.get(path)
        if span is not None and _same(_at(original, path), value):
            return original_text[span[0]:span[1]]
        if isinstance(value, dict) and value:
            inner = unit * (level + 1)
            items = [f"{inner}{json.dumps(key, ensure_ascii=False)}: {render(child, (*path, key), level + 1)}"
                     for key, child in value.items()]
            return "{\n" + ",\n".join(items) + "\n" + unit * level + "}"
        if isinstance(value, list) and value:
            inner = unit * (level + 1)
            items = [inner + render(child, (*path, str(i)), level + 1) for i, child in enumerate(value)]
            return "[\n" + ",\n".join(items) + "\n" + unit * level + "]"
        return json.dumps(value, ensure_ascii=False)

    if _same(original, document):
        return original_text if original_text.endswith("\n") else original_text + "\n"
    return render(document, (), 0) + "\n"


__all__ = ["key_offsets", "locate_key", "render_preserving"]
