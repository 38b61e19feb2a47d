"""Several homes (``--home`` given more than once): the switcher and swapping one home for another.

Each home gets its own backend; switching asks every screen to agree (the leave protocol), closes
the old backend (which waits for its calls in flight), builds the new one, and recreates the mode
screens so that nothing of the old home stays on screen.
"""

from __future__ import annotations

import asyncio
from functools import partial

from textual import work

from backend.errors import BackendError
from backend.local import LocalBackend
from tui.header_state import BackendState, HeaderState
from tui.homes import HomeChoice
from tui.modals.home_switcher import HomeSwitcher, HomeSwitchingScreen
from tui.navigation import NavigationApp


class HomeSwitchingApp(NavigationApp):
    """The homes the app was given and the one it shows."""

    #: Every home the switcher offers.
    homes: list[HomeChoice]
    #: The index in :attr:`homes` of the home being shown.
    home_index: int = 0
    #: True for the temporary demo home (shown as a badge).
    demo: bool = False
    #: What the header calls the home (None: its path).
    _display_home: str | None = None

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
        self.retry_open()
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
