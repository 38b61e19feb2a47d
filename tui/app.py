"""``MsbApp``: the shell around the three screens (sandboxes, volumes, config).

The app owns the backend of the home being shown. It opens it lazily in a worker (retrying while the
database is busy), keeps the header state, switches modes with the leave-protocol, switches between the
homes given with ``--home`` (:meth:`MsbApp.switch_home`: a fresh backend and fresh screens), and offers the
services every screen shares: :meth:`MsbApp.guard_write` (the UI's one read-only guard),
:meth:`MsbApp.copy_to_clipboard_text` and :meth:`MsbApp.show_volume`.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import signal
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import SystemCommand
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer

from backend import LocalBackend
from backend.errors import BackendError, DatabaseBusyError, ReadOnlyError
from tui import clipboard
from tui.format import printable
from tui.header_state import BackendState, HeaderState, schema_label
from tui.homes import HomeChoice
from tui.modals.help import HelpModal
from tui.modals.home_switcher import HomeSwitcher, HomeSwitchingScreen
from tui.screens.config.messages import ConfigFileChanged
from tui.services import ServicesApp
from tui.widgets.app_header import MODE_TITLES, AppHeader

#: When set in the environment, the app prints :data:`FIRST_FRAME_MARKER` on stdout and exits as soon
#: as the sandbox list has drawn its first frame with data (used by ``bench/bench_startup.py``).
EXIT_AFTER_FIRST_FRAME_ENV = "MSB_TUI_EXIT_AFTER_FIRST_FRAME"
FIRST_FRAME_MARKER = "MSB_TUI_FIRST_FRAME"

DEFAULT_THEME = "ansi-dark"
#: First wait before retrying a busy catalog; doubles up to BUSY_MAX_DELAY.
BUSY_FIRST_DELAY = 0.5
BUSY_MAX_DELAY = 8.0


def _sandbox_list_screen() -> Screen[Any]:
    from tui.screens.sandboxes.screen import SandboxListScreen

    return SandboxListScreen()


def _volume_browser_screen() -> Screen[Any]:
    from tui.screens.volumes.screen import VolumeBrowserScreen  # type: ignore[import-not-found,unused-ignore]

    screen: Screen[Any] = VolumeBrowserScreen()
    return screen


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


class MsbApp(ServicesApp):
    """The msb-tui application: one home at a time (of those given), three screens (modes), shared
    services."""

    TITLE = "msb-tui"
    CSS_PATH = Path(__file__).with_name("app.tcss")
    MODES: ClassVar[dict[str, str | Callable[[], Screen[Any]]]] = {
        "sandboxes": _sandbox_list_screen,
        "volumes": _volume_browser_screen,
        "config": _config_editor_screen,
    }
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
            self.post_message(status(BackendState.READY))
            return

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
        """Try opening the catalog again (after an error)."""
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

    def show_volume(self, name: str) -> None:
        """Switch to the volume browser and ask it to select volume ``name``."""
        self._show_volume(name)

    @work(exclusive=True, group="app-navigate", exit_on_error=False)
    async def _show_volume(self, name: str) -> None:
        if not await self._switch_to("volumes"):
            return
        select = getattr(self.screen_stack[0], "select_volume", None)
        if select is not None:
            result = select(name)
            if inspect.isawaitable(result):
                await result

    def report_first_frame(self) -> None:
        """Called by a screen once it has drawn data (:func:`tui.first_frame.first_data_shown`); used by
        the startup benchmark."""
        if self._first_frame_reported or not self.exit_after_first_frame:
            return
        self._first_frame_reported = True
        os.write(1, (FIRST_FRAME_MARKER + "\n").encode())
        self.exit()

    # -- navigation and the leave-protocol ------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Mode switches and help would strand an open dialog on the mode it belongs to; while a home
        # switch swaps the screens, nothing may navigate.
        if self._switching_home and action in ("goto", "help", "switch_home", "quit"):
            return False
        return not (action in ("goto", "help", "switch_home") and isinstance(self.screen, ModalScreen))

    def action_goto(self, mode: str) -> None:
        """Switch to ``mode`` (after the current screen's ``confirm_leave``, if any)."""
        self._goto(mode)

    @work(exclusive=True, group="app-navigate", exit_on_error=False)
    async def _goto(self, mode: str) -> None:
        await self._switch_to(mode)

    async def _may_leave(self, screen: Screen[Any]) -> bool:
        confirm_leave = getattr(screen, "confirm_leave", None)
        if confirm_leave is None:
            return True
        result = confirm_leave()
        if inspect.isawaitable(result):
            result = await result
        return bool(result)

    async def _switch_to(self, mode: str) -> bool:
        """Leave the current mode (if its screen agrees) and show ``mode``. Runs inside a worker, so
        ``confirm_leave`` may use ``push_screen_wait``."""
        if mode == self.current_mode:
            return True
        if not await self._may_leave(self.screen_stack[0]):
            return False
        try:
            await self.switch_mode(mode)
        except ImportError as exc:  # a screen module missing from this build: say so, stay here
            self.notify(f"The {mode} screen is not available: {exc}", severity="error")
            return False
        self.active_mode = mode
        return True

    async def action_quit(self) -> None:
        """Quit, after every open screen with unsaved work has agreed."""
        self._quit()

    @work(exclusive=True, group="app-navigate", exit_on_error=False)
    async def _quit(self) -> None:
        if await self._every_mode_may_leave():
            self.exit()

    async def _every_mode_may_leave(self) -> bool:
        """Ask every open mode screen with unsaved work (showing each in turn); False if one refuses."""
        modes = [self.current_mode] + [m for m in self._screen_stacks if m != self.current_mode]
        for mode in modes:
            stack = self._screen_stacks.get(mode)
            if not stack or not hasattr(stack[0], "confirm_leave"):
                continue
            if mode != self.current_mode:
                await self.switch_mode(mode)
                self.active_mode = mode
            if not await self._may_leave(stack[0]):
                return False
        return True

    # -- several homes --------------------------------------------------------------------------

    def _home_position(self) -> str:
        return f"{self.home_index + 1}/{len(self.homes)}" if len(self.homes) > 1 else ""

    def home_read_only(self, index: int) -> bool:
        """Whether home ``index`` is read-only (for the open one, as found when its catalog opened)."""
        if index == self.home_index:
            return self.backend.read_only
        return self.homes[index].read_only

    def action_switch_home(self) -> None:
        """Show the home switcher (it says so when only one home was given)."""
        self._pick_home()

    @work(exclusive=True, group="home-switch", exit_on_error=False)
    async def _pick_home(self) -> None:
        read_only = [self.home_read_only(i) for i in range(len(self.homes))]
        index = await self.push_screen_wait(HomeSwitcher(self.homes, self.home_index, read_only))
        if index is not None:
            await self.switch_home(index)

    async def switch_home(self, index: int) -> bool:
        """Show home ``index`` of :attr:`homes`: after every screen agreed to leave, close the current
        backend, build a new one, and recreate the mode screens so nothing of the old home stays.

        Runs inside a worker (``confirm_leave`` may wait on a dialog). Returns False if a screen
        refused or the new home's config could not be read; the current home then stays open.
        """
        if index == self.home_index:
            return True
        if not 0 <= index < len(self.homes):
            raise IndexError(f"no home {index}: {len(self.homes)} given")
        mode = self.current_mode  # asking may show other modes; the new home opens on this one
        if not await self._every_mode_may_leave():
            return False
        choice = self.homes[index]
        try:
            backend = await asyncio.to_thread(choice.build_backend)
        except (BackendError, OSError) as exc:
            message = exc.message if isinstance(exc, BackendError) else str(exc)
            self.notify(f"Cannot open {choice.display()}: {message}", title="Switch home", severity="error")
            return False
        self._switching_home = True
        try:
            await self._replace_home(index, backend, mode)
        finally:
            self._switching_home = False
        self.open_backend()
        return True

    async def _replace_home(self, index: int, backend: LocalBackend, mode: str) -> None:
        choice = self.homes[index]
        self.workers.cancel_group(self, "backend-open")
        # Park on a neutral screen: Textual cannot remove the active mode, and every mode screen
        # (with its cached rows, selections and workers) must go so none of it shows in the new home.
        self.add_mode(HomeSwitchingScreen.MODE, partial(HomeSwitchingScreen, choice.display()))
        await self.switch_mode(HomeSwitchingScreen.MODE)
        for name in self.MODES:
            await self.remove_mode(name)
            self.add_mode(name, self.MODES[name])
        await self.backend.close()  # waits for the old home's calls still in flight
        self.backend = backend
        self.home_index = index
        self._display_home = choice.label or (str(choice.path) if choice.path is not None else None)
        self.header_state = HeaderState(home=choice.display(), home_position=self._home_position(),
                                        demo=self.demo, read_only=backend.read_only)
        self.backend_state = BackendState.LOADING
        await self.switch_mode(mode)
        self.active_mode = mode
        await self.remove_mode(HomeSwitchingScreen.MODE)

    def action_help(self) -> None:
        """Show keys and help for the current screen."""
        screen = self.screen
        keys: list[tuple[str, str]] = []
        seen: set[str] = set()
        # The screen's and the app's own keys; widget keys (scrolling, text selection) are described
        # in the screen's HELP text instead of being listed one by one.
        for active in screen.active_bindings.values():
            binding = active.binding
            if active.node not in (screen, self) or not binding.description or binding.description in seen:
                continue
            if binding.action == "switch_home" and len(self.homes) < 2:
                continue  # nothing to switch to; the palette still explains how to give several
            seen.add(binding.description)
            keys.append((self.get_key_display(binding), binding.tooltip or binding.description))
        title = getattr(screen, "HELP_TITLE", None) or f"Help: {screen.__class__.__name__}"
        text = getattr(screen, "HELP", "") or ""
        self.push_screen(HelpModal(title, keys, text))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Palette entries: the three screens, every key of the current screen, then Textual's own."""
        for mode, key, title in MODE_TITLES:
            yield SystemCommand(f"Go to {title}", f"Switch to the {title.lower()} screen (key {key})",
                                partial(self.action_goto, mode))
        yield SystemCommand("Switch home", "Choose another of the homes given with --home (key h)",
                            self.action_switch_home)
        seen: set[str] = {"Quit", "Help", "Sandboxes", "Volumes", "Config", "Switch home"}
        for active in screen.active_bindings.values():
            binding = active.binding
            if not binding.description or binding.description in seen or not active.enabled:
                continue
            seen.add(binding.description)
            node = active.node
            yield SystemCommand(
                binding.description,
                f"{binding.tooltip or binding.description} (key {self.get_key_display(binding)})",
                partial(self.run_action, binding.action, node),
            )
        yield SystemCommand("Help", "Keys and help for this screen (key ?)", self.action_help)
        yield from super().get_system_commands(screen)
