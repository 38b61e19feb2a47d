"""Copy text to the operator's clipboard with OSC 52, which travels over SSH.

Textual's own ``App.copy_to_clipboard`` sends one bare OSC 52 sequence. Inside tmux or GNU screen that
sequence stops at the multiplexer, so here it is also wrapped in the multiplexer's passthrough form,
and text too large for terminals to accept is refused up front with a clear message.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from dataclasses import dataclass

#: Largest text copied. Its base64 form (~100 kB) is below what xterm, kitty, iTerm2 and tmux accept.
MAX_COPY_BYTES = 74_000

#: GNU screen truncates DCS strings longer than this, so long payloads are split.
_SCREEN_CHUNK = 76

ESC = "\x1b"
BEL = "\x07"
ST = ESC + "\\"


@dataclass(frozen=True)
class CopyPlan:
    """What to write to the terminal for one copy, or why nothing will be written."""

    sequences: tuple[str, ...]
    size: int
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the text can be copied."""
        return self.error is None


def osc52(text: str) -> str:
    """The bare OSC 52 sequence that sets the system clipboard to ``text``."""
    payload = base64.b64encode(text.encode("utf-8")).decode("ascii")
    return f"{ESC}]52;c;{payload}{BEL}"


def tmux_wrap(sequence: str) -> str:
    """``sequence`` in tmux's DCS passthrough (needs ``allow-passthrough on`` in tmux 3.3+)."""
    return f"{ESC}Ptmux;{sequence.replace(ESC, ESC + ESC)}{ST}"


def screen_wrap(sequence: str) -> str:
    """``sequence`` in GNU screen's DCS passthrough, split into chunks screen does not truncate."""
    chunks = [sequence[i:i + _SCREEN_CHUNK] for i in range(0, len(sequence), _SCREEN_CHUNK)]
    return "".join(f"{ESC}P{chunk}{ST}" for chunk in chunks)


def plan_copy(text: str, env: Mapping[str, str] | None = None) -> CopyPlan:
    """Decide what to send for ``text`` given the environment (``TMUX``, ``STY``).

    In tmux both the bare sequence (used when ``set-clipboard on``) and the passthrough form (used
    with ``allow-passthrough on``) are sent, since either setting may be the one in effect.
    """
    environ = os.environ if env is None else env
    size = len(text.encode("utf-8"))
    if size > MAX_COPY_BYTES:
        return CopyPlan(
            (),
            size,
            f"not copied: {size:,} bytes is more than the {MAX_COPY_BYTES:,} bytes terminals accept "
            "over OSC 52",
        )
    bare = osc52(text)
    if environ.get("TMUX"):
        return CopyPlan((bare, tmux_wrap(bare)), size)
    if environ.get("STY"):
        return CopyPlan((screen_wrap(bare),), size)
    return CopyPlan((bare,), size)
