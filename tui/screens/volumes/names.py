"""File names and paths as the volume browser shows them: escaped so no name can break the screen.

A file name may hold newlines, escape sequences, bidi overrides or bytes that are not UTF-8 (kept
by Python as surrogate escapes). Everything shown on screen goes through :func:`display_name`, which
writes such characters as ``\\n``, ``\\x1b``, ``\\u202e`` or ``\\xff``; the real name is kept for
the file operations. :func:`shell_quoted` gives a copyable form of a path that needs escaping.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence

_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}


def _escape_char(ch: str) -> str:
    code = ord(ch)
    if ch in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[ch]
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte kept by surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def needs_escaping(name: str) -> bool:
    """True when ``name`` holds a control, invisible or undecodable character."""
    return not name.isprintable() or any("\udc80" <= ch <= "\udcff" for ch in name)


def display_name(name: str) -> str:
    """``name`` with control, invisible and undecodable characters written as escapes.

    Printable names come back unchanged. When a name needs escapes, its backslashes are doubled too,
    so ``a\\nb`` (a backslash and an ``n``) and ``a<newline>b`` stay distinct.
    """
    if not needs_escaping(name):
        return name
    return "".join(ch if ch.isprintable() and ch != "\\" else _escape_char(ch) for ch in name)


def display_path(parts: Sequence[str]) -> str:
    """``/a/b`` from path components, each escaped."""
    return "/" + "/".join(display_name(part) for part in parts)


def volume_path(parts: Sequence[str]) -> str:
    """The real (unescaped) volume path of ``parts``: ``/`` plus the components."""
    return "/" + "/".join(parts)


def shell_quoted(path: str) -> str:
    """``path`` as a POSIX shell word: plain when safe, ``'...'`` when it only has spaces and the like,
    and bash's ``$'...'`` with escapes when it holds control characters or bytes that are not UTF-8."""
    if path and all(ch.isalnum() or ch in "/._-+,:@%=" for ch in path) and path.isascii():
        return path
    if not needs_escaping(path):
        return "'" + path.replace("'", "'\\''") + "'"
    out: list[str] = []
    for byte in os.fsencode(path):
        ch = chr(byte)
        if ch == "'" or ch == "\\":
            out.append("\\" + ch)
        elif 0x20 <= byte < 0x7F:
            out.append(ch)
        else:
            out.append(f"\\x{byte:02x}")
    return "$'" + "".join(out) + "'"


def clipboard_form(path: str) -> tuple[str, bool]:
    """What to copy for ``path``: the path itself, or its :func:`shell_quoted` form (then True) when
    it holds characters a clipboard cannot carry or a terminal would act on."""
    if not needs_escaping(path):
        return path, False
    return shell_quoted(path), True


def mode_text(mode: int) -> str:
    """``drwxr-xr-x`` for an ``st_mode``; ``?---------`` when unknown (0)."""
    if mode == 0:
        return "?---------"
    return stat.filemode(mode)


def plural(count: int, word: str) -> str:
    """``1 file``, ``3 files`` (with thousands separators)."""
    return f"{count:,} {word}{'' if count == 1 else 's'}"


KIND_SUFFIX = {"directory": "/", "symlink": "@", "other": "|"}


def entry_label(name: str, kind: str, mode: int = 0) -> str:
    """An entry's name, escaped, with an ``ls -F``-style marker: ``dir/``, ``link@``, ``fifo|``, ``sock=``."""
    label = display_name(name)
    if kind == "other" and stat.S_ISSOCK(mode):
        return label + "="
    return label + KIND_SUFFIX.get(kind, "")
