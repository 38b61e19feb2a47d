"""Hostile volume contents and hostile catalog text: never followed out, never blocking, never printed raw.

A volume gets symlinks to a secret outside the home (file, folder, ``..``), symlink loops, a dangling
link, FIFOs, a listening UNIX socket, names and link targets and file contents carrying escape
sequences (OSC title and clipboard, screen clear, a C1 CSI, BEL, bidi override). Catalog rows get the
same escapes in labels, env, image, command and a name. The backend reads every entry every way; the
app browses into each entry, previews it and presses Enter on it. Nothing may block, no secret may be
read, no raw control character may reach a screen cell, and no file may change.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Select, Static

from backend import LocalBackend
from backend.errors import BackendError
from tests.reliability.support import assert_unchanged, copy_home, snapshot
from tests.reliability.ui_support import RAW_CONTROLS, goto, raw_controls, screen_text, show_sandbox
from tests.reliability.ui_sweep import settle
from tests.tui.support import make_app
from tests.tui.volume_browser_helpers import listed, loaded, previewed, select
from tui.screens.sandboxes.log_tail import LogTail
from tui.screens.volumes import external

SECRET = b"TOP-SECRET-OUTSIDE-THE-VOLUME"
ESCAPES = {
    "title": "\x1b]0;PWNED-TITLE\x07",
    "clipboard": "\x1b]52;c;cHduZWQ=\x07clip",
    "clear": "\x1b[2J\x1b[Hclear",
    "c1": "\x9b31mC1-csi",
    "bell": "bell\x07",
    "bidi": "\u202eevil.txt",
}
VOLUME = "scratch"


def build_hostile_volume(home: Path, outside: Path) -> list[str]:
    """Fill the volume with hostile entries; returns their names."""
    outside.mkdir()
    (outside / "secret.txt").write_bytes(SECRET)
    (outside / "big.bin").write_bytes(SECRET * 1000)
    folder = home / "volumes" / VOLUME
    links = {"to-secret": str(outside / "secret.txt"), "to-outside-dir": str(outside), "up": "../../..",
             "self-loop": "self-loop", "loop-a": "loop-b", "loop-b": "loop-a", "gone": "/nonexistent/x",
             "relative-escape": "../../../../" + str(outside).lstrip("/") + "/secret.txt",
             "weird-target": ESCAPES["title"]}
    for name, target in links.items():
        os.symlink(target, folder / name)
    os.mkfifo(folder / "pipe")
    (folder / "sub").mkdir()
    os.mkfifo(folder / "sub" / "pipe-inside")
    os.symlink(str(outside), folder / "sub" / "deeper-escape")
    for name in ESCAPES.values():
        (folder / name).write_bytes(b"named badly\n")
    (folder / "\x1b[31mred-dir").mkdir()
    (folder / "ansi.txt").write_bytes(f"{ESCAPES['clipboard']} then {ESCAPES['clear']} then \x00 NUL\n".encode())
    return sorted(os.listdir(folder))


@pytest.fixture
def hostile_home(demo_template: Path, tmp_path: Path) -> Iterator[tuple[Path, list[str]]]:
    home = copy_home(demo_template, tmp_path / "home")
    names = build_hostile_volume(home, tmp_path / "outside")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(home / "volumes" / VOLUME / "sock"))
    server.listen(1)  # a live socket: connecting to it would hang a naive reader
    try:
        yield home, [*names, "sock"]
    finally:
        server.close()


def add_hostile_rows(home: Path) -> None:
    """A sandbox and a volume row whose free text carries escape sequences (as another tool may write)."""
    from tests.backend.sandbox_helpers import make_config

    config = make_config("evil-labels", labels={"note": ESCAPES["title"], ESCAPES["c1"]: "key"},
                         env=[{"key": "PS1", "value": ESCAPES["clear"]}],
                         image={"Oci": {"reference": "alpine" + ESCAPES["clipboard"], "upper_size_mib": 64}})
    config["runtime"]["cmd"] = ["sh", "-c", "echo " + ESCAPES["title"]]
    with sqlite3.connect(home / "db" / "msb.db") as conn:
        for name in ("evil-labels", "evil\x1b[2Jname"):
            conn.execute("INSERT INTO sandbox (name, config, status, created_at, updated_at, ephemeral) "
                         "VALUES (?, ?, 'Stopped', '2026-11-28 11:00:00', '2026-11-28 11:00:00', 0)",
                         (name, json.dumps(config)))
        conn.execute("UPDATE volume SET labels = ? WHERE name = 'build-cache'",
                     (json.dumps([["note", ESCAPES["title"]], [ESCAPES["bell"], "v"]]),))
    conn.close()


async def test_backend_reads_every_hostile_entry_without_following_or_blocking(
    hostile_home: tuple[Path, list[str]],
) -> None:
    home, names = hostile_home
    before = snapshot(home)
    backend = LocalBackend.builder().home(home).config_file(home / "config.json").read_only().build_lazy()
    volumes = backend.volumes()
    outcomes: dict[str, str] = {}
    try:
        for name in names:
            for call in (volumes.fs_stat(VOLUME, name), volumes.fs_exists(VOLUME, name),
                         volumes.fs_read_head_tail(VOLUME, name, 1024, 1024), volumes.fs_read(VOLUME, name),
                         volumes.fs_list(VOLUME, name), volumes.fs_read_to_string(VOLUME, name)):
                try:
                    result = await asyncio.wait_for(call, 5)  # a FIFO or socket opened for reading would hang
                except BackendError as exc:
                    outcomes[name] = type(exc).__name__
                    continue
                assert SECRET not in repr(result).encode(), f"{name!r} leaked the secret: {result!r}"
            root = await volumes.open_root(VOLUME)
            if name in ("to-secret", "relative-escape", "to-outside-dir", "up"):
                try:
                    target = await asyncio.to_thread(root.link_target, name)
                except BackendError:  # a target outside the volume is refused
                    continue
                assert SECRET.decode() not in repr(target)
        usage = await asyncio.wait_for(volumes.usage(VOLUME), 10)
        assert usage.apparent_bytes < len(SECRET) * 1000, "the usage scan followed a link out of the volume"
    finally:
        await backend.close()
    assert outcomes["pipe"] in ("FsNotRegularFileError", "FsIsADirectoryError", "FsNotADirectoryError")
    assert outcomes["to-secret"] == "FsSymlinkError" and outcomes["self-loop"] == "FsSymlinkError"
    assert_unchanged(home, before)


async def until(pilot: Any, condition: Any, timeout: float = 10) -> None:
    """Wait (letting the app work) until ``condition()`` holds; fail after ``timeout`` seconds."""
    for _ in range(int(timeout / 0.02)):
        await settle(pilot, 1)
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the app did not get there in time (blocked?)")


def preview_of(browser: Any) -> str | None:
    """The entry whose preview is shown, once it is read (None while reading)."""
    from tests.tui.volume_browser_helpers import preview_text

    key = getattr(browser, "_preview_key", None)
    if key is None or "reading…" in preview_text(browser):
        return None
    return str(key[2].name)


class Launches:
    """Stands in for the terminal hand-over; reads what a pager would get."""

    def __init__(self) -> None:
        self.pages: list[bytes] = []

    def __call__(self, app: Any, argv: list[str], *, pass_fds: Any = (), input_bytes: bytes | None = None) -> int:
        data = input_bytes or b""
        for fd in pass_fds:
            data += os.pread(fd, 1 << 16, 0)
        self.pages.append(data)
        return 0


async def test_browsing_hostile_entries_never_leaks_blocks_or_prints_raw(
    hostile_home: tuple[Path, list[str]], monkeypatch: pytest.MonkeyPatch,
) -> None:
    home, names = hostile_home
    add_hostile_rows(home)
    before = snapshot(home)
    launches = Launches()
    monkeypatch.setattr(external, "run_suspended", launches)
    monkeypatch.setattr("tui.screens.volumes.folder.PREVIEW_DELAY_SECS", 0.01)  # no typing-speed debounce
    monkeypatch.setenv("PAGER", "pager")
    app = make_app(home, read_only=True, initial_screen="volumes")
    visited = 0
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        screen = await loaded(pilot)
        assert not raw_controls(app), raw_controls(app)
        screen.table.move_cursor([row.name for row in screen.shown].index(VOLUME))
        await settle(pilot)
        screen.open_selected_volume()
        browser = await listed(pilot)
        assert sorted(row.name for row in browser.shown) == sorted(names)
        for name in names:
            browser = screen.browser
            if browser.parts:  # Enter opened a folder: come back
                browser.up()
                await until(pilot, lambda b=browser: b.listed and not b.parts)
            browser.table.move_cursor([row.name for row in browser.shown].index(name))
            await until(pilot, lambda b=browser, n=name: preview_of(b) == n)  # a FIFO must not block it
            assert not raw_controls(app), f"{name!r}: raw controls on screen: {raw_controls(app)}"
            assert SECRET.decode() not in screen_text(app), f"{name!r}: the secret is on screen"
            if name in ESCAPES.values():
                visited += 1
                continue  # a plain file with a bad name: listing and preview are what matter
            await pilot.press("enter")
            await asyncio.wait_for(settle(pilot), 10)
            assert not raw_controls(app), f"{name!r} (Enter): raw controls on screen: {raw_controls(app)}"
            assert SECRET.decode() not in screen_text(app)
            visited += 1
        await goto(pilot, "sandboxes")
        for sandbox in ("evil-labels", "evil\x1b[2Jname"):
            panel = await show_sandbox(pilot, sandbox)
            for tab in ("tab-overview", "tab-config", "tab-mounts"):
                panel.query_one("TabbedContent").active = tab  # type: ignore[attr-defined]
                await settle(pilot)
                leaked = [line for line in screen_text(app).splitlines() if RAW_CONTROLS.search(line)]
                assert not leaked, f"{sandbox!r} {tab}: raw controls in: {leaked}"
        await goto(pilot, "volumes")
        screen.action_back_to_list()
        await settle(pilot)
        screen.table.move_cursor([row.name for row in screen.shown].index("build-cache"))
        await settle(pilot)
        assert not raw_controls(app), f"volume labels: raw controls: {raw_controls(app)}"
        assert app._exception is None
    assert all(SECRET not in page for page in launches.pages), "the pager was handed the secret"
    assert_unchanged(home, before)
    assert visited == len(names)


#: Text that Rich or Textual would read as markup: a style, closing tags with nothing to close (a
#: MarkupError when parsed), a link and a click action.
MARKUP = {"style": "[red]x", "close": "[/]", "close-named": "[/foo]", "link": "[link=file:///etc]y[/link]",
          "click": "[@click=app.quit]q"}
MARKUP_SANDBOX, MARKUP_VOLUME = "markup-sbx", "mk[red]vol"


def add_markup_rows(home: Path) -> None:
    """Catalog rows, log and volume files and a config host whose text is markup (as another tool or
    person may write it)."""
    from tests.backend.sandbox_helpers import OPTIONS, add_run, add_sandbox, make_config

    config = make_config(MARKUP_SANDBOX, labels={MARKUP["style"]: MARKUP["close"], "link": MARKUP["link"]},
                         env=[{"key": "PS1", "value": "[bold]b[/]"}],
                         image={"Oci": {"reference": "alpine" + MARKUP["close-named"], "upper_size_mib": 64}},
                         mounts=[{"type": "Named", "name": MARKUP_VOLUME, "guest": "/data" + MARKUP["close"],
                                  "options": dict(OPTIONS)}],
                         security_profile="[i]p")
    config["runtime"]["cmd"] = ["echo", MARKUP["click"]]
    config["runtime"]["workdir"] = "/w/" + MARKUP["close-named"]
    db = home / "db" / "msb.db"
    sandbox_id = add_sandbox(db, MARKUP_SANDBOX, status="Crashed", config=config, created="2026-11-28 11:59:00")
    add_run(db, sandbox_id, exit_code=1, reason=MARKUP["close-named"], terminated="2026-11-28 11:59:30")
    add_sandbox(db, MARKUP["style"], created="2026-11-28 11:58:00")  # not a valid name: a problem is shown
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO volume (name, labels, created_at, updated_at, kind) "
                     "VALUES (?, ?, '2026-11-28 11:00:00', '2026-11-28 11:00:00', 'dir')",
                     (MARKUP_VOLUME, json.dumps([[MARKUP["close"], MARKUP["link"]]])))
    conn.close()
    logs = home / "sandboxes" / MARKUP_SANDBOX / "logs"
    logs.mkdir(parents=True)
    (logs / "exec.log").write_text(f"a log line with {MARKUP['link']}\n")
    (logs / f"{MARKUP['style']}.log").write_text("another log\n")
    folder = home / "volumes" / MARKUP_VOLUME
    folder.mkdir()
    (folder / f"{MARKUP['style']}.txt").write_text(f"{MARKUP['close']}\n")
    (folder / MARKUP["click"]).mkdir()
    document = json.loads((home / "config.json").read_text())
    document["registries"]["hosts"][f"{MARKUP['style']}.io"] = {"auth": None, "insecure": True}
    document["sandbox_defaults"][MARKUP["close-named"]] = 1  # an unknown key: a warning in its section
    (home / "config.json").write_text(json.dumps(document, indent=2))


async def test_markup_in_rows_and_file_names_is_shown_as_typed(demo_template: Path, tmp_path: Path) -> None:
    home = copy_home(demo_template, tmp_path / "home")
    add_markup_rows(home)
    app = make_app(home, read_only=True)
    missing: list[str] = []

    def expect(where: str, *texts: str) -> None:
        shown = screen_text(app)
        missing.extend(f"{where}: {text!r} not shown" for text in texts if text not in shown)

    async with app.run_test(size=(200, 50), notifications=True) as pilot:
        panel = await show_sandbox(pilot, MARKUP_SANDBOX)
        expect("sandbox list", MARKUP["style"], "alpine[/foo]")
        tabs: Any = panel.query_one("TabbedContent")
        for tab, texts in (
            ("tab-overview", ["[red]x=[/]", "link=[link=file:///etc]y[/link]", "PS1=[bold]b[/]", "alpine[/foo]",
                              "echo [@click=app.quit]q", "/w/[/foo]", "[i]p"]),
            ("tab-config", ['"reference": "alpine[/foo]"']),
            ("tab-mounts", ["volume:mk[red]vol → /data[/]"]),
            ("tab-runs", ["[/foo]"]),
            ("tab-logs", ["a log line with [link=file:///etc]y[/link]"]),
        ):
            tabs.active = tab
            await settle(pilot)
            if tab == "tab-logs":
                await until(pilot, lambda: panel.query_one(LogTail).read_offset > 0)
            expect(f"{MARKUP_SANDBOX} {tab}", *texts)
        log_tail = panel.query_one(LogTail)
        panel.query_one(Select).value = "[red]x.log"
        await until(pilot, lambda: log_tail.file == "[red]x.log" and log_tail.read_offset == 12)
        expect(f"{MARKUP_SANDBOX} log file", "[red]x.log (12 B)")
        panel = await show_sandbox(pilot, MARKUP["style"], logs=True)
        await until(pilot, lambda: "✖" in str(panel.query_one("#log-state", Static).content))
        expect(f"{MARKUP['style']} logs", f"underscores: {MARKUP['style']}")
        tabs.active = "tab-overview"
        await settle(pilot)
        expect(f"{MARKUP['style']} overview", f"underscores: {MARKUP['style']}", f"sandboxes/{MARKUP['style']}")
        await pilot.press("y")  # copy the name: the toast quotes it
        await settle(pilot)
        expect("copy toast", f"Copied name '{MARKUP['style']}'")

        await goto(pilot, "volumes")
        await loaded(pilot)
        await select(pilot, MARKUP_VOLUME)
        expect("volume list", MARKUP_VOLUME, "[/]=[link=file:///etc]y[/link]", f"Path       volumes/{MARKUP_VOLUME}")
        await pilot.press("enter")
        await listed(pilot)
        await previewed(pilot)
        expect("volume folder", MARKUP_VOLUME, "[red]x.txt", "[@click=app.quit]q/")

        await goto(pilot, "config")
        await settle(pilot)
        for pane, text in (("sandbox_defaults", "sandbox_defaults.[/foo]"), ("registries", "[red]x.io")):
            app.screen.query_one("#cfg-tabs").active = f"cfg-pane-{pane}"  # type: ignore[attr-defined]
            await settle(pilot)
            expect(f"config {pane}", text)
        assert app.is_running and app._exception is None
    assert app._exception is None
    assert not missing, "\n".join(missing)
