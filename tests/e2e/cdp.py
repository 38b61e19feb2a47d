"""A small Chrome DevTools Protocol driver for headless Chromium, on aiohttp (a textual-serve dependency).

It does just what the browser tests need: start Chromium in its own process group, open one page, read
what textual-serve's xterm.js terminal has drawn, and type keys as a user would.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")

#: Installed before any page script runs: remembers every xterm.js ``Terminal`` the page creates.
#: textual-serve keeps its terminal in a closure; the public ``Terminal`` is recognised by the ``_core``
#: it assigns in its constructor (the same field xterm's own addons use) and its ``loadAddon`` method.
CAPTURE_TERMINALS = r"""
(() => {
  window.__msbTerminals = [];
  Object.defineProperty(Object.prototype, '_core', {
    configurable: true,
    get() { return undefined; },
    set(value) {
      Object.defineProperty(this, '_core', {value, writable: true, configurable: true, enumerable: true});
      if (typeof this.loadAddon === 'function') window.__msbTerminals.push(this);
    },
  });
})();
"""

#: The terminal's visible rows as text (trailing blanks trimmed), or null before the terminal exists.
READ_SCREEN = r"""
(() => {
  const term = window.__msbTerminals && window.__msbTerminals[0];
  if (!term) return null;
  const buffer = term.buffer.active;
  const rows = [];
  for (let y = 0; y < term.rows; y++) {
    const line = buffer.getLine(buffer.viewportY + y);
    rows.push(line ? line.translateToString(true) : '');
  }
  return rows.join('\n');
})()
"""

#: Special keys: DOM key name -> (code, Windows virtual key code, text sent).
_SPECIAL_KEYS = {
    "Enter": ("Enter", 13, "\r"),
    "Escape": ("Escape", 27, ""),
    "Tab": ("Tab", 9, "\t"),
    "Backspace": ("Backspace", 8, ""),
}


def find_chromium() -> str | None:
    """The Chromium binary to drive, or None when it is not installed."""
    for candidate in CHROMIUM_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def chromium_command(binary: str, profile: Path, *, width: int, height: int) -> list[str]:
    """Flags for a quiet, offline, throwaway headless Chromium with a DevTools port chosen by Chromium."""
    return [
        binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-default-browser-check", "--no-proxy-server", "--mute-audio",
        # Containers often have a tiny /dev/shm; Chromium then crashes unless it uses /tmp.
        "--disable-dev-shm-usage",
        # Only loopback resolves: the page's Google Fonts link fails at once instead of waiting on DNS.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
        f"--user-data-dir={profile}", f"--window-size={width},{height}",
        "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "about:blank",
    ]


def kill_group(process: subprocess.Popen[bytes], timeout: float = 5.0) -> None:
    """Stop ``process`` and everything in its process group (it was started in a new session)."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    # Children (renderers, served apps) may outlive the leader; the group id is still the leader's pid.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout)


class CdpError(RuntimeError):
    """Chromium answered a DevTools call with an error."""


@dataclass
class Page:
    """One page target, driven over its DevTools websocket."""

    ws: aiohttp.ClientWebSocketResponse
    _ids: itertools.count[int]

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one DevTools command and return its result (events in between are dropped)."""
        call_id = next(self._ids)
        await self.ws.send_json({"id": call_id, "method": method, "params": params})
        async for message in self.ws:
            if message.type is not aiohttp.WSMsgType.TEXT:
                raise CdpError(f"DevTools connection closed during {method}: {message.type!r}")
            data = json.loads(message.data)
            if data.get("id") != call_id:
                continue
            if "error" in data:
                raise CdpError(f"{method}: {data['error']}")
            result: dict[str, Any] = data.get("result", {})
            return result
        raise CdpError(f"DevTools connection closed during {method}")

    async def evaluate(self, expression: str) -> Any:
        """Evaluate JavaScript in the page and return its value."""
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise CdpError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def open_terminal_page(self, url: str) -> None:
        """Load ``url`` with :data:`CAPTURE_TERMINALS` installed first (needs the Page domain enabled)."""
        await self.call("Page.enable")
        await self.call("Page.addScriptToEvaluateOnNewDocument", source=CAPTURE_TERMINALS)
        await self.call("Page.navigate", url=url)

    async def screen_text(self) -> str | None:
        """What the terminal shows now, one line per row; None before the terminal exists."""
        value = await self.evaluate(READ_SCREEN)
        return value if isinstance(value, str) else None

    async def wait_for_text(self, predicate: Any, timeout: float, what: str) -> str:
        """Poll the terminal until ``predicate(text)`` holds; fail with the last screen after ``timeout``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        text: str | None = None
        while True:
            text = await self.screen_text()
            if text is not None and predicate(text):
                return text
            if loop.time() > deadline:
                raise AssertionError(f"timed out after {timeout:g} s waiting for {what}; the page shows:\n{text}")
            await asyncio.sleep(0.1)

    async def press(self, key: str) -> None:
        """Press and release one key: a printable character or a name from ``_SPECIAL_KEYS``."""
        if key in _SPECIAL_KEYS:
            code, vk, text = _SPECIAL_KEYS[key]
            down: dict[str, Any] = {"key": key, "code": code, "windowsVirtualKeyCode": vk}
            if text:
                down["text"] = text
            await self.call("Input.dispatchKeyEvent", type="keyDown", **down)
            await self.call("Input.dispatchKeyEvent", type="keyUp", key=key, code=code, windowsVirtualKeyCode=vk)
            return
        if len(key) != 1:
            raise ValueError(f"unknown key {key!r}")
        await self.call("Input.dispatchKeyEvent", type="keyDown", key=key, text=key, unmodifiedText=key)
        await self.call("Input.dispatchKeyEvent", type="keyUp", key=key)

    async def type_text(self, text: str) -> None:
        """Type ``text`` one character at a time."""
        for char in text:
            await self.press(char)


@contextlib.asynccontextmanager
async def chromium_page(binary: str, *, width: int = 1100, height: int = 760,
                        start_timeout: float = 15.0) -> AsyncIterator[Page]:
    """Start headless Chromium with a fresh profile, yield its first page; always kill it afterwards."""
    profile = Path(tempfile.mkdtemp(prefix="msb-tui-chromium-"))
    log_path = profile.parent / f"{profile.name}.log"
    process: subprocess.Popen[bytes] | None = None
    try:
        with log_path.open("wb") as log:
            process = await asyncio.to_thread(
                subprocess.Popen,
                chromium_command(binary, profile, width=width, height=height),
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        port_file = profile / "DevToolsActivePort"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + start_timeout
        while not (port_file.exists() and len(port_file.read_text().split()) >= 2):
            if process.poll() is not None or loop.time() > deadline:
                output = log_path.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"Chromium did not open its DevTools port (exit {process.poll()}):\n{output}")
            await asyncio.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/json/list") as response:
                targets = await response.json()
            target = next(t for t in targets if t.get("type") == "page")
            async with session.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                yield Page(ws, itertools.count(1))
    finally:
        if process is not None:
            kill_group(process)
        shutil.rmtree(profile, ignore_errors=True)
        log_path.unlink(missing_ok=True)
