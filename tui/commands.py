"""What the keys and the command palette offer: the help dialog and the palette's own commands.

:class:`ShellCommands` is the palette's provider for the app's entries (the screens, switching home,
every key of the current screen, help); Textual's own system commands stay in their provider.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

from textual.app import App, SystemCommand
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.screen import Screen

from tui.modals.help import HelpModal
from tui.widgets.app_header import MODE_TITLES


def help_modal(app: App[Any], screen: Screen[Any], *, several_homes: bool) -> HelpModal:
    """The help for ``screen``: its keys and the app's, then its HELP text."""
    keys: list[tuple[str, str]] = []
    seen: set[str] = set()
    # The screen's and the app's own keys; widget keys (scrolling, text selection) are described
    # in the screen's HELP text instead of being listed one by one.
    for active in screen.active_bindings.values():
        binding = active.binding
        if active.node not in (screen, app) or not binding.description or binding.description in seen:
            continue
        if binding.action == "switch_home" and not several_homes:
            continue  # nothing to switch to; the palette still explains how to give several
        seen.add(binding.description)
        keys.append((app.get_key_display(binding), binding.tooltip or binding.description))
    title = getattr(screen, "HELP_TITLE", None) or f"Help: {screen.__class__.__name__}"
    text = getattr(screen, "HELP", "") or ""
    return HelpModal(title, keys, text)


def palette_commands(app: App[Any], screen: Screen[Any]) -> Iterator[SystemCommand]:
    """The palette's own entries: the three screens, switching home, every key of ``screen``, help."""
    for mode, key, title in MODE_TITLES:
        yield SystemCommand(f"Go to {title}", f"Switch to the {title.lower()} screen (key {key})",
                            partial(app.run_action, f"goto('{mode}')"))
    yield SystemCommand("Switch home", "Choose another of the homes given with --home (key h)",
                        partial(app.run_action, "switch_home"))
    seen: set[str] = {"Quit", "Help", "Sandboxes", "Volumes", "Config", "Switch home"}
    for active in screen.active_bindings.values():
        binding = active.binding
        if not binding.description or binding.description in seen or not active.enabled:
            continue
        seen.add(binding.description)
        node = active.node
        yield SystemCommand(
            binding.description,
            f"{binding.tooltip or binding.description} (key {app.get_key_display(binding)})",
            partial(app.run_action, binding.action, node),
        )
    yield SystemCommand("Help", "Keys and help for this screen (key ?)", partial(app.run_action, "help"))


class ShellCommands(Provider):
    """The palette's entries for the app's screens and the current screen's keys."""

    async def discover(self) -> Hits:
        """Every entry, by name, for the palette opened without a query."""
        for command in sorted(palette_commands(self.app, self.screen), key=lambda c: c.title):
            yield DiscoveryHit(command.title, command.callback, help=command.help)

    async def search(self, query: str) -> Hits:
        """The entries whose name matches ``query``."""
        matcher = self.matcher(query)
        for command in palette_commands(self.app, self.screen):
            if (score := matcher.match(command.title)) > 0:
                yield Hit(score, matcher.highlight(command.title), command.callback, help=command.help)
