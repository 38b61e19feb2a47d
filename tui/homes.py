"""The homes the app can show (``--home`` given more than once) and how each one's backend is built.

Each home gets its own :class:`~backend.LocalBackend` (its own config, catalog engines and paths), so
switching homes closes one backend and builds a fresh one: nothing is shared between homes.

``MSB_CONFIG_PATH`` names one config file, so it applies to the first home only (the one whose path
is also put in ``MSB_HOME``); every other home reads its own ``<home>/config.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from backend import LocalBackend


@dataclass(frozen=True)
class HomeChoice:
    """One home offered by the switcher.

    ``path`` None means the environment's home (``MSB_HOME`` / ``MSB_CONFIG_PATH``, else
    ``~/.microsandbox``); ``label`` is what the header and the switcher show instead of the path.
    """

    path: Path | None
    read_only: bool = False
    label: str | None = None

    def display(self) -> str:
        """The name shown for this home."""
        if self.label:
            return self.label
        return str(self.path) if self.path is not None else "~/.microsandbox (MSB_HOME)"

    def build_backend(self) -> LocalBackend:
        """A lazy backend on this home (reads config.json; connects nothing yet)."""
        if self.path is None:
            return LocalBackend.lazy(read_only=self.read_only)
        builder = LocalBackend.builder().home(self.path).config_file(self.path / "config.json")
        if self.read_only:
            builder.read_only()
        return builder.build_lazy()
