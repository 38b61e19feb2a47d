"""Run every action of every screen and widget of the app, in a few contexts, and record what happened.

"Every action" is found, not listed: each ``action_*`` method defined in a ``tui`` module on the
mounted screen or any of its widgets, every binding of those classes, and the app's own bindings.
Dialogs an action opens are *accepted* (inputs filled, typed names typed, the confirm button pressed),
so an action that only mutates after its dialog is still caught. ``$EDITOR`` is replaced by a program
that changes the file it is given, and every backend call that writes is spied on.

A read-only sweep must end with: no change under the home, no backend write reached, and a
"Read-only" notification for every guarded action.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from textual.binding import Binding
from textual.dom import DOMNode
from textual.pilot import Pilot
from textual.screen import ModalScreen
from textual.widgets import Button, Input, TextArea
from textual.worker import WorkerCancelled, WorkerFailed

from backend.config import changes as config_changes
from backend.config import file as config_file
from backend.sandboxes.service import Sandboxes
from backend.volumes.fs import VolumeRoot
from backend.volumes.service import Volumes
from tests.reliability.support import Entry, diff, snapshot
from tui.app import MsbApp
from tui.guard import MUTATING_ACTIONS, is_mutating
from tui.screens.volumes import external

#: Actions that end or leave the session under test (the sweep drives modes itself) or open the
#: command palette, whose entries are the bindings run here anyway.
SKIP = frozenset({"quit", "goto", "command_palette", "suspend_process", "retry_open"})
#: Backend calls that change the home (see tests/reliability/test_read_only_backend.py for the full list).
BACKEND_WRITES: dict[Any, tuple[str, ...]] = {
    Volumes: ("create", "remove", "fs_copy", "fs_mkdir", "fs_remove", "fs_remove_dir", "fs_rename", "fs_write",
              "fs_write_stream"),
    Sandboxes: ("remove",),
    VolumeRoot: ("copy_file", "mkdir", "open_write", "remove_file", "remove_tree", "rename", "write_bytes"),
    config_changes: ("save_config_text", "undo_save"),
    config_file: ("write_config_text", "save_persisted_config"),
}


@dataclass
class SweepReport:
    """What one sweep did and found."""

    actions: list[str] = field(default_factory=list)
    guarded: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    backend_writes: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    silent_guards: list[str] = field(default_factory=list)
    refusal_messages: list[str] = field(default_factory=list)
    launched: list[list[str]] = field(default_factory=list)

    def problems(self) -> list[str]:
        """Every read-only violation found."""
        out = [f"reached a backend write: {w}" for w in self.backend_writes]
        out += [f"changed the home: {c}" for c in self.changes]
        out += [f"refused without a message: {s}" for s in self.silent_guards]
        return out


def install_spies(monkeypatch: pytest.MonkeyPatch, report: SweepReport, current: list[str]) -> None:
    """Record every backend write the UI reaches (then let the backend refuse it), and every program
    handed the terminal; the "editor" appends to the file it is given, as a saving editor would."""
    for owner, names in BACKEND_WRITES.items():
        for name in names:
            real = getattr(owner, name)

            def spy(*args: Any, __real: Any = real, __name: str = name, **kwargs: Any) -> Any:
                report.backend_writes.append(f"{__name} (during {current[-1] if current else '?'})")
                return __real(*args, **kwargs)

            monkeypatch.setattr(owner, name, spy)

    def launch(app: Any, argv: list[str], *, pass_fds: Any = (), input_bytes: bytes | None = None) -> int:
        report.launched.append(list(argv))
        if argv[0] == "sweep-editor" and Path(argv[-1]).is_file():
            with open(argv[-1], "ab") as handle:
                handle.write(b"edited by the sweep\n")
        return 0

    monkeypatch.setattr(external, "run_suspended", launch)
    monkeypatch.setenv("EDITOR", "sweep-editor")
    monkeypatch.setenv("PAGER", "sweep-pager")
    monkeypatch.delenv("VISUAL", raising=False)


async def settle(pilot: Pilot[Any], rounds: int = 2, cap: float = 0.3) -> None:
    """Let messages and workers finish, without waiting forever on a worker that follows a log.

    ``pause(0)`` waits until every node has handled the messages pending so far, without the idle-CPU
    wait of ``pause()``, which would make a sweep of a hundred actions take minutes. Workers get at
    most ``cap`` seconds per round (usage scans may run for longer; what they do is still checked by
    the snapshot taken after the next action and after the session).
    """
    for _ in range(rounds):
        await pilot.pause(0)
        if any(not w.is_finished for w in pilot.app.workers):
            try:
                # Shielded: a timed-out wait must not cancel the workers it waited for (it would,
                # since Worker.wait awaits the worker's own task).
                await asyncio.wait_for(asyncio.shield(pilot.app.workers.wait_for_complete()), cap)
            except (TimeoutError, WorkerCancelled, WorkerFailed):
                pass  # a cancelled or failed worker is the screen's business, reported by it
    await pilot.pause(0)


def ours(cls: type) -> bool:
    """A class of this project (tui, or a test's subclass), not Textual's own."""
    return not cls.__module__.startswith(("textual.", "textual_", "rich.", "builtins"))


def node_actions(node: DOMNode) -> Iterator[str]:
    """Actions of ``node``: its classes' bindings and their argument-free ``action_*`` methods (Textual's
    own base classes excluded: their actions scroll, focus and select, they cannot reach the home)."""
    seen: set[str] = set()
    for cls in type(node).__mro__:
        if not ours(cls):
            continue
        for binding in vars(cls).get("BINDINGS", []):
            if isinstance(binding, Binding) and binding.action not in seen:
                seen.add(binding.action)
                yield binding.action
        for name, member in vars(cls).items():
            if not name.startswith("action_") or name[7:] in seen or not callable(member):
                continue
            params = [p for p in inspect.signature(member).parameters.values()
                      if p.name != "self" and p.default is inspect.Parameter.empty]
            if not params:
                seen.add(name[7:])
                yield name[7:]


def action_name(action: str) -> str:
    return re.split(r"[(]", action, maxsplit=1)[0].rsplit(".", 1)[-1]


def action_method(node: DOMNode, action: str) -> Callable[..., Any] | None:
    method = getattr(node, f"action_{action_name(action)}", None)
    return method if callable(method) else None


async def accept_dialogs(pilot: Pilot[Any]) -> None:
    """Accept whatever dialog is open, as an operator in a hurry would, then close what is left."""
    app = pilot.app
    for _ in range(4):
        screen = app.screen
        if not isinstance(screen, ModalScreen):
            return
        typed = getattr(screen, "typed_name", None)
        for box in screen.query(Input):
            if not box.disabled:
                box.value = typed if typed is not None else (box.value or "sweep-probe")
        for area in screen.query(TextArea):
            if not area.read_only:
                area.text = area.text or "{}"
        await pilot.pause(0)
        buttons = [b for b in screen.query(Button) if not b.disabled and b.id not in ("cancel", "close")
                   and str(b.label).lower() not in ("cancel", "close")]
        if buttons:
            buttons[-1].press()
        else:
            screen.dismiss(None)
        await settle(pilot, 1)
        if app.screen is screen and screen.is_attached:
            screen.dismiss(None)
            await settle(pilot, 1)


def notifications(app: MsbApp) -> dict[str, tuple[str, str]]:
    """The toasts shown now, by identity (old ones expire, so positions shift)."""
    return {n.identity: (n.title or "", n.message) for n in app._notifications}


async def run_one(pilot: Pilot[Any], node: DOMNode, action: str, report: SweepReport, current: list[str],
                  home: Path, before: list[dict[str, Entry]]) -> None:
    app: MsbApp = pilot.app  # type: ignore[assignment]
    label = f"{type(node).__name__}.{action}"
    current.append(label)
    report.actions.append(label)
    guards_before = sum(report.guarded.values())
    seen = set(notifications(app))
    ran = await app.run_action(action, node)
    method = action_method(node, action)
    if not ran and method is not None and is_mutating(method):
        # Disabled in this state (check_action): call it anyway, the guard must still answer.
        result = method()
        if inspect.isawaitable(result):
            await result
    await pilot.pause(0)
    await accept_dialogs(pilot)
    await settle(pilot, 1, cap=0.3)
    if sum(report.guarded.values()) > guards_before:
        new = [toast for key, toast in notifications(app).items() if key not in seen]
        refusals = [message for title, message in new if title == "Read-only" and "cannot" in message]
        report.refusal_messages += refusals
        if not refusals:
            report.silent_guards.append(label)
    after = snapshot(home)
    changes = diff(before[0], after)
    if changes:
        report.changes += [f"{label}: {c}" for c in changes]
        before[0] = after


def watch_guard(app: MsbApp, report: SweepReport) -> None:
    real = app.guard_write

    def guard_write(action: str) -> bool:
        allowed = real(action)
        report.guarded[action] += 1
        if not allowed:
            report.refused[action] += 1
        return allowed

    app.guard_write = guard_write  # type: ignore[method-assign]


def enabled(node: DOMNode, action: str) -> bool:
    try:
        return bool(node.check_action(action_name(action), ()))
    except Exception:  # noqa: BLE001 - a check that fails counts as enabled: run it and see
        return True


async def sweep_context(pilot: Pilot[Any], report: SweepReport, current: list[str], home: Path,
                        before: list[dict[str, Entry]], prepare: Callable[[], Awaitable[None]],
                        done: set[tuple[str, str, bool]] | None = None, *, only_guarded: bool = False,
                        only_classes: frozenset[str] | None = None) -> None:
    """Run every action of the current screen, its widgets and the app, re-preparing the context
    (cursor, open folder) before each, since an action may move it. ``done`` skips (class, action,
    enabled) triples already run in an earlier context; guarded actions always run, even disabled."""
    app: MsbApp = pilot.app  # type: ignore[assignment]
    done = set() if done is None else done
    await prepare()
    targets: list[tuple[DOMNode, str]] = []
    for node in [app, app.screen, *app.screen.query("*")]:
        if ours(type(node)) or node is app:
            for action in node_actions(node):
                if action_name(action) in SKIP or (only_classes is not None
                                                    and type(node).__name__ not in only_classes):
                    continue
                method = action_method(node, action)
                guarded = method is not None and is_mutating(method)
                key = (type(node).__name__, action, True)
                if not guarded and (only_guarded or key in done or not enabled(node, action)):
                    continue  # a disabled action is run in the context that enables it
                done.add(key)
                targets.append((node, action))
    for node, action in targets:
        if not node.is_attached and node is not app:
            await prepare()
            if not node.is_attached:
                continue
        await run_one(pilot, node, action, report, current, home, before)
        if isinstance(app.screen, ModalScreen):
            app.screen.dismiss(None)
            await settle(pilot, 1)
        await prepare()


def registered_descriptions() -> set[str]:
    """Descriptions of every ``@mutating`` action, after importing every tui module."""
    import importlib
    import pkgutil

    import tui

    for module in pkgutil.walk_packages(tui.__path__, "tui."):
        if module.name != "tui.__main__":
            importlib.import_module(module.name)
    # Only the app's own actions: other test modules register throwaway ones in the same registry.
    return {description for key, description in MUTATING_ACTIONS.items() if key.startswith("tui.")}
