"""The usage scan in C: GNU ``find`` walks the folder, and we total the stream it prints.

:func:`scan_with_find` keeps every promise of :func:`backend.volumes.usage.scan_usage`; that function calls it,
and falls back to the Python walk when :func:`find_tool` finds no usable find.

Staying inside the folder: find runs on ``/proc/self/fd/N/``, the descriptor of the folder we already
opened with ``O_NOFOLLOW`` (passed to the child under the same number), so it walks that very folder
even if its path is renamed or swapped for a symlink meanwhile; the first line it prints is the root,
checked against the descriptor (device and inode). ``-P`` never follows a symlink; its fts walk opens
each sub-folder relative to its parent with ``O_NOFOLLOW``, so a folder swapped for a symlink
mid-scan is an error (``Too many levels of symbolic links``), never followed. ``-xdev`` stays on the
folder's file system (mount points inside are left out, as by ``du -x`` and the Python walk).

Several cores: a first find lists the root only (``-maxdepth 1``); its sub-folders are dealt out to
a few more finds (one per usable core, two batches each), which start at ``/proc/self/fd/N/<name>``
(``-P``: a start folder swapped for a symlink is listed as the symlink). All their streams are read
and totalled in the scanning thread. On one core, one find walks everything.

The stream (``LC_ALL=C``, bytes throughout). Names appear only in folder records, between NULs, so
any byte but NUL may be in them; everything else is numbers:

- a folder: ``\\0D<depth> <inode> <device> <size> <blocks> /proc/self/fd/N/<path>\\0`` (before its content);
- a file with several hard links: ``\\0H<depth> <inode> <device> <size> <blocks>\\0``;
- any other entry: ``<depth> <size> <blocks>\\n``, in runs between records.

A run is summed in bulk (one ``split`` and two ``sum(map(...))`` over remembered numbers), per depth:
every entry of a run sits in the folder on top of the stack at its depth, and depth only falls within
a run (going deeper prints a folder record first). Python then does a few operations per folder, not
per file. Profiled on 100,000 files, find itself costs about 1.2x ``du -sb`` (its ``-printf`` number
formatting), and totalling the stream about 0.1x more, mostly hidden on a second core.

find is started with :class:`subprocess.Popen` (``vfork`` + ``exec``, no Python code runs in the child,
so it is safe from the scanning thread of a threaded app), and killed and reaped when a scan is
cancelled or fails.

Errors: find prints one line per unreadable folder or entry on stderr (``find: '<path>': <reason>``,
the path C-escaped); each becomes an error of the folder holding that path, with the same
``/path: reason`` sample the Python walk writes.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import select
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field

from backend.volumes.usage_types import (
    MAX_DEPTH,
    MAX_ERROR_SAMPLES,
    DirUsage,
    ProgressFn,
    Usage,
    UsageProgress,
    fold_into,
)

FIND = "find"  # looked up on PATH; tests point it elsewhere to force the fallback
MIN_VERSION = (4, 6)  # -printf %d %i %D %s %b %P, -xdev and the O_NOFOLLOW fts walk all predate it
PIPE_SIZE = 1 << 20  # find's output pipe (the default unprivileged maximum)
READ_SIZE = 1 << 20
SLICE = 16384  # bytes totalled between cancel and progress checks: ~1,500 entries
BATCH_S = 0.004  # pause after a short read, so that reads come in tens of KB, not find's 4 KB writes
POLL_MS = 50  # the longest a cancel waits while find is busy in a slow folder
MAX_WORKERS = 4  # finds walking the root's folders at once (one per usable core, at most this)
WORKERS: int | None = None  # tests fix it; None: from the usable cores
ARGV_BYTES = 1 << 17  # start folders per find: well within a command line's limits

_DIR_FORMAT = r"\0D%d %i %D %s %b %p\0"
_LINK_FORMAT = r"\0H%d %i %D %s %b\0"
_FILE_FORMAT = r"%d %s %b\n"
_ERROR_LINE = re.compile(rb"find: '((?:[^'\\]|\\.)*)': (.*)", re.DOTALL)
_ESCAPE = re.compile(rb"\\([0-7]{1,3}|.)", re.DOTALL)
_SIMPLE_ESCAPES = {b"a": b"\a", b"b": b"\b", b"f": b"\f", b"n": b"\n", b"r": b"\r", b"t": b"\t", b"v": b"\v"}
_VERSION = re.compile(rb"GNU findutils\)? (\d+)\.(\d+)")


class FindUnusable(Exception):
    """find could not do this scan (missing, too old, or it walked something else): use the Python walk."""


@dataclass(frozen=True, slots=True)
class FindTool:
    """The outcome of looking for find: its path, or why it cannot be used (``path`` is then None)."""

    path: str | None
    reason: str = ""


_tools: dict[str, FindTool] = {}
_tools_lock = threading.Lock()


def find_tool() -> FindTool:
    """The GNU find to scan with (looked up once per process and value of :data:`FIND`)."""
    command = FIND
    with _tools_lock:
        known = _tools.get(command)
        if known is None:
            known = _tools[command] = _probe(command)
        return known


def _probe(command: str) -> FindTool:
    path = shutil.which(command)
    if path is None:
        return FindTool(None, f"`{command}` is not installed")
    if not os.path.isdir("/proc/self/fd"):
        return FindTool(None, "/proc is not mounted, find cannot be given the open folder")
    try:
        done = subprocess.run([command, "--version"], executable=path, capture_output=True, timeout=10,
                              check=False, env={"LC_ALL": "C"}, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as exc:
        return FindTool(None, f"`{path} --version` failed: {exc}")
    found = _VERSION.search(done.stdout)
    if done.returncode != 0 or found is None:
        return FindTool(None, f"`{path}` is not GNU find")
    version = (int(found[1]), int(found[2]))
    if version < MIN_VERSION:
        return FindTool(None, f"`{path}` is GNU find {version[0]}.{version[1]}, older than "
                              f"{MIN_VERSION[0]}.{MIN_VERSION[1]}")
    return FindTool(path)


def unquote(text: bytes) -> bytes:
    """The bytes of a path as find's C-locale error messages escape it (``\\n``, ``\\'``, ``\\377``)."""

    def one(match: re.Match[bytes]) -> bytes:
        code = match[1]
        if code[0] in b"01234567":
            return bytes((int(code, 8) & 0xFF,))
        return _SIMPLE_ESCAPES.get(code, code)

    return _ESCAPE.sub(one, text)


class _Numbers(dict[bytes, int]):
    """``int(text)`` remembered: sizes and block counts repeat a lot, and a lookup is cheaper."""

    def __missing__(self, text: bytes) -> int:
        if len(self) >= 1 << 16:
            self.clear()
        value = self[text] = int(text)
        return value


_NUMBERS = _Numbers()  # shared by the scans of all threads: a dict lookup or store is atomic


class _Totals:
    """What all the find streams of one scan add up to: the tree, the counts, and the errors."""

    def __init__(self, root_stat: os.stat_result, tree: bool, prefix: bytes) -> None:
        self.root = DirUsage("")
        self.root_stat = root_stat
        self.tree = tree
        self.prefix = prefix  # every path find prints starts with it: /proc/self/fd/N/
        self.seen: set[tuple[bytes, bytes]] = set()
        self.files = self.dirs = self.apparent = self.blocks = self.errors = 0
        self.samples: list[str] = []
        self.current = b""
        self.rooted = False  # the root's record came: find walks the folder we opened

    def note(self, node: DirUsage, path: str, reason: str) -> None:
        node.errors += 1
        self.errors += 1
        if len(self.samples) < MAX_ERROR_SAMPLES:
            self.samples.append(f"{path}: {reason}")

    def relative(self, path: bytes) -> bytes:
        return path[len(self.prefix):] if path.startswith(self.prefix) else b""

    def error_lines(self, stderr: bytes) -> None:
        """Count find's error lines (once the streams are folded): each on the deepest folder of the tree
        along its path (an unreadable folder's own node; the parent of an entry that vanished)."""
        for line in stderr.splitlines():
            match = _ERROR_LINE.fullmatch(line)
            raw = unquote(match[1]) if match else b""
            if match is None or not (raw + b"/").startswith(self.prefix):
                if line.strip():
                    self.note(self.root, "/", line.decode(errors="replace"))
                continue
            relative = self.relative(raw)
            node = self.root
            for name in relative.split(b"/"):
                child = node.children.get(os.fsdecode(name))
                if child is None:
                    break
                node.errors += 1  # folded already: the error counts in every folder on the way
                node = child
            self.note(node, "/" + os.fsdecode(relative), match[2].decode(errors="replace"))


class _Stream:
    """The output of one find, totalled as it arrives; ``stack[k]`` is the open folder at depth ``k``.

    The first find starts at the root (``offset`` 0). With ``top`` (a list), it lists the root only
    and collects the root's sub-folders there, for the other finds, which start at those (``offset``
    1: their depth 0 is depth 1 of the tree).
    """

    def __init__(self, totals: _Totals, offset: int, top: list[bytes] | None = None) -> None:
        self.totals = totals
        self.offset = offset
        self.top = top
        self.stack: list[DirUsage] = [totals.root] if offset else []
        self.tail = b""
        self.in_record = False  # the tail is the start of a record, not of a run
        self.skipping = False  # inside a start folder on another file system (mounted since listed)

    def feed(self, data: bytes) -> None:
        """Total the complete records and lines of ``self.tail + data``; keep the unfinished end."""
        parts = (self.tail + data if self.tail else data).split(b"\0")
        last = parts.pop()
        in_record = self.in_record
        for part in parts:
            if in_record:
                self.record(part)
            elif part:
                self.run(part)
            in_record = not in_record
        if not in_record:  # an unfinished run: total its finished lines now, a huge folder has no NUL
            cut = last.rfind(b"\n") + 1
            if cut:
                self.run(last[:cut])
                last = last[cut:]
        self.tail, self.in_record = last, in_record

    def run(self, text: bytes) -> None:
        words = text.split()
        if self.skipping:
            starts = [index for index in range(0, len(words), 3) if words[index] == b"0"]
            if not starts:
                return
            self.skipping = False
            words = words[starts[0]:]
        number = _NUMBERS.__getitem__
        if words[0] == words[-3]:  # one depth throughout (the usual case: depth only falls in a run)
            self.add(int(words[0]), len(words) // 3, sum(map(number, words[1::3])),
                     sum(map(number, words[2::3])))
            return
        depths = words[0::3]
        start = 0
        for index in range(1, len(depths) + 1):
            if index == len(depths) or depths[index] != depths[start]:
                first, end = 3 * start, 3 * index
                self.add(int(depths[start]), index - start, sum(map(number, words[first + 1:end:3])),
                         sum(map(number, words[first + 2:end:3])))
                start = index

    def add(self, depth: int, files: int, apparent: int, blocks: int) -> None:
        stack = self.stack
        depth += self.offset
        while len(stack) > depth:
            self.close()
        node = stack[-1]
        node.apparent_bytes += apparent
        node.allocated_bytes += blocks * 512
        node.files += files
        totals = self.totals
        totals.files += files
        totals.apparent += apparent
        totals.blocks += blocks

    def close(self, complete: bool = True) -> None:
        node = self.stack.pop()
        node.complete = complete
        fold_into(node, self.stack[-1])

    def record(self, record: bytes) -> None:
        kind = record[:1]
        if kind == b"H":
            link_depth, inode, device, link_size, link_blocks = record[1:].split(b" ")
            if self.skipping and link_depth != b"0":
                return
            self.skipping = False
            key = (device, inode)
            if key not in self.totals.seen:
                self.totals.seen.add(key)
                self.add(int(link_depth), 1, int(link_size), int(link_blocks))
            return
        if kind != b"D":
            raise FindUnusable(f"find printed an unexpected record {record[:40]!r}")
        fields = record[1:].split(b" ", 5)
        if self.skipping and fields[0] != b"0":
            return
        self.skipping = False
        totals = self.totals
        depth, size, blocks = int(fields[0]) + self.offset, int(fields[3]), int(fields[4])
        if depth == 0:
            root = totals.root_stat
            if self.stack or (int(fields[1]), int(fields[2])) != (root.st_ino, root.st_dev):
                raise FindUnusable("find walked another folder than the one opened")
            node = totals.root
            totals.rooted = True
        else:
            stack = self.stack
            while len(stack) > depth:
                self.close()
            if int(fields[2]) != totals.root_stat.st_dev:
                # A mount point: like du -x we leave it out. -xdev keeps find out of it, unless it
                # is a start folder (mounted since the root was listed): skip up to the next one.
                self.skipping = depth == self.offset
                return
            path = totals.relative(fields[5])
            parent = stack[-1]
            if depth >= MAX_DEPTH:
                totals.note(parent, "/" + os.fsdecode(path), f"deeper than {MAX_DEPTH} levels, not scanned")
                return
            if self.top is not None:  # the listing of the root: the other finds walk its folders
                if not path or b"/" in path:
                    raise FindUnusable(f"find listed the root's folder {fields[5]!r} unexpectedly")
                self.top.append(path)
                return
            node = DirUsage(os.fsdecode(path.rpartition(b"/")[2]))
            if totals.tree:
                parent.children[node.name] = node
            totals.dirs += 1
            totals.current = path
        node.apparent_bytes += size
        node.allocated_bytes += blocks * 512
        totals.apparent += size
        totals.blocks += blocks
        self.stack.append(node)

    def finish(self, complete: bool) -> None:
        """Fold the folders still open into their parents (complete only when find got to the end)."""
        while len(self.stack) > 1:
            self.close(complete)


def scan_with_find(
    fd: int, tool: str, *, progress: ProgressFn | None, cancel: threading.Event | None,
    interval_s: float, tree: bool,
) -> Usage:
    """Scan the open folder ``fd`` with the find at ``tool``; see :func:`backend.volumes.usage.scan_usage`.

    Raises :class:`FindUnusable` (with every find already stopped) when find did not walk this folder.
    """
    scan = _FindScan(fd, tool, progress, cancel, interval_s, tree)
    if not scan.cancelled():
        scan.run()
    return scan.result()


def workers() -> int:
    """How many finds walk at once: one per usable core, at most :data:`MAX_WORKERS`."""
    if WORKERS is not None:
        return WORKERS
    return max(1, min(MAX_WORKERS, len(os.sched_getaffinity(0))))


@dataclass(eq=False)
class _Child:
    """One running find: its process, the stream of its output, and what it wrote to stderr."""

    process: subprocess.Popen[bytes]
    stream: _Stream
    out: int
    err: int
    stderr: bytearray = field(default_factory=bytearray)
    open_pipes: int = 2


class _FindScan:
    """One scan: a find that lists the root, then finds that walk its folders (a few at a time), and
    the streams they fill, all read in the scanning thread."""

    def __init__(self, fd: int, tool: str, progress: ProgressFn | None, cancel: threading.Event | None,
                 interval_s: float, tree: bool) -> None:
        self.fd = fd
        self.tool = tool
        self.progress = progress
        self.cancel = cancel
        self.interval_s = interval_s
        self.tree = tree
        self.started = time.monotonic()
        self.next_report = self.started + interval_s
        self.start = f"/proc/self/fd/{fd}/".encode()
        self.totals = _Totals(os.fstat(fd), tree, self.start)
        self.workers = workers()
        self.children: list[_Child] = []
        self.running: dict[int, _Child] = {}  # by pipe
        self.queue: list[list[bytes]] = []
        self.poller = select.poll()
        self.live = 0  # finds started and not ended
        self.error_lines = 0
        self.finished = False  # every find got to the end of its output
        self.failed = False  # a find stopped before it was done

    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()

    def report(self, force: bool = False) -> None:
        if self.progress is None:
            return
        now = time.monotonic()
        if force or now >= self.next_report:
            self.next_report = now + self.interval_s
            totals = self.totals
            self.progress(UsageProgress(totals.files, totals.dirs, totals.apparent, totals.blocks * 512,
                                        totals.errors + self.error_lines, now - self.started,
                                        "/" + os.fsdecode(totals.current)))

    def spawn(self, starts: list[bytes], stream: _Stream, max_depth: int) -> None:
        argv: list[str | bytes] = ["find", "-P", *starts, "-xdev", "-maxdepth", str(max_depth),
                                   "(", "-type", "d", "-printf", _DIR_FORMAT, ")",
                                   "-o", "(", "-links", "+1", "-printf", _LINK_FORMAT, ")",
                                   "-o", "-printf", _FILE_FORMAT]
        out, out_end = os.pipe()
        err, err_end = os.pipe()
        with contextlib.suppress(OSError):  # a larger pipe lets find run ahead between our reads
            fcntl.fcntl(out, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
        try:
            process = subprocess.Popen(argv, executable=self.tool, stdin=subprocess.DEVNULL, stdout=out_end,
                                       stderr=err_end, pass_fds=(self.fd,), cwd="/", env={"LC_ALL": "C"})
        except OSError as exc:
            os.close(out)
            os.close(err)
            raise FindUnusable(f"cannot start find: {exc}") from exc
        finally:
            os.close(out_end)
            os.close(err_end)
        child = _Child(process, stream, out, err)
        self.children.append(child)
        self.live += 1
        for pipe in (child.out, child.err):
            self.running[pipe] = child
            self.poller.register(pipe, select.POLLIN)

    def run(self) -> None:
        split = self.workers > 1
        root = _Stream(self.totals, 0, [] if split else None)
        try:
            self.spawn([self.start], root, 1 if split else MAX_DEPTH)
            self.pump()
        finally:
            for child in self.children:
                if child.process.returncode is None:
                    child.process.kill()  # cancelled, or failed: stop it now
                    child.process.wait()
                if child.err in self.running:  # what it said before it stopped
                    while data := os.read(child.err, READ_SIZE):
                        child.stderr += data
                os.close(child.out)
                os.close(child.err)

    def pump(self) -> None:
        """Total the finds' output as it comes, until all have ended (``finished``) or a cancel."""
        while self.running:
            if self.cancelled():
                return
            events = self.poller.poll(POLL_MS)
            if not events:
                self.report()  # find is busy in a slow folder: progress goes on all the same
            for pipe, _event in events:
                child = self.running[pipe]
                data = os.read(pipe, READ_SIZE)
                if not data:
                    self.poller.unregister(pipe)
                    del self.running[pipe]
                    child.open_pipes -= 1
                    if not child.open_pipes:
                        self.ended(child)
                elif pipe == child.err:
                    child.stderr += data
                    self.error_lines += data.count(b"\n")
                elif not self.total(child.stream, data):
                    return
                elif len(data) < READ_SIZE // 4 and child.stream.top is None:
                    time.sleep(BATCH_S)  # we are ahead of find: let its output pile up, fewer wake-ups
        self.finished = True

    def ended(self, child: _Child) -> None:
        """A find closed its output: reap it, fold its stream, and start the next finds."""
        child.process.wait()
        self.live -= 1
        stream = child.stream
        if stream.offset == 0 and not self.totals.rooted:
            said = child.stderr.decode(errors="replace").strip()[:200]
            raise FindUnusable(f"find printed nothing: {said}")
        stream.finish(True)
        if child.process.returncode not in (0, 1):
            self.totals.note(self.totals.root, "/", f"find stopped (status {child.process.returncode})")
            self.failed = True
        if stream.top:
            self.queue = _batches(stream.top, self.workers, len(self.start))
        while self.queue and self.live < self.workers:
            self.spawn([self.start + name for name in self.queue.pop()], _Stream(self.totals, 1),
                       MAX_DEPTH - 1)

    def total(self, stream: _Stream, data: bytes) -> bool:
        """Feed ``data`` in slices, with cancel checks and progress in between; False when cancelled."""
        for offset in range(0, len(data), SLICE):
            if self.cancelled():
                return False
            try:
                stream.feed(data[offset:offset + SLICE])
            except (ValueError, IndexError) as exc:
                raise FindUnusable(f"find printed what we cannot read: {exc}") from exc
            self.report()
        return True

    def result(self) -> Usage:
        totals, root = self.totals, self.totals.root
        if not totals.rooted:  # cancelled before find printed the root: its own size is known anyway
            root.apparent_bytes = totals.apparent = totals.root_stat.st_size
            totals.blocks = totals.root_stat.st_blocks
            root.allocated_bytes = totals.blocks * 512
        complete = self.finished and not self.failed
        for child in self.children:
            child.stream.finish(complete)
        root.complete = complete
        for child in self.children:
            totals.error_lines(bytes(child.stderr))
        self.report(force=True)
        return Usage(
            apparent_bytes=root.apparent_bytes,
            allocated_bytes=root.allocated_bytes,
            files=root.files,
            dirs=root.dirs,
            errors=root.errors,
            complete=complete,
            tree=root if self.tree else None,
            error_samples=tuple(totals.samples),
            elapsed_s=time.monotonic() - self.started,
            scanner="find",
        )


def _batches(names: list[bytes], workers: int, prefix: int) -> list[list[bytes]]:
    """The root's folders dealt out into a few batches, one find each (more when the names would not
    fit in one command line)."""
    count = max(2 * workers, sum(len(name) + prefix + 1 for name in names) // ARGV_BYTES + 1)
    count = min(count, len(names))
    return [names[index::count] for index in range(count)]
