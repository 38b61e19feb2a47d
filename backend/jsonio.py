"""Parsing JSON from the home with bounds: text written by microsandbox (or by anyone) is never trusted.

- :func:`loads_row` reads a catalog value (a sandbox config, a volume's labels): any text at all comes
  back as a value or a :class:`JsonError`, never a ``RecursionError`` that would fail a whole list.
- :func:`loads_strict` reads a file the way microsandbox's parser (``serde_json``) does: it rejects what
  serde_json rejects (duplicate keys in an object, ``NaN``/``Infinity``, nesting deeper than 128, lone
  surrogates in strings), with the position, so msb-tui never calls valid a file microsandbox refuses.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

#: serde_json's recursion limit: deeper arrays and objects are an error there.
SERDE_MAX_DEPTH = 128


class JsonError(ValueError):
    """Text that is not JSON microsandbox would accept; ``line``/``column`` are 1-based, when known."""

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None,
                 position: int | None = None) -> None:
        where = f" at line {line} column {column}" if line is not None and column is not None else ""
        super().__init__(f"{message}{where}")
        self.reason = message
        self.line = line
        self.column = column
        self.position = position


def _position(text: str | bytes, index: int) -> tuple[int, int]:
    head = text[:index]
    if isinstance(head, bytes):
        head = head.decode("utf-8", errors="replace")
    line = head.count("\n") + 1
    return line, index - (head.rfind("\n") + 1) + 1


def _from_decode_error(exc: json.JSONDecodeError) -> JsonError:
    return JsonError(exc.msg, line=exc.lineno, column=exc.colno, position=exc.pos)


def loads_row(text: str | bytes, *, max_depth: int = SERDE_MAX_DEPTH) -> Any:
    """``json.loads`` that turns any failure into JsonError, nesting deeper than ``max_depth`` included
    (microsandbox never writes deeper than its own parser reads, and a deeper value would make every
    later walk of it, a deep copy or a render, recurse without bound)."""
    too_deep = _too_deep(text, max_depth)
    if too_deep is not None:
        line, column = _position(text, too_deep)
        raise JsonError(f"nested deeper than {max_depth} levels", line=line, column=column, position=too_deep)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _from_decode_error(exc) from None
    except RecursionError:
        raise JsonError("JSON nested too deeply") from None
    except (ValueError, TypeError) as exc:  # invalid UTF-8 in bytes
        raise JsonError(str(exc)) from None


_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_STRING_BYTES = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_NOT_BRACKET_BYTES = re.compile(rb"[^\[\]{}]+")


def _too_deep(text: str | bytes, limit: int) -> int | None:
    """:func:`_depth_at`, but cheap for the common case: text with too few brackets to nest that deep is
    passed at once, and otherwise only its brackets outside strings (found by regular expressions, at C
    speed) are walked; the exact scan runs only for text that really nests too deep."""
    if isinstance(text, str):
        if text.count("[") + text.count("{") <= limit:
            return None
        brackets: str | bytes = _NOT_BRACKET.sub("", _STRING.sub("", text))
        opening: tuple[object, ...] = ("[", "{")
    else:
        if text.count(b"[") + text.count(b"{") <= limit:
            return None
        brackets = _NOT_BRACKET_BYTES.sub(b"", _STRING_BYTES.sub(b"", text))
        opening = (0x5B, 0x7B)
    depth = 0
    for bracket in brackets:
        if bracket in opening:
            depth += 1
            if depth > limit:
                return _depth_at(text, limit)
        else:
            depth -= 1
    return None


def _depth_at(text: str | bytes, limit: int) -> int | None:
    """The offset where nesting first goes past ``limit``, or None (strings are skipped)."""
    data = text.encode("utf-8", errors="surrogatepass") if isinstance(text, str) else text
    depth = 0
    in_string = escaped = False
    for index, byte in enumerate(data):
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > limit:
                return len(data[:index].decode("utf-8", errors="replace")) if isinstance(text, str) else index
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return None


def loads_strict(text: str | bytes, *, parse_float: Callable[[str], Any] | None = None,
                 parse_int: Callable[[str], Any] | None = None) -> Any:
    """Parse ``text`` accepting exactly what serde_json accepts (see the module docstring).

    ``parse_float``/``parse_int`` are passed to :func:`json.loads`, for callers that must keep number
    literals exact.
    """
    too_deep = _too_deep(text, SERDE_MAX_DEPTH)
    if too_deep is not None:
        deep_line, deep_column = _position(text, too_deep)
        raise JsonError(f"nested deeper than {SERDE_MAX_DEPTH} levels (microsandbox's limit)",
                        line=deep_line, column=deep_column, position=too_deep)
    duplicate: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out and not duplicate:
                duplicate.append(key)
            out[key] = value
        return out

    def constant(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    try:
        value = json.loads(text, object_pairs_hook=pairs, parse_constant=constant,
                           parse_float=parse_float, parse_int=parse_int)
    except json.JSONDecodeError as exc:
        raise _from_decode_error(exc) from None
    except RecursionError:  # deeper than Python's stack, though within the byte scan's reach
        raise JsonError("JSON nested too deeply") from None
    except ValueError as exc:
        message = str(exc)
        if message.endswith("is not JSON"):
            literal = message.split()[0]
            offset = _literal_offset(text, literal)
            line, column = _where(text, offset)
            raise JsonError(f"`{literal}` is not a JSON number (microsandbox rejects it)",
                            line=line, column=column, position=offset) from None
        raise JsonError(message) from None
    if duplicate:
        offset = _second_key_offset(text, duplicate[0])
        line, column = _where(text, offset)
        raise JsonError(f"duplicate key `{duplicate[0]}` (microsandbox rejects a file with one)",
                        line=line, column=column, position=offset)
    surrogate = _lone_surrogate(value) if _may_hold_surrogates(text) else None
    if surrogate is not None:
        raise JsonError(f"a string holds a lone surrogate escape ({surrogate!r}), which microsandbox rejects")
    return value


def _where(text: str | bytes, offset: int | None) -> tuple[int | None, int | None]:
    if offset is None:
        return None, None
    return _position(text, offset)


def _literal_offset(text: str | bytes, literal: str) -> int | None:
    source = text if isinstance(text, str) else text.decode("utf-8", errors="replace")
    index = source.find(literal)
    return index if index >= 0 else None


def _second_key_offset(text: str | bytes, key: str) -> int | None:
    source = text if isinstance(text, str) else text.decode("utf-8", errors="replace")
    token = json.dumps(key)
    first = source.find(token)
    second = source.find(token, first + 1) if first >= 0 else -1
    return second if second >= 0 else None


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE_ESCAPE_BYTES = re.compile(rb"\\u[dD][89a-fA-F]")
_RAW_SURROGATE = re.compile("[\ud800-\udfff]")


def _may_hold_surrogates(text: str | bytes) -> bool:
    """Whether a string of the parsed value can hold a surrogate: only through a ``\\uD8xx``-``\\uDFxx``
    escape, or one already in ``text`` (a C-speed search, so the walk runs only then)."""
    if isinstance(text, bytes):
        return b"\\u" in text and _SURROGATE_ESCAPE_BYTES.search(text) is not None
    if "\\u" in text and _SURROGATE_ESCAPE.search(text) is not None:
        return True
    return not text.isascii() and _RAW_SURROGATE.search(text) is not None


def _lone_surrogate(value: Any) -> str | None:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if any(0xD800 <= ord(ch) <= 0xDFFF for ch in item):
                return item
        elif isinstance(item, dict):
            for key, child in item.items():
                stack.append(key)
                stack.append(child)
        elif isinstance(item, list):
            stack.extend(item)
    return None
