"""``HomeSwitcher``: the modal list of the homes given with ``--home`` (keyboard and mouse).

Each line shows the home, whether it is read-only, and which one is open now. Choosing a line
dismisses with its index; Esc (or choosing the current home) dismisses with None.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Button, Label, OptionList, Static
from textual.widgets.option_list import Option

from tui.format import printable
from tui.homes import HomeChoice
from tui.modals.dialog import Dialog

ONE_HOME_TEXT = "Only one home is open. Give --home more than once to switch between homes here."


def home_line(index: int, choice: HomeChoice, *, current: bool, read_only: bool, count: int) -> Text:
    """One switcher line: marker, position, name, and the read-only state."""
    line = Text()
    line.append("● " if current else "  ", style="bold" if current else "")
    line.append(f"{index + 1}/{count} ")
    line.append(printable(choice.display()), style="bold" if current else "")
    line.append("  read-only" if read_only else "  writable", style="italic" if read_only else "dim")
    if current:
        line.append("  (open)", style="dim")
    return line


class HomeSwitcher(Dialog[int | None]):
    """Pick the home to show; dismisses with its index, or None to stay."""

    DEFAULT_CSS = """
    HomeSwitcher {
        & > #homes-dialog { width: 76; border: thick $accent; }
        & #homes-title { text-style: bold; width: 100%; padding-bottom: 1; }
        & #homes-list { height: auto; max-height: 14; }
        & #homes-hint { color: $text-muted; padding-top: 1; }
        & #homes-close { margin-top: 1; }
    }
    """

    def __init__(self, homes: Sequence[HomeChoice], current: int, read_only: Sequence[bool]) -> None:
        super().__init__(cancel_result=None)
        self.homes = list(homes)
        self.current = current
        self.read_only = list(read_only)

    def compose(self) -> ComposeResult:
        with Vertical(id="homes-dialog", classes="dialog-frame"):
            yield Label("Switch home", id="homes-title")
            if len(self.homes) < 2:
                yield Label(ONE_HOME_TEXT, id="homes-hint")
                yield Button("Close", id="homes-close")
                return
            count = len(self.homes)
            yield OptionList(
                *(Option(home_line(i, home, current=i == self.current, read_only=self.read_only[i], count=count),
                         id=f"home-{i}")
                  for i, home in enumerate(self.homes)),
                id="homes-list",
            )
            yield Label("Enter or click opens a home; Esc stays here.", id="homes-hint")

    def on_mount(self) -> None:
        found = self.query("#homes-list")
        if found:
            options = self.query_one(OptionList)
            options.highlighted = self.current
            options.focus()
        else:
            self.query_one("#homes-close", Button).focus()

    @on(OptionList.OptionSelected, "#homes-list")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        index = event.option_index
        self.dismiss(None if index == self.current else index)

    @on(Button.Pressed, "#homes-close")
    def _close(self) -> None:
        self.action_cancel()


class HomeSwitchingScreen(Screen[None]):
    """Shown for the moment a home switch swaps backends and rebuilds the mode screens."""

    #: The transient mode this screen is installed under.
    MODE = "home-switching"

    def __init__(self, home: str) -> None:
        super().__init__()
        self.home = home

    def compose(self) -> ComposeResult:
        yield Static(Text(f"Opening {printable(self.home)}…"), id="home-switching")
