"""``ModeScreen``: what the three top-level screens share: the typed app, and the catalog's state.

The app opens the home's catalog in a worker and publishes where that stands in
``app.backend_state``. A mode screen calls :meth:`ModeScreen.follow_backend_state` when it mounts;
from then on every state reaches :meth:`ModeScreen.backend_state_changed`, which by default calls
:meth:`~ModeScreen.backend_ready` or :meth:`~ModeScreen.backend_not_ready` with the line to show.
"""

from __future__ import annotations

from pathlib import Path

from textual import getters
from textual.screen import Screen

from backend.errors import BackendError
from backend.local import LocalBackend
from tui.header_state import BackendState
from tui.services import ServicesApp

BUSY_TEXT = "The database is busy (another process holds its lock); retrying…"
LOADING_TEXT = "Opening the catalog…"


class ModeScreen(Screen[None]):
    """A top-level screen (one mode of the app) that loads from the home once its catalog is open."""

    app = getters.app(ServicesApp)

    @property
    def backend(self) -> LocalBackend:
        """The backend of the home being shown."""
        return self.app.backend

    def home_or_none(self) -> Path | None:
        """The home folder, or None when the config cannot say (shown as unknown, never a crash)."""
        try:
            return self.backend.home()
        except (OSError, BackendError):
            return None

    @property
    def backend_ready(self) -> bool:
        """True once the catalog is open."""
        return self.app.backend_state is BackendState.READY

    def follow_backend_state(self, *, init: bool = True) -> None:
        """Hear every change of the catalog's state (and, with ``init``, the current one now)."""
        self.watch(self.app, "backend_state", self.backend_state_changed, init=init)

    def backend_state_changed(self, state: BackendState) -> None:
        """The catalog's state changed: READY loads, the others say what is going on."""
        if state is BackendState.READY:
            self.backend_loaded()
        else:
            self.backend_not_ready(state, self.not_ready_text(state))

    def not_ready_text(self, state: BackendState) -> str:
        """The line a screen shows instead of its data while the catalog is not open."""
        if state is BackendState.BUSY:
            return BUSY_TEXT
        if state is BackendState.ERROR:
            return f"✖ Cannot open this home: {self.app.header_state.backend_message}  (fix it, then press r)"
        return LOADING_TEXT

    def backend_loaded(self) -> None:
        """The catalog is open: load (again)."""

    def backend_not_ready(self, state: BackendState, text: str) -> None:
        """The catalog is opening, busy or failed; ``text`` says so."""

    def retry_if_failed(self) -> bool:
        """After a failed open, try again and return True (``r`` on a broken home); else False."""
        if self.app.backend_state is BackendState.ERROR:
            self.app.retry_open()
            return True
        return False
