"""Messages of the config editor: to the rest of the app (``ConfigFileChanged``, so the app imports
no editor) and from its own workers to the screen."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:  # the app imports this module at start; the editor's backend loads with the editor
    from backend.config.changes import SavedConfig
    from backend.config.file import ConfigFile


@dataclass
class ConfigFileChanged(Message):
    """Posted (it bubbles to the app) after config.json was written, so others can re-read it."""

    path: Path


@dataclass
class ConfigLoaded(Message):
    """The load worker read config.json."""

    file: ConfigFile


@dataclass
class ConfigSaved(Message):
    """A save (or an undo, with ``undone``) reached the disk."""

    file: ConfigFile
    saved: SavedConfig | None
    undone: bool = False
