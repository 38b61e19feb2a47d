"""Sandbox operations on one home: list, inspect, logs and remove (reference section 6, 7.2-7.5).

Reads never write: where microsandbox's own list rewrites a ``Running`` row with a dead process to
``Crashed``, rows here keep their stored status and carry a ``note`` (and ``effective_status``) instead.
A row with a malformed config, nulls or unknown enum text is listed with its ``problems``; it never
breaks the query for the others.
"""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import TYPE_CHECKING

from backend.db.inflight import finishes
from backend.sandboxes.logs import list_log_files, read_file_from, tail_file
from backend.sandboxes.models import (
    LogChunk,
    LogFileInfo,
    SandboxDetail,
    SandboxPage,
    SandboxQuery,
    SandboxRow,
)
from backend.sandboxes.names import validate_sandbox_name
from backend.sandboxes.query import count_rows, get_detail, list_page, status_counts, window_rows
from backend.sandboxes.remove import remove_sandbox

if TYPE_CHECKING:
    from backend.home import HomeContext

DEFAULT_PAGE = 100


def _query(query: SandboxQuery | None) -> SandboxQuery:
    return SandboxQuery() if query is None else query


class Sandboxes:
    """Sandboxes of one backend's home. Construction does no I/O."""

    def __init__(self, backend: HomeContext) -> None:
        self._backend = backend

    # -- listing --------------------------------------------------------------------------------

    @finishes
    async def list(
        self,
        query: SandboxQuery | None = None,
        *,
        limit: int = DEFAULT_PAGE,
        after: str | None = None,
        before: str | None = None,
    ) -> SandboxPage:
        """One page of rows matching ``query`` in its order (keyset pagination).

        ``after``/``before``: a cursor from a previous page (at most one of them). A cursor is a
        position in one sort order: it must come from a query with the same ``sort`` and
        ``descending``, but the filters may change between pages. A page costs the same at the start
        and the end of the list. ``limit`` is 1..10000.
        Raises :class:`InvalidQueryError`/:class:`InvalidCursorError` for bad input.
        """
        return await list_page(self._backend, _query(query), limit=limit, after=after, before=before)

    @finishes
    async def window(self, query: SandboxQuery | None, offset: int, limit: int) -> builtins.list[SandboxRow]:
        """Rows ``offset .. offset+limit-1`` of ``query``'s order (random access for a virtual table
        that jumps with the scrollbar). ``offset >= 0``; ``limit`` is 0..10000."""
        return await window_rows(self._backend, _query(query), offset, limit)

    @finishes
    async def count(self, query: SandboxQuery | None = None) -> int:
        """How many rows match ``query`` (all rows when None)."""
        return await count_rows(self._backend, _query(query))

    @finishes
    async def counts_by_status(self) -> dict[str, int]:
        """Stored status text -> number of rows, for a summary header (unknown texts included as is)."""
        return await status_counts(self._backend)

    # -- one sandbox ------------------------------------------------------------------------------

    @finishes
    async def get(self, name: str) -> SandboxDetail:
        """Everything about one sandbox: the row, the parsed config (secret env values masked), the
        mounts with volume names, ports, rootfs and the run history (newest first).

        Raises :class:`SandboxNotFoundError` (``sandbox not found: NAME``), or
        :class:`InvalidSandboxNameError` for a name that is not text or is empty.
        """
        return await get_detail(self._backend, name)

    @finishes
    async def remove(self, name: str) -> None:
        """Delete the sandbox's row (its runs, rootfs pin and labels cascade) and its folder, like
        ``msb rm``.

        Refused with :class:`SandboxStillRunningError` while the status is ``Running`` or ``Draining``
        (``Paused``, ``Stopped``, ``Crashed`` can be removed), with :class:`SandboxNotRemovableError`
        for an unknown status or a run whose process is still alive, with :class:`ReadOnlyError` on a
        read-only backend. The folder is moved aside inside the transaction and deleted after commit,
        so a failure leaves either everything or nothing (a leftover folder is reported by
        :class:`SandboxRemoveError`, naming its path).
        """
        await remove_sandbox(self._backend, name)

    def sandbox_dir(self, name: str) -> Path:
        """``sandboxes_dir()/name``; raises :class:`InvalidSandboxNameError` for a name that breaks
        microsandbox's rule (so it can never point outside the sandboxes folder). No I/O."""
        validate_sandbox_name(name)
        return self._backend.sandboxes_dir() / name

    # -- logs -----------------------------------------------------------------------------------------

    def _log_anchor(self) -> Path:
        """Where log paths start being opened without following symlinks: the home when the sandboxes
        folder is inside it (``sandboxes -> elsewhere`` is refused too), else the sandboxes folder."""
        home, sandboxes = self._backend.home(), self._backend.sandboxes_dir()
        return home if sandboxes.is_relative_to(home) else sandboxes

    async def log_files(self, name: str) -> builtins.list[LogFileInfo]:
        """Files in ``sandboxes/<name>/logs/``: ``exec.log`` and its rotations ``.1``..``.4``,
        ``runtime.log``, ``kernel.log``, ``boot-error.json`` (and any other regular file), in that order.
        An absent folder gives an empty list (ephemeral sandboxes lose their logs when they stop)."""
        return await list_log_files(self._log_anchor(), self.sandbox_dir(name) / "logs")

    async def tail(self, name: str, file: str, lines: int = 200) -> LogChunk:
        """The last ``lines`` lines of a log file, read backwards in blocks from the end (never the whole
        file). Long lines are cut to a cap; invalid UTF-8 is replaced. ``end_offset`` is where
        :meth:`read_from` continues when following.

        Raises :class:`LogFileNotFoundError`, :class:`LogReadError`, or :class:`InvalidQueryError` for a
        file name that is not a plain name in the logs folder or ``lines`` outside 1..100000.
        """
        return await tail_file(self._log_anchor(), self.sandbox_dir(name) / "logs", name, file, lines)

    async def read_from(self, name: str, file: str, offset: int, max_bytes: int = 1 << 20) -> LogChunk:
        """Lines appended after byte ``offset`` (for follow), at most ``max_bytes`` read (1..16 MiB).

        An unfinished last line comes with ``partial_last=True`` and ``end_offset`` at its start, so
        the next call returns it again, complete (replace it rather than append). A line longer than
        the whole read is shown cut and skipped past. A file that shrank below ``offset`` (rotated or
        truncated) is read again from 0 with ``reset=True``.
        """
        return await read_file_from(self._log_anchor(), self.sandbox_dir(name) / "logs", name, file, offset, max_bytes)
