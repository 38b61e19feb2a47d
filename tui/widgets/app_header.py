"""``AppHeader``: the shell's two-line header (mode tabs and badges; home, schema and config state).

It reads everything from the app (``ServicesApp.header_state``), so every mode screen can show the same
header; the app mounts one into any mode screen that does not compose its own.
"""

from __future__ import annotations

from textual import getters
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.events import Click
from textual.widget import Widget
from textual.widgets import Static

from tui.header_state import HeaderState
from tui.services import ServicesApp

MODE_TITLES: tuple[tuple[str, str, str], ...] = (
    ("sandboxes", "1", "Sandboxes"),
    ("volumes", "2", "Volumes"),
    ("config", "3", "Config"),
)


class ModeTab(Static):
    """One clickable tab; the keyboard path is the number key shown on it."""

    DEFAULT_CSS = """
    ModeTab {
        width: auto;
        padding: 0 1;
        &.-active { background: $primary; color: $text; text-style: bold; }
        &:hover { text-style: underline; }
    }
    """

    def __init__(self, mode: str, key: str, title: str) -> None:
        super().__init__(f"{key} {title}", id=f"tab-{mode}", markup=False)
        self.mode = mode
        self.tooltip = f"Press {key} for {title}"

    async def on_click(self, event: Click) -> None:
        event.stop()
        await self.app.run_action(f"goto('{self.mode}')")


class AppHeader(Widget):
    """Mode tabs, a DEMO/READ-ONLY badge, and one status line (home · schema · problems)."""

    app = getters.app(ServicesApp)

    DEFAULT_CSS = """
    AppHeader {
        dock: top;
        height: 2;
        width: 100%;
        background: $panel;
        & > #header-top { height: 1; width: 100%; }
        & #header-title { width: auto; padding: 0 1; text-style: bold; color: $accent; }
        & #header-spacer { width: 1fr; }
        & #header-badges { width: auto; }
        & > #header-status { height: 1; width: 100%; padding: 0 1; color: $text-muted; text-wrap: nowrap; text-overflow: ellipsis; }
    }
    """

    def compose(self) -> ComposeResult:
        with Horizontal(id="header-top"):
            yield Static("msb-tui", id="header-title")
            for mode, key, title in MODE_TITLES:
                yield ModeTab(mode, key, title)
            yield Static("", id="header-spacer")
            yield Static("", id="header-badges")
        yield Static("", id="header-status")

    def on_mount(self) -> None:
        self.watch(self.app, "header_state", self._show_state)
        self.watch(self.app, "active_mode", self._show_mode)

    def _show_mode(self, mode: str) -> None:
        for tab in self.query(ModeTab):
            tab.set_class(tab.mode == mode, "-active")

    def _show_state(self, state: HeaderState) -> None:
        parts: list[tuple[str, str] | str] = []
        if state.demo:
            parts += [(" DEMO ", "reverse"), " "]
        if state.read_only:
            parts += [(" READ-ONLY ", "bold reverse $warning"), " "]
        self.query_one("#header-badges", Static).update(Content.assemble(*parts))
        status = self.query_one("#header-status", Static)
        width = status.content_region.width
        status.update(state.status_text(width or None))
        status.tooltip = Content(state.tooltip()) if state.tooltip() else None

    def on_resize(self) -> None:
        self._show_state(self.app.header_state)
