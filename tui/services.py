"""``AppServices``: the one typed way from a screen or widget to the app.

A class that needs the app declares ``app = getters.app(ServicesApp)`` (Textual's own idiom): its
``self.app`` is then typed, and checked at run time, as the app below. Nothing reaches the app with
``getattr``, ``Any`` or a ``type: ignore``, and nothing outside :mod:`tui.__main__` imports
:mod:`tui.app` (which imports the screens).

:class:`AppServices` is the contract (what screens may use); :class:`ServicesApp` is the Textual
``App`` that declares it, so ``getters.app`` can check it; :class:`tui.app.MsbApp` implements it.
"""

from __future__ import annotations

from typing import Protocol

from textual.app import App
from textual.reactive import reactive

from backend.local import LocalBackend
from tui.header_state import BackendState, HeaderState


class AppServices(Protocol):
    """What every screen shares: the open home's backend and state, the guard, copy, navigation."""

    @property
    def backend(self) -> LocalBackend:
        """The backend of the home being shown (replaced when the home is switched)."""
        ...

    @property
    def backend_state(self) -> BackendState:
        """Where opening the catalog stands; screens watch it to load once it is READY."""
        ...

    @property
    def header_state(self) -> HeaderState:
        """What the header shows (its ``backend_message`` says why opening failed)."""
        ...

    def guard_write(self, action: str) -> bool:
        """The UI's one read-only guard: True when ``action`` may go ahead, else say why, False."""
        ...

    def copy_to_clipboard_text(self, text: str, what: str) -> None:
        """Copy ``text`` (OSC 52, size-guarded) and say what was copied."""
        ...

    def show_volume(self, name: str) -> None:
        """Switch to the volume browser with volume ``name`` selected."""
        ...

    def retry_open(self) -> None:
        """Try opening the catalog again (after an error)."""
        ...

    def report_first_frame(self) -> None:
        """A screen drew its first frame with data (for the startup benchmark)."""
        ...


class ServicesApp(App[None]):
    """The app as screens see it: :class:`AppServices` on a Textual ``App``.

    The shared state lives here as reactives (so screens and the header can watch it); the services
    are implemented by :class:`tui.app.MsbApp`.
    """

    #: The current mode (mirrors ``App.current_mode`` so the header can watch it).
    active_mode: reactive[str] = reactive("")
    #: What the header shows.
    header_state: reactive[HeaderState] = reactive(HeaderState(home=""), always_update=True)
    #: Where opening the catalog stands; screens watch this to load once it is READY.
    backend_state: reactive[BackendState] = reactive(BackendState.LOADING)

    #: The backend of the home being shown.
    backend: LocalBackend
    #: Whether the app ends after the first frame with data (``MSB_TUI_EXIT_AFTER_FIRST_FRAME``).
    exit_after_first_frame: bool = False

    def guard_write(self, action: str) -> bool:
        """See :meth:`AppServices.guard_write`."""
        raise NotImplementedError

    def copy_to_clipboard_text(self, text: str, what: str) -> None:
        """See :meth:`AppServices.copy_to_clipboard_text`."""
        raise NotImplementedError

    def show_volume(self, name: str) -> None:
        """See :meth:`AppServices.show_volume`."""
        raise NotImplementedError

    def retry_open(self) -> None:
        """See :meth:`AppServices.retry_open`."""
        raise NotImplementedError

    def report_first_frame(self) -> None:
        """See :meth:`AppServices.report_first_frame`."""
        raise NotImplementedError


def _implements(app: ServicesApp) -> AppServices:
    return app  # mypy checks here that ServicesApp (and so MsbApp) fits the protocol
