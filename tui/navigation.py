"""Moving between the three modes: the leave protocol, quitting, and showing one volume.

A mode screen with unsaved work implements :class:`ConfirmsLeave`; before the app switches away
from it, switches home or quits, it asks (``confirm_leave`` may wait on a dialog, so every move runs
in a worker). While a home switch swaps the screens, nothing may navigate.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable
from typing import Any, Protocol, runtime_checkable

from textual import work
from textual.screen import ModalScreen, Screen

from tui.services import ServicesApp


@runtime_checkable
class ConfirmsLeave(Protocol):
    """A screen that may refuse to be left (unsaved edits): True to go ahead."""

    def confirm_leave(self) -> bool | Awaitable[bool]:
        """Ask the operator, if needed, whether leaving is fine."""
        ...


@runtime_checkable
class SelectsVolume(Protocol):
    """The volume browser: selects one volume when another screen points at it."""

    def select_volume(self, name: str) -> object:
        """Show the list with volume ``name`` selected."""
        ...


class NavigationApp(ServicesApp):
    """The app's mode switching and quitting, with the leave protocol."""

    #: True while a home switch replaces the mode screens (navigation is refused meanwhile).
    _switching_home: bool = False

    def show_volume(self, name: str) -> None:
        """Switch to the volume browser and ask it to select volume ``name``."""
        self._show_volume(name)

    @work(exclusive=True, group="app-navigate", exit_on_error=False)
    async def _show_volume(self, name: str) -> None:
        if not await self._switch_to("volumes"):
            return
        screen = self.screen_stack[0]
        if isinstance(screen, SelectsVolume):
            result = screen.select_volume(name)
            if inspect.isawaitable(result):
                await result

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
        if not isinstance(screen, ConfirmsLeave):
            return True
        result = screen.confirm_leave()
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
            if not stack or not isinstance(stack[0], ConfirmsLeave):
                continue
            if mode != self.current_mode:
                await self.switch_mode(mode)
                self.active_mode = mode
            if not await self._may_leave(stack[0]):
                return False
        return True
