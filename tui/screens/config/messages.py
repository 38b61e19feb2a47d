"""Messages the config editor sends to the rest of the app (kept apart so the app imports no editor)."""

from __future__ import annotations

from pathlib import Path

from textual.message import Message


class ConfigFileChanged(Message):
    """Posted (it bubbles to the app) after config.json was written, so others can re-read it."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
