"""Shared pieces of the config editor's Pilot tests: a sample file, starting the app, finding rows."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from textual.app import App
from textual.pilot import Pilot
from textual.screen import ModalScreen, Screen
from textual.widgets import Input
from textual.worker import WorkerState

from backend import LocalBackend
from tui.app import MsbApp
from tui.screens.config.field import ConfigFieldRow, field_dom_id
from tui.screens.config.screen import ConfigEditorScreen

#: A file with keys microsandbox does not know, in an order the model would not choose.
SAMPLE = """{
  "active_profile": "dev",
  "sandbox_defaults": {
    "memory_mib": 1024,
    "oci": {
      "upper_size_mib": 2048
    }
  },
  "x-custom": {
    "keep": true
  },
  "registries": {
    "hosts": {
      "ghcr.io": {
        "auth": {
          "username": "octo",
          "store": "keyring",
          "password_env": null,
          "secret_name": null
        }
      },
      "localhost:5000": {
        "auth": null,
        "insecure": true
      }
    }
  },
  "profiles": {
    "dev": {
      "backend": "local"
    }
  }
}
"""


def make_app(*, read_only: bool = False) -> MsbApp:
    """The real app, started on the config editor, for the home in ``MSB_HOME``."""
    return MsbApp(LocalBackend.lazy(read_only=read_only), read_only=read_only, initial_screen="config",
                  display_home="test home")


async def settle(pilot: Pilot[Any]) -> None:
    """Let workers finish (or stop at a dialog they wait on) and the screen handle their messages."""
    app = pilot.app
    for _ in range(500):
        await pilot.pause()
        busy = [w for w in app.workers if w.state in (WorkerState.PENDING, WorkerState.RUNNING)]
        if not busy or isinstance(app.screen, ModalScreen):
            break
        await asyncio.sleep(0.01)
    await pilot.pause()


async def editor(pilot: Pilot[Any]) -> ConfigEditorScreen:
    """The config editor once it has loaded the file."""
    await settle(pilot)
    screen = pilot.app.screen_stack[0] if pilot.app.screen_stack else pilot.app.screen
    assert isinstance(screen, ConfigEditorScreen)
    for _ in range(50):
        if screen.view != "loading":
            break
        await pilot.pause(0.02)
    return screen


def row(screen: ConfigEditorScreen, *path: str) -> ConfigFieldRow:
    """The form row of ``path``."""
    return screen.query_one(f"#{field_dom_id(path)}", ConfigFieldRow)


async def type_into(pilot: Pilot[Any], screen: ConfigEditorScreen, path: tuple[str, ...], text: str) -> None:
    """Show the field's tab, clear its input and type ``text`` key by key."""
    form = screen.query_one("#cfg-form")
    form.show_path(path)  # type: ignore[attr-defined]
    await pilot.pause()
    field = row(screen, *path).editor
    assert isinstance(field, Input)
    field.focus()
    field.value = ""
    await pilot.pause()
    await pilot.press(*text)
    await settle(pilot)


def read_json(path: Path) -> Any:
    """The parsed file."""
    return json.loads(path.read_text())


def view_of(screen: ConfigEditorScreen) -> str:
    """The screen's current view (read through a call, so checks after an action are not narrowed)."""
    return screen.view


def top(app: App[Any]) -> Screen[Any]:
    """The screen on top of the app's stack."""
    return app.screen
