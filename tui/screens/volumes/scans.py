"""The usage scans of the volume browser: a queue, one scan at a time, cancellable, progress as messages.

:class:`ScanQueue` is plain bookkeeping (which volume is being scanned, which wait, the cancel event of
the running one). :func:`scan_volume` runs one scan through the backend in a thread: the backend's
``threading.Event`` is set when the user cancels (the partial figures come back with
``complete=False``) and also when the awaiting worker is cancelled. The screen owns the worker that
drains the queue (:class:`ScanRunner`) turns :class:`ScanStarted`, :class:`ScanProgressed` and
:class:`ScanFinished` into :class:`tui.screens.volumes.table.UsageState` values.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from textual import getters, on, work
from textual.message import Message
from textual.widget import Widget

from backend.errors import BackendError
from backend.local import LocalBackend
from backend.volumes.disk_image import Ext4Usage
from backend.volumes.usage import ProgressFn, Usage, UsageProgress, scan_usage
from tui import clock
from tui.screens.volumes.table import UsageState, VolumeRow
from tui.services import ServicesApp

#: Seconds between progress messages from one scan.
PROGRESS_INTERVAL = 0.2


class ScanStarted(Message, bubble=False):
    """The scan of ``name`` began."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name


class ScanProgressed(Message, bubble=False):
    """A snapshot of a running scan (a newer one for the same volume replaces it in the queue)."""

    def __init__(self, name: str, progress: UsageProgress) -> None:
        super().__init__()
        self.name = name
        self.progress = progress

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ScanProgressed) and message.name == self.name


@dataclass(frozen=True)
class ScanResult:
    """What one scan found: the usage (partial when cancelled), or why it failed."""

    usage: Usage | None = None
    error: str | None = None
    ext4: Ext4Usage | None = None
    ext4_error: str | None = None


class ScanFinished(Message, bubble=False):
    """The scan of ``name`` ended (``preempted``: stopped to let another volume go first)."""

    def __init__(self, name: str, result: ScanResult, preempted: bool) -> None:
        super().__init__()
        self.name = name
        self.result = result
        self.preempted = preempted


@dataclass
class ScanQueue:
    """Volumes waiting for a scan, the one running, and its cancel event."""

    waiting: list[str] = field(default_factory=list)
    running: str | None = None
    event: threading.Event | None = None
    preempted: str | None = None

    def add(self, names: Iterable[str], *, front: bool = False) -> None:
        """Queue ``names`` (moved to the front with ``front``); the running one is not queued again.

        With ``front``, a running scan of another volume is stopped (its figures so far are kept) and
        queued again behind them.
        """
        names = [n for n in dict.fromkeys(names) if n != self.running or not front]
        self.waiting = [n for n in self.waiting if n not in names]
        self.waiting = names + self.waiting if front else self.waiting + names
        if front and self.running is not None and self.running not in names and self.event is not None:
            self.preempted = self.running
            self.event.set()

    def next(self) -> str | None:
        """Start the next scan: returns its name (with a fresh :attr:`event`), or None when done."""
        if not self.waiting:
            self.running, self.event = None, None
            return None
        self.running = self.waiting.pop(0)
        self.event = threading.Event()
        return self.running

    def cancel(self, name: str | None = None) -> bool:
        """Stop the running scan (of ``name`` only, when given) and unqueue ``name``.

        True when anything was stopped or unqueued.
        """
        stopped = False
        if name is None:
            stopped = bool(self.waiting)
            self.waiting.clear()
        elif name in self.waiting:
            self.waiting.remove(name)
            stopped = True
        if self.running is not None and (name is None or self.running == name) and self.event is not None:
            self.event.set()
            stopped = True
        return stopped

    def finish(self, name: str) -> bool:
        """The scan of ``name`` ended; True when it was preempted (it is then queued again)."""
        preempted = self.preempted == name
        self.preempted = None
        if preempted:
            self.waiting.append(name)
        if self.running == name:
            self.running, self.event = None, None
        return preempted

    def busy(self, name: str) -> bool:
        """True while ``name`` is running or waiting."""
        return self.running == name or name in self.waiting


async def scan_volume(backend: LocalBackend, name: str, *, orphan: bool, disk: bool,
                      event: threading.Event, progress: ProgressFn | None = None) -> ScanResult:
    """Scan one volume (or orphan folder) and, for a disk volume, read its superblock.

    ``progress`` is called from the scanning thread. Cancelling the awaiting task sets ``event``.
    """
    volumes = backend.volumes()
    callback = progress
    try:
        if orphan:
            root = volumes.root(name)

            def work() -> Usage:
                with root.open_dir_fd() as fd:
                    return scan_usage(fd, progress=callback, cancel=event, tree=True,
                                      interval_s=PROGRESS_INTERVAL)

            try:
                usage = await asyncio.to_thread(work)
            except asyncio.CancelledError:
                event.set()
                raise
        else:
            usage = await volumes.usage(name, progress=callback, cancel=event, tree=True,
                                        interval_s=PROGRESS_INTERVAL)
    except BackendError as exc:
        return ScanResult(error=exc.message)
    except OSError as exc:
        return ScanResult(error=f"cannot scan: {exc.strerror or exc}")
    if not disk:
        return ScanResult(usage)
    try:
        return ScanResult(usage, ext4=await volumes.disk_usage(name))
    except BackendError as exc:
        return ScanResult(usage, ext4_error=exc.message)


class UsageChanged(Message):
    """The usage state of ``name`` changed (a scan started, progressed or ended, or it went stale)."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name


class ScanRunner(Widget):
    """An invisible widget that runs the queued scans one at a time and keeps ``usages`` up to date.

    ``usages`` is shared with the views (updated in place); every change is announced with a
    :class:`UsageChanged` that bubbles up to the screen.
    """

    DEFAULT_CSS = "ScanRunner { display: none; }"
    app = getters.app(ServicesApp)

    def __init__(self, usages: dict[str, UsageState]) -> None:
        super().__init__()
        self.usages = usages
        self.queue = ScanQueue()
        self._targets: dict[str, tuple[bool, bool]] = {}

    def on_unmount(self) -> None:
        self.queue.cancel()  # the running scan's thread stops at its next check

    def set_targets(self, rows: Iterable[VolumeRow]) -> None:
        """The volumes that exist now: forget the others, and queue those never scanned."""
        self._targets = {row.name: (row.orphan is not None, row.kind == "disk")
                         for row in rows if row.browsable}
        for gone in set(self.usages) - set(self._targets):
            del self.usages[gone]
            self.queue.cancel(gone)
        self.request([name for name in self._targets if name not in self.usages])

    def request(self, names: Iterable[str], *, front: bool = False) -> None:
        """Queue scans of ``names`` (first, with ``front``) and start scanning if idle."""
        self.queue.add([n for n in names if n in self._targets], front=front)
        if self.queue.running is None and self.queue.waiting:
            self._run()
        self.post_message(UsageChanged(""))

    def cancel(self, name: str | None = None) -> bool:
        """Stop the running scan (keeping its figures) and unqueue ``name`` (or every scan)."""
        stopped = self.queue.cancel(name)
        self.post_message(UsageChanged(""))
        return stopped

    def mark_stale(self, name: str) -> None:
        """The volume was changed from here since its scan."""
        state = self.usages.get(name)
        if state is not None and state.usage is not None:
            self._set(name, replace(state, stale=True))

    @work(group="volume-scan", exit_on_error=False)
    async def _run(self) -> None:
        backend = self.app.backend
        while (name := self.queue.next()) is not None:
            target, event = self._targets.get(name), self.queue.event
            if target is None or event is None:
                self.queue.finish(name)
                continue
            self.post_message(ScanStarted(name))

            def report(progress: UsageProgress, scanned: str = name) -> None:
                self.post_message(ScanProgressed(scanned, progress))  # thread-safe; called by the scan

            scan = scan_volume(backend, name, orphan=target[0], disk=target[1], event=event, progress=report)
            try:
                # Its catalog reads finish even when this worker is cancelled (the backend sees to
                # that); the event stops the scanning thread.
                result = await scan
            except asyncio.CancelledError:
                event.set()
                raise
            self.post_message(ScanFinished(name, result, self.queue.finish(name)))
        self.post_message(UsageChanged(""))

    def _set(self, name: str, state: UsageState) -> None:
        self.usages[name] = state
        self.post_message(UsageChanged(name))

    @on(ScanStarted)
    def _started(self, event: ScanStarted) -> None:
        old = self.usages.get(event.name, UsageState())
        self._set(event.name, replace(old, scanning=True, progress=None))

    @on(ScanProgressed)
    def _progressed(self, event: ScanProgressed) -> None:
        state = self.usages.get(event.name)
        if state is not None and state.scanning:
            self._set(event.name, replace(state, progress=event.progress))

    @on(ScanFinished)
    def _finished(self, event: ScanFinished) -> None:
        old, result = self.usages.get(event.name, UsageState()), event.result
        if event.preempted and old.usage is not None:
            state = replace(old, scanning=False, progress=None)
        else:
            state = UsageState(result.usage, clock.now().strftime("%H:%M:%S"), error=result.error,
                               ext4=result.ext4, ext4_error=result.ext4_error)
        self._set(event.name, state)
