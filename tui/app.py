"""``MsbApp``: the shell around the three screens (sandboxes, volumes, config).

The app owns the backend of the home being shown. It opens it lazily in a worker (retrying while the
database is busy), keeps the header state, and offers the services every screen shares
(:class:`tui.services.AppServices`): :meth:`MsbApp.guard_write` (the UI's one read-only guard),
:meth:`MsbApp.copy_to_clipboard_text` and :meth:`~tui.navigation.NavigationApp.show_volume`.
Its layers, each in its own module: :mod:`tui.navigation` (modes and the leave protocol),
:mod:`tui.home_switching` (several homes) and :mod:`tui.commands` (help and the palette's provider).
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.command import Provider
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer

from backend import LocalBackend
from backend.errors import BackendError, DatabaseBusyError, ReadOnlyError
from tui import clipboard
from tui.commands import ShellCommands, help_modal
from tui.format import printable
from tui.header_state import BackendState, HeaderState, schema_label
from tui.home_switching import HomeSwitchingApp
from tui.homes import HomeChoice
from tui.screens.config.messages import ConfigFileChanged
from tui.widgets.app_header import AppHeader

#: When set in the environment, the app prints :data:`FIRST_FRAME_MARKER` on stdout and exits as soon
#: as the sandbox list has drawn its first frame with data (used by ``bench/bench_startup.py``).
EXIT_AFTER_FIRST_FRAME_ENV = "MSB_TUI_EXIT_AFTER_FIRST_FRAME"
FIRST_FRAME_MARKER = "MSB_TUI_FIRST_FRAME"

DEFAULT_THEME = "ansi-dark"
#: First wait before retrying a busy catalog; doubles up to BUSY_MAX_DELAY.
BUSY_FIRST_DELAY = 0.5
BUSY_MAX_DELAY = 8.0
#: How often the app looks whether the catalog changed under it (ledger, install lease, downgrade).
HOME_RECHECK_SECS = 2.0


def _sandbox_list_screen() -> Screen[Any]:
    from tui.screens.sandboxes.screen import SandboxListScreen

    return SandboxListScreen()


def _volume_browser_screen() -> Screen[Any]:
    from tui.screens.volumes.screen import VolumeBrowserScreen

    return VolumeBrowserScreen()


def _config_editor_screen() -> Screen[Any]:
    from tui.screens.config.screen import ConfigEditorScreen

    return ConfigEditorScreen()


class BackendStatusChanged(Message):
    """Posted by the open worker: the catalog's state changed (of ``backend``, when given: news about
    a backend the app has since switched away from is ignored)."""

    def __init__(self, state: BackendState, message: str = "", backend: LocalBackend | None = None,
                 summary: str = "") -> None:
        super().__init__()
        self.state = state
        self.message = message
        self.summary = summary
        self.backend = backend


class MsbApp(HomeSwitchingApp):
    """The msb-tui application: one home at a time (of those given), three screens (modes), shared
    services."""

    TITLE = "msb-tui"
    CSS_PATH = Path(__file__).with_name("app.tcss")
    MODES: ClassVar[dict[str, str | Callable[[], Screen[Any]]]] = {
        "sandboxes": _sandbox_list_screen,
        "volumes": _volume_browser_screen,
        "config": _config_editor_screen,
    }
    COMMANDS: ClassVar[set[type[Provider] | Callable[[], type[Provider]]]] = App.COMMANDS | {ShellCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "goto('sandboxes')", "Sandboxes", show=False, id="app.sandboxes",
                tooltip="Show the sandbox list"),
        Binding("2", "goto('volumes')", "Volumes", show=False, id="app.volumes",
                tooltip="Show the volume browser"),
        Binding("3", "goto('config')", "Config", show=False, id="app.config",
                tooltip="Show the config editor"),
        Binding("h", "switch_home", "Switch home", show=False, id="app.switch_home",
                tooltip="Choose another of the homes given with --home"),
        Binding("question_mark,f1", "help", "Help", id="app.help", tooltip="Keys and help for this screen"),
        Binding("q", "quit", "Quit", id="app.quit", tooltip="Quit (asks first if there are unsaved edits)"),
        Binding("ctrl+q", "quit", "Quit (also from text boxes)", show=False, priority=True, id="app.quit_ctrl_q"),
    ]

    def __init__(
        self,
        backend: LocalBackend | None = None,
        *,
        read_only: bool = False,
        demo: bool = False,
        initial_screen: str = "sandboxes",
        display_home: str | None = None,
        homes: Sequence[HomeChoice] | None = None,
    ) -> None:
        """``homes``: every home the switcher offers; the first is opened (with ``backend`` when
        given, else built from it). Without ``homes`` there is one: the environment's home."""
        if initial_screen not in self.MODES:
            raise ValueError(f"unknown screen {initial_screen!r}: choose one of {', '.join(self.MODES)}")
        # App.__init__ builds the first mode's stack from DEFAULT_MODE.
        self.DEFAULT_MODE = initial_screen  # type: ignore[misc]
        super().__init__()
        self.theme = DEFAULT_THEME
        self.homes: list[HomeChoice] = (
            list(homes) if homes else [HomeChoice(None, read_only=read_only, label=display_home)])
        #: The index in :attr:`homes` of the home being shown.
        self.home_index = 0
        self._switching_home = False
        if backend is None:
            backend = self.homes[0].build_backend() if homes else LocalBackend.lazy(read_only=read_only)
        self.backend: LocalBackend = backend
        self.demo = demo
        self._display_home = display_home or self.homes[0].label
        self.exit_after_first_frame = bool(os.environ.get(EXIT_AFTER_FIRST_FRAME_ENV))
        self._first_frame_reported = False
        self._watched_backend: LocalBackend | None = None
        self.set_reactive(MsbApp.active_mode, initial_screen)
        self.set_reactive(MsbApp.header_state, HeaderState(
            home=self._display_home or "…", home_position=self._home_position(), demo=demo,
            read_only=read_only or self.backend.read_only,
        ))

    # -- lifecycle ------------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.screen_change_signal.subscribe(self, self._ensure_chrome)
        self._ensure_chrome(self.screen)
        self._exit_on_hangup()
        self.open_backend()
        self.set_interval(HOME_RECHECK_SECS, self._recheck_home)

    def _exit_on_hangup(self) -> None:
        """A lost terminal (SIGHUP) or a kill (SIGTERM) ends the session as quitting does, without the
        questions: screens unmount, workers stop and the catalog is closed (its WAL checkpointed),
        instead of the process dying wherever it was."""
        if self.is_headless:  # Pilot tests and the startup benchmark own their process's signals
            return
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGHUP, signal.SIGTERM):
            try:
                loop.add_signal_handler(signum, partial(self.exit, None, 128 + signum))
            except (NotImplementedError, RuntimeError, ValueError):  # no such signal, or not the main thread
                pass

    async def on_unmount(self) -> None:
        # Textual cancels workers on exit; the backend calls they started still finish, and closing
        # waits for them before it disposes the engines (see backend.db.inflight).
        await self.backend.close()

    @work(exclusive=True, group="backend-open", exit_on_error=False)
    async def open_backend(self) -> None:
        """Open (and migrate) the catalog; while the database is busy, say so and retry."""
        backend = self.backend
        status = partial(BackendStatusChanged, backend=backend)
        delay = BUSY_FIRST_DELAY
        while True:
            self.post_message(status(BackendState.LOADING))
            try:
                await backend.db()
            except DatabaseBusyError as exc:
                self.post_message(status(
                    BackendState.BUSY, f"database busy, retrying in {delay:g} s ({exc.message})"))
                await asyncio.sleep(delay)
                delay = min(delay * 2, BUSY_MAX_DELAY)
                continue
            except BackendError as exc:
                self.post_message(status(BackendState.ERROR, exc.message, summary=exc.summary))
                return
            except OSError as exc:
                self.post_message(status(BackendState.ERROR, f"cannot open the home: {exc}",
                                         summary=f"cannot open the home: {exc.strerror or exc}"))
                return
            if backend is not self._watched_backend:
                backend.on_write_block_change(partial(self._post_ready, backend))
                self._watched_backend = backend
            self.post_message(status(BackendState.READY))
            return

    def _post_ready(self, backend: LocalBackend) -> None:
        self.post_message(BackendStatusChanged(BackendState.READY, backend=backend))

    @work(exclusive=True, group="home-recheck", exit_on_error=False)
    async def _recheck_home(self) -> None:
        """A refresh tick: has the catalog changed under us (a newer microsandbox migrated it, an
        install began)? A change is posted by the backend's block listener (see :meth:`open_backend`)."""
        if self.backend_state is not BackendState.READY:
            return
        try:
            await self.backend.recheck()
        except BackendError:
            pass  # a busy or broken catalog: the screens' own reads report it

    @on(BackendStatusChanged)
    def _backend_status_changed(self, event: BackendStatusChanged) -> None:
        backend = self.backend
        if event.backend is not None and event.backend is not backend:
            return  # about the home that was just left
        state = self.header_state
        home = self._display_home
        schema = schema_detail = config_error = config_summary = ""
        if event.state in (BackendState.READY, BackendState.ERROR):
            try:
                home = home or str(backend.home())
                error = backend.config_error
                config_error = error.message if error is not None else ""
                config_summary = error.summary if error is not None else ""
            except OSError as exc:
                config_error = str(exc)
        if event.state is BackendState.READY:
            schema = schema_label(backend.schema_status)
            schema_detail = backend.schema_status.message
        self.header_state = replace(
            state,
            home=home or state.home,
            read_only=backend.read_only,
            backend_state=event.state,
            backend_message=event.message,
            backend_summary=event.summary,
            schema=schema,
            schema_detail=schema_detail,
            config_error=config_error,
            config_summary=config_summary,
        )
        self.backend_state = event.state

    @on(ConfigFileChanged)
    def _config_file_changed(self, _event: ConfigFileChanged) -> None:
        """config.json was saved here: re-read it so the header drops (or shows) a config error."""
        try:
            error = self.backend.config_error if self.backend.reload_config() is not None else None
        except OSError as exc:
            self.header_state = replace(self.header_state, config_error=str(exc), config_summary="")
            return
        self.header_state = replace(self.header_state, config_error=error.message if error else "",
                                    config_summary=error.summary if error else "")

    def retry_open(self) -> None:
        """Open the catalog (again): after an error, or for a home just switched to."""
        self.open_backend()

    def action_retry_open(self) -> None:
        """Try opening the catalog again (after an error)."""
        self.retry_open()

    def _ensure_chrome(self, screen: Screen[Any]) -> None:
        """Give a mode screen the shared header and footer if it did not compose its own."""
        if isinstance(screen, ModalScreen) or screen.id == "_default":
            return
        if not screen.query(AppHeader):
            screen.mount(AppHeader())
        if not screen.query(Footer):
            screen.mount(Footer())

    # -- shared services ------------------------------------------------------------------------

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Every toast of every screen: messages quote names, paths and errors from files and rows, so
        their control characters are made visible before they reach the terminal, and they are not
        read as markup unless a caller asks."""
        super().notify(printable(message), title=printable(title), severity=severity, timeout=timeout,
                       markup=markup)

    def guard_write(self, action: str) -> bool:
        """The UI's one read-only guard: True when ``action`` may go ahead, else notify and False."""
        try:
            self.backend.ensure_writable(action)
        except ReadOnlyError as exc:
            self.notify(exc.message, title="Read-only", severity="warning")
            return False
        return True

    def copy_to_clipboard_text(self, text: str, what: str) -> None:
        """Copy ``text`` over OSC 52 (tmux/screen aware, size-guarded) and say what was copied."""
        plan = clipboard.plan_copy(text)
        if not plan.ok:
            self.notify(plan.error or "not copied", title="Copy", severity="warning")
            return
        self._clipboard = text
        self._write_sequences(plan.sequences)
        self.notify(f"Copied {what} ({plan.size:,} bytes)", title="Copy", timeout=3)

    def copy_to_clipboard(self, text: str) -> None:
        """Textual's own copy (text selection, inputs), made tmux/screen aware and size-guarded."""
        plan = clipboard.plan_copy(text)
        if not plan.ok:
            self.notify(plan.error or "not copied", title="Copy", severity="warning")
            return
        self._clipboard = text
        self._write_sequences(plan.sequences)

    def _write_sequences(self, sequences: Iterable[str]) -> None:
        # Textual offers no public raw-write API; its own copy_to_clipboard writes to the driver too.
        driver = self._driver
        if driver is None:
            return
        for sequence in sequences:
            driver.write(sequence)

    def report_first_frame(self) -> None:
        """Called by a screen once it has drawn data (:func:`tui.first_frame.first_data_shown`); used by
        the startup benchmark."""
        if self._first_frame_reported or not self.exit_after_first_frame:
            return
        self._first_frame_reported = True
        os.write(1, (FIRST_FRAME_MARKER + "\n").encode())
        self.exit()

    def action_help(self) -> None:
        """Show keys and help for the current screen."""
        self.push_screen(help_modal(self, self.screen, several_homes=len(self.homes) > 1))
