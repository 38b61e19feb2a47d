"""Clipboard: the escape sequences that reach the terminal (plain, tmux, screen), the size guard, and
the notice of what was copied. The plan itself is unit-tested in test_widgets.py."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from tests.tui.support import make_app, settle
from tui import clipboard
from tui.app import MsbApp

ESC = "\x1b"


def capture_writes(app: MsbApp, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every OSC 52 carrying string the app writes to the terminal from now on."""
    written: list[str] = []
    driver: Any = app._driver
    original = driver.write

    def write(data: str) -> None:
        if "52;c;" in data:
            written.append(data)
        original(data)

    monkeypatch.setattr(driver, "write", write)
    return written


def notices(app: MsbApp) -> list[tuple[str, str]]:
    return [(n.message, n.severity) for n in app._notifications]


def decoded(sequence: str) -> str:
    start = sequence.index("52;c;") + len("52;c;")
    end = sequence.index("\x07", start)
    return base64.b64decode(sequence[start:end]).decode()


async def test_copy_writes_one_osc52_and_says_what_was_copied(demo_home: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app(demo_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        written = capture_writes(app, monkeypatch)
        app.copy_to_clipboard_text("api-server ✓", "the name")
        await pilot.pause()
        assert written == [clipboard.osc52("api-server ✓")] and decoded(written[0]) == "api-server ✓"
        assert app.clipboard == "api-server ✓"
        assert ("Copied the name (14 bytes)", "information") in notices(app)


async def test_inside_tmux_the_copy_is_also_sent_through_passthrough(demo_home: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMUX", "/tmp/tmux-1000/default,4242,0")
    app = make_app(demo_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        written = capture_writes(app, monkeypatch)
        app.copy_to_clipboard_text("/srv/data", "the host path")
        await pilot.pause()
        bare, wrapped = written
        assert bare == clipboard.osc52("/srv/data")
        # tmux's DCS passthrough: the inner ESC doubled, ended by ST.
        assert wrapped == f"{ESC}Ptmux;{ESC}{ESC}]52;c;L3Nydi9kYXRh\x07{ESC}\\"
        assert decoded(wrapped) == "/srv/data"


async def test_inside_screen_textual_copies_go_through_dcs_chunks(demo_home: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STY", "1234.pts-0.host")
    app = make_app(demo_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        written = capture_writes(app, monkeypatch)
        text = "selected text " * 20
        app.copy_to_clipboard(text)  # Textual's own path (text selection, inputs)
        await pilot.pause()
        (sequence,) = written
        chunks = sequence.split(f"{ESC}\\")
        assert chunks[-1] == "" and all(chunk.startswith(f"{ESC}P") for chunk in chunks[:-1])
        assert "".join(chunk[2:] for chunk in chunks[:-1]) == clipboard.osc52(text)
        assert app.clipboard == text


async def test_too_large_a_copy_is_refused_with_a_notice(demo_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app(demo_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        written = capture_writes(app, monkeypatch)
        app.copy_to_clipboard_text("small", "a name")
        huge = "x" * (clipboard.MAX_COPY_BYTES + 1)
        app.copy_to_clipboard_text(huge, "the JSON")
        app.copy_to_clipboard(huge)
        await pilot.pause()
        assert [decoded(s) for s in written] == ["small"], "nothing oversized reaches the terminal"
        assert app.clipboard == "small", "the app's own clipboard keeps the last text really copied"
        warnings = [message for message, severity in notices(app) if severity == "warning"]
        assert len(warnings) == 2 and all("not copied" in w and "74,000" in w for w in warnings)


def test_the_size_guard_is_exact_at_the_limit() -> None:
    at_limit = "é" * (clipboard.MAX_COPY_BYTES // 2)  # two bytes each in UTF-8
    plan = clipboard.plan_copy(at_limit, env={})
    assert plan.ok and plan.size == clipboard.MAX_COPY_BYTES
    assert not clipboard.plan_copy(at_limit + "x", env={}).ok


def test_screen_chunks_never_exceed_what_screen_keeps() -> None:
    for length in (0, 1, 75, 76, 77, 500):
        (sequence,) = clipboard.plan_copy("y" * length, env={"STY": "1.pts-0.host"}).sequences
        chunks = sequence.split(f"{ESC}\\")[:-1]
        assert all(len(chunk) - 2 <= 76 for chunk in chunks)
        assert "".join(chunk[2:] for chunk in chunks) == clipboard.osc52("y" * length)


def test_tmux_wins_over_an_inherited_screen_variable() -> None:
    # tmux started inside screen inherits STY; the app's terminal is then tmux's.
    plan = clipboard.plan_copy("z", env={"TMUX": "/tmp/t,1,0", "STY": "1.pts-0.host"})
    assert plan.sequences[1].startswith(f"{ESC}Ptmux;")
