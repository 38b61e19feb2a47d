"""The homes the app can show (``--home`` given more than once) and how each one's backend is built.

Each home gets its own :class:`~backend.LocalBackend` (its own config, catalog engines and paths), so
switching homes closes one backend and builds a fresh one: nothing is shared between homes.

``MSB_CONFIG_PATH`` names one config file, so it applies to the first home only (the one opened as
microsandbox would open it with ``MSB_HOME`` set to it); every other home reads its own
``<home>/config.json``. The homes reach the backends as arguments, never through ``os.environ``.
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
    With ``environment``, ``path`` is opened the way microsandbox opens ``MSB_HOME=path``: the config
    file's ``home`` key counts and ``MSB_CONFIG_PATH`` (or ``config_file``) names the file. Without it,
    ``path`` is the home and ``path/config.json`` its config, whatever the environment says.
    """

    path: Path | None
    read_only: bool = False
    label: str | None = None
    environment: bool = False
    config_file: Path | None = None

    def display(self) -> str:
        """The name shown for this home."""
        if self.label:
            return self.label
        return str(self.path) if self.path is not None else "~/.microsandbox (MSB_HOME)"

    def build_backend(self) -> LocalBackend:
        """A lazy backend on this home (reads config.json; connects nothing yet)."""
        if self.path is None or self.environment:
            return LocalBackend.lazy(read_only=self.read_only, home=self.path, config_file=self.config_file)
        builder = LocalBackend.builder().home(self.path).config_file(self.path / "config.json")
        if self.read_only:
            builder.read_only()
        return builder.build_lazy()
