"""``LogTail``: the last lines of one sandbox log file, following new lines as they are written.

It reads through ``backend.sandboxes().tail`` / ``read_from`` (never the whole file) in async workers,
formats ``exec.log``'s JSON lines as ``time source text``, and polls only while it is visible. Complete
lines go to a ``RichLog``; an unfinished last line (no newline yet) is shown in a one-line row under it,
replaced on every read, and moves into the log once a read returns it complete.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import getters, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import RichLog, Select, Static

from backend.errors import BackendError
from backend.jsonio import JsonError, loads_row
from backend.sandboxes.models import LogChunk, LogFileInfo
from tui.format import visible
from tui.services import ServicesApp

TAIL_LINES = 300
FOLLOW_INTERVAL = 1.0

_SOURCE_STYLES = {"stdout": "", "stderr": "red", "output": "", "system": "cyan"}


def format_log_line(file: str, line: str) -> Text:
    """One display line: ``exec.log`` JSON entries as ``HH:MM:SS.mmm source text``, others as is."""
    if file.startswith("exec.log") and line.startswith("{"):
        try:
            entry: Any = loads_row(line)
        except JsonError:
            entry = None
        if isinstance(entry, dict) and isinstance(entry.get("d"), str):
            moment = str(entry.get("t", ""))
            clock = moment[11:23] if len(moment) >= 23 else moment
            source = str(entry.get("s", "?"))
            text = Text(no_wrap=True)
            text.append(f"{visible(clock)} ", style="dim")
            text.append(f"{visible(source):<6} ", style=_SOURCE_STYLES.get(source, "") or "dim")
            text.append(visible(entry["d"].rstrip("\n")), style="red" if source == "stderr" else "")
            return text
    style = "red" if " ERROR " in line or " WARN " in line else ""
    # Control characters (an escape sequence in a log) are shown as symbols, never sent to the terminal.
    return Text(visible(line), style=style, no_wrap=True)


class LogTail(Vertical):
    """A file picker and a tail that follows; :meth:`show` switches to another sandbox."""

    app = getters.app(ServicesApp)

    DEFAULT_CSS = """
    LogTail {
        height: 1fr;
        & > #log-bar { height: 1; }
        & #log-file { width: 1fr; }
        & #log-state { width: auto; padding: 0 1; color: $text-muted; }
        & > RichLog { height: 1fr; background: $surface; }
        & > #log-partial { display: none; height: 1; background: $surface; text-wrap: nowrap; text-overflow: clip; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("F", "toggle_follow", "Follow", id="logs.follow", tooltip="Pause or resume following the log"),
    ]

    class ChunkRead(Message):
        """Lines arrived from a log file (posted by a worker)."""

        def __init__(self, read: int, sandbox: str, file: str, chunk: LogChunk, initial: bool) -> None:
            super().__init__()
            self.read = read
            self.sandbox = sandbox
            self.file = file
            self.chunk = chunk
            self.initial = initial

    class FilesListed(Message):
        """The sandbox's log files (posted by a worker)."""

        def __init__(self, sandbox: str, files: list[LogFileInfo]) -> None:
            super().__init__()
            self.sandbox = sandbox
            self.files = files

    class ReadFailed(Message):
        """Reading failed; shown in the log's state label."""

        def __init__(self, sandbox: str, error: str, read: int | None = None) -> None:
            super().__init__()
            self.sandbox = sandbox
            self.error = error
            self.read = read

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.sandbox: str | None = None
        self.file: str | None = None
        self.read_offset = 0
        self.following = True
        # Each read gets a number and only the newest one's result counts: a stale result must not
        # end the wait for a newer read, or the poll would follow from an offset the tail never set.
        self._read_number = 0
        self._reading = False
        self._tailed = False

    def compose(self) -> ComposeResult:
        with Horizontal(id="log-bar"):
            yield Select[str]([], prompt="no log files", id="log-file", compact=True, allow_blank=True)
            yield Static("", id="log-state", markup=False)
        yield RichLog(id="log-lines", max_lines=2000, wrap=False, markup=False, auto_scroll=True)
        yield Static("", id="log-partial", markup=False)

    def on_mount(self) -> None:
        # Anchored, the log stays scrolled to its end when the unfinished-line row takes a line from it.
        self.query_one(RichLog).anchor()
        self.set_interval(FOLLOW_INTERVAL, self._poll)

    def show(self, sandbox: str | None) -> None:
        """Tail ``sandbox``'s logs (None clears). Showing the same sandbox again keeps the tail."""
        if sandbox == self.sandbox:
            return
        self.sandbox = sandbox
        self.file = None
        self.read_offset = 0
        self._read_number += 1
        self._reading = False
        self._tailed = False
        self._clear_lines()
        self.query_one(Select).set_options([])
        self._set_state("")
        if sandbox is not None:
            self._list_files(sandbox)

    def _clear_lines(self) -> None:
        self.query_one(RichLog).clear()
        self._show_partial(None)

    def _show_partial(self, line: Text | None) -> None:
        """Show ``line`` as the unfinished last line, or hide the row (None)."""
        row = self.query_one("#log-partial", Static)
        row.update(line if line is not None else "")
        row.display = line is not None

    def _set_state(self, text: str) -> None:
        self.query_one("#log-state", Static).update(text)

    @work(exclusive=True, group="log-files", exit_on_error=False)
    async def _list_files(self, sandbox: str) -> None:
        try:
            files = await self.app.backend.sandboxes().log_files(sandbox)
        except BackendError as exc:
            self.post_message(self.ReadFailed(sandbox, exc.message))
            return
        self.post_message(self.FilesListed(sandbox, files))

    @on(FilesListed)
    def _files_listed(self, event: FilesListed) -> None:
        event.stop()
        if event.sandbox != self.sandbox:
            return
        select = self.query_one(Select)
        # Text prompts: a str prompt is read as markup, and file names come from the logs folder.
        options = [(Text(f"{visible(f.name)} ({f.size:,} B)"), f.name) for f in event.files]
        select.set_options(options)
        if not event.files:
            self._set_state("no logs (ephemeral sandboxes lose theirs when they stop)")
            return
        preferred = next((f.name for f in event.files if f.name == "exec.log"), event.files[0].name)
        select.value = preferred

    @on(Select.Changed, "#log-file")
    def _file_chosen(self, event: Select.Changed) -> None:
        event.stop()
        if self.sandbox is None or not isinstance(event.value, str) or event.value == self.file:
            return
        self.file = event.value
        self.read_offset = 0
        self._clear_lines()
        self._start_tail(self.sandbox, event.value)

    def _start_tail(self, sandbox: str, file: str) -> None:
        self._read_number += 1
        self._reading = True
        self._tailed = False
        self._tail(self._read_number, sandbox, file)

    @work(exclusive=True, group="log-read", exit_on_error=False)
    async def _tail(self, read: int, sandbox: str, file: str) -> None:
        try:
            chunk = await self.app.backend.sandboxes().tail(sandbox, file, TAIL_LINES)
        except BackendError as exc:
            self.post_message(self.ReadFailed(sandbox, exc.message, read))
            return
        self.post_message(self.ChunkRead(read, sandbox, file, chunk, initial=True))

    @work(exclusive=True, group="log-read", exit_on_error=False)
    async def _follow(self, read: int, sandbox: str, file: str, offset: int) -> None:
        try:
            chunk = await self.app.backend.sandboxes().read_from(sandbox, file, offset)
        except BackendError as exc:
            self.post_message(self.ReadFailed(sandbox, exc.message, read))
            return
        self.post_message(self.ChunkRead(read, sandbox, file, chunk, initial=False))

    @on(ChunkRead)
    def _chunk_read(self, event: ChunkRead) -> None:
        event.stop()
        if event.read != self._read_number or event.sandbox != self.sandbox or event.file != self.file:
            return
        self._reading = False
        self._tailed = True
        log = self.query_one(RichLog)
        chunk = event.chunk
        if chunk.reset and not event.initial:
            self._clear_lines()
            log.write(Text("(log rotated or truncated: reading from the start)", style="italic"))
        # An unfinished line is read again from its start next time (end_offset points there), so it is
        # never written to the log, only shown in its row until a read returns it complete.
        complete = chunk.lines[:-1] if chunk.partial_last else chunk.lines
        for line in complete:
            log.write(format_log_line(event.file, line))
        self._show_partial(format_log_line(event.file, chunk.lines[-1]) if chunk.partial_last else None)
        self.read_offset = chunk.end_offset
        note = f"{chunk.size:,} B"
        if chunk.skipped_bytes:
            note += f", last {TAIL_LINES} lines"
        self._set_state(note + ("" if self.following else " · paused (F)"))

    @on(ReadFailed)
    def _read_failed(self, event: ReadFailed) -> None:
        event.stop()
        if event.read is not None and event.read != self._read_number:
            return
        if event.read is not None:
            self._reading = False
        if event.sandbox == self.sandbox:
            self._set_state(f"✖ {event.error}")

    def _poll(self) -> None:
        if not self.following or self._reading or self.sandbox is None or self.file is None:
            return
        if not self.screen.is_current or self.region.area == 0:
            return
        if not self._tailed:
            # Following needs the offset the tail ends at; from 0 it would crawl through a huge file.
            self._start_tail(self.sandbox, self.file)
            return
        self._read_number += 1
        self._reading = True
        self._follow(self._read_number, self.sandbox, self.file, self.read_offset)

    def action_toggle_follow(self) -> None:
        """Pause or resume following."""
        self.following = not self.following
        self.notify("Following the log" if self.following else "Log paused", timeout=2)
