"""File previews that never read a whole file and never put raw control bytes on the terminal.

:func:`text_or_hex` turns the head (and tail) of a file into something to show: text highlighted by
the file's name, JSON pretty-printed when the whole file was read, anything binary as a hex dump.
Everything runs on bytes already read (at most ``HEAD_BYTES + TAIL_BYTES``), so it can be built in a
thread worker; the widget only displays the result. Control characters, bidi overrides and line
separators inside the text are shown as visible symbols (``␛``, ``␍``, ``�``).
"""

from __future__ import annotations

import codecs
import json
from dataclasses import dataclass

from rich.console import RenderableType
from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from backend.jsonio import JsonError, loads_row
from backend.volumes.models import FilePreview
from tui.format import byte_size, visible
from tui.screens.volumes.names import display_name

HEAD_BYTES = 16 * 1024
TAIL_BYTES = 4 * 1024
HEAD_LINES = 200
TAIL_LINES = 40
MAX_LINE = 400
HEX_BYTES = 1024
JSON_MAX_LINES = 1000

@dataclass(frozen=True)
class PreviewContent:
    """A title line (name and facts) and the body to show under it."""

    title: Text
    body: RenderableType


def looks_binary(sample: bytes) -> bool:
    """True for data with NUL bytes, many bytes that are not UTF-8, or mostly control bytes."""
    if not sample:
        return False
    if b"\x00" in sample:
        return True
    text = codecs.getincrementaldecoder("utf-8")("replace").decode(sample, final=False)
    bad = text.count("\ufffd")
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\n\r\f\b\x1b")
    return bad > len(text) * 0.02 + 1 or controls > len(text) * 0.1


def _decode_head(data: bytes) -> str:
    return codecs.getincrementaldecoder("utf-8")("replace").decode(data, final=False)


def _decode_tail(data: bytes) -> str:
    skip = 0
    while skip < min(3, len(data)) and 0x80 <= data[skip] <= 0xBF:  # starts inside a character
        skip += 1
    return data[skip:].decode("utf-8", errors="replace")


def _clip_lines(text: str, limit: int, *, from_end: bool = False) -> tuple[str, int]:
    lines = text.split("\n")
    dropped = max(0, len(lines) - limit)
    lines = lines[-limit:] if from_end else lines[:limit]
    lines = [line if len(line) <= MAX_LINE else line[:MAX_LINE] + "…" for line in lines]
    return "\n".join(lines), dropped


def lexer_for(name: str) -> str | None:
    """The Pygments lexer alias for a file name, or None for plain text."""
    from pygments.lexers import get_lexer_for_filename  # type: ignore[import-untyped]
    from pygments.util import ClassNotFound  # type: ignore[import-untyped]

    try:
        lexer = get_lexer_for_filename(name.rsplit("/", 1)[-1])
    except (ClassNotFound, ValueError):
        return None
    alias = lexer.aliases[0] if lexer.aliases else None
    return None if alias in (None, "text") else alias


def highlight(code: str, lexer: str | None) -> Text:
    """``code`` highlighted with the terminal's own colours (plain when ``lexer`` is None)."""
    if lexer is None or lexer == "text":
        return Text(code, no_wrap=True)
    syntax = Syntax(code, lexer, theme="ansi_dark", background_color="default")
    text = syntax.highlight(code)
    text.no_wrap = True
    text.rstrip()
    return text


def hex_dump(data: bytes, *, per_line: int = 16, offset: int = 0) -> Text:
    """``offset  hex bytes  |ascii|`` lines, as ``hexdump -C`` prints them."""
    out = Text(no_wrap=True)
    for start in range(0, len(data), per_line):
        chunk = data[start:start + per_line]
        hexes = " ".join(f"{b:02x}" for b in chunk).ljust(per_line * 3 - 1)
        ascii_part = "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in chunk)
        if start:
            out.append("\n")
        out.append(f"{offset + start:08x}  ", style="dim")
        out.append(hexes)
        out.append(f"  |{ascii_part}|", style="dim")
    return out


def _gap(skipped: int, *, at_end: bool = False) -> Text:
    where = "at the end" if at_end else "in the middle"
    return Text(f"\n··· {skipped:,} bytes {where} not read (v opens the whole file in the pager) ···\n",
                style="bold")


def text_or_hex(name: str, preview: FilePreview, *, width: int = 80) -> PreviewContent:
    """The preview of a regular file from its head and tail (see :class:`FilePreview`)."""
    size = byte_size(preview.size)
    label = display_name(name)
    if preview.size == 0:
        return PreviewContent(Text(f"{label} · empty file"), Text("(0 bytes)", style="dim"))
    reach = "whole file"
    if preview.truncated:
        reach = f"first {byte_size(len(preview.head))}"
        reach += f" and last {byte_size(len(preview.tail))}" if preview.tail else " (the end is not read)"
    if looks_binary(preview.head[:4096]):
        per_line = 16 if width >= 78 else 8
        body = hex_dump(preview.head[:HEX_BYTES], per_line=per_line)
        shown = min(len(preview.head), HEX_BYTES)
        if preview.size > shown:
            body.append(f"\n··· binary, {preview.size:,} bytes in all; the first {shown:,} shown ···",
                        style="bold")
        return PreviewContent(Text(f"{label} · binary · {size}"), body)
    lexer = lexer_for(name)
    head_text = _decode_head(preview.head) if preview.truncated else preview.head.decode("utf-8", "replace")
    if not preview.truncated and (lexer == "json" or name.lower().endswith(".json")):
        try:
            document = loads_row(head_text)
        except JsonError:
            pass
        else:
            pretty, dropped = _clip_lines(json.dumps(document, indent=2, ensure_ascii=False), JSON_MAX_LINES)
            body = highlight(visible(pretty), "json")
            if dropped:
                body.append(f"\n··· {dropped:,} more lines ···", style="bold")
            return PreviewContent(Text(f"{label} · JSON, pretty-printed · {size}"), body)
    head, dropped = _clip_lines(visible(head_text), HEAD_LINES)
    body = highlight(head, lexer)
    kind = f"text ({lexer})" if lexer else "text"
    if dropped:
        body.append(f"\n··· {dropped:,} more lines (v opens the whole file in the pager) ···", style="bold")
    if preview.truncated:
        tail, tail_dropped = _clip_lines(visible(_decode_tail(preview.tail)), TAIL_LINES, from_end=True)
        if not tail_dropped and "\n" in tail:
            tail = tail.split("\n", 1)[1]  # the first tail line starts mid-line: show whole lines only
        body.append_text(_gap(preview.size - len(preview.head) - len(preview.tail), at_end=not preview.tail))
        if tail:
            body.append_text(highlight(tail, lexer))
    return PreviewContent(Text(f"{label} · {kind} · {size} · {reach}"), body)


class FilePreviewPane(VerticalScroll):
    """The preview of the selected entry: a title line and a scrollable body."""

    DEFAULT_CSS = """
    FilePreviewPane {
        border-top: solid $primary;
        padding: 0 1;
        background: $surface;
        overflow-x: hidden;
        & > #preview-title {
            text-style: bold; width: 100%; height: 1; text-wrap: nowrap; text-overflow: ellipsis;
        }
        & > #preview-body { width: 100%; }
    }
    """

    def compose(self) -> ComposeResult:
        yield Static("", id="preview-title", markup=False)
        yield Static("", id="preview-body", markup=False)

    def show(self, content: PreviewContent) -> None:
        """Replace the preview and scroll back to its top."""
        self.query_one("#preview-title", Static).update(content.title)
        self.query_one("#preview-body", Static).update(content.body)
        self.scroll_home(animate=False)

    def show_message(self, title: str, message: str = "") -> None:
        """A title and an explanatory line instead of file content."""
        self.show(PreviewContent(Text(title), Text(message, style="italic")))
