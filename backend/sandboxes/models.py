"""Plain data returned by :class:`backend.sandboxes.service.Sandboxes` (reference section 6).

Everything here is a frozen dataclass: cheap to build for a page of rows, safe to hand to a UI thread.
Nothing does I/O. Raw stored text is kept next to the parsed value wherever the stored value can be
odd, so a row that microsandbox would refuse to parse is still shown, with its problems attached.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from backend.errors import InvalidQueryError
from backend.sandboxes.pending import CallerOverrides, PendingChange

SandboxSort = Literal["name", "status", "created", "updated"]
SORT_KEYS: tuple[SandboxSort, ...] = ("name", "status", "created", "updated")

# Every status string microsandbox 0.5.x knows (section 6.2). Stored text is case-sensitive.
KNOWN_STATUSES: tuple[str, ...] = ("Running", "Draining", "Paused", "Stopped", "Crashed", "Created", "Starting")
ACTIVE_STATUSES: frozenset[str] = frozenset({"Running", "Draining"})
TERMINAL_STATUSES: frozenset[str] = frozenset({"Stopped", "Crashed"})
RUN_STATUSES: tuple[str, ...] = ("Running", "Terminated")
TERMINATION_REASONS: tuple[str, ...] = (
    "Completed",
    "Failed",
    "IdleTimeout",
    "AgentUnresponsive",
    "ShutdownRequested",
    "MaxDurationExceeded",
    "Signal",
    "InternalError",
)

_STATUS_BY_LOWER = {s.lower(): s for s in KNOWN_STATUSES}


def canonical_status(text: str) -> str:
    """The stored spelling of a status typed in any case (``running`` -> ``Running``); other text as is."""
    return _STATUS_BY_LOWER.get(text.strip().lower(), text.strip())


@dataclass(frozen=True, slots=True)
class SandboxQuery:
    """Which sandboxes to list and in what order.

    - ``name_contains``: case-insensitive substring of the name ("" = any).
    - ``statuses``: stored status texts to keep (exact, e.g. ``{"Running", "Draining"}``); empty = all.
      Use :func:`canonical_status` (or :meth:`parse`) to turn typed text into the stored spelling.
    - ``labels``: ``(key, value)`` pairs, AND-ed, exact string equality against ``config.labels``.
      As in microsandbox (section 6.5), ``("key", "")`` matches only a label whose value is empty;
      it is not a key-exists test.
    - ``sort`` and ``descending``: ``created`` descending is ``msb ls``; ``name`` ascending is ``msb ps``.
      Ties are broken by the row id in the same direction, so the order is total and stable.
    """

    name_contains: str = ""
    statuses: frozenset[str] = frozenset()
    labels: tuple[tuple[str, str], ...] = ()
    sort: SandboxSort = "created"
    descending: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.name_contains, str):
            raise InvalidQueryError(f"name filter must be text, got {type(self.name_contains).__name__}")
        if "\x00" in self.name_contains:
            raise InvalidQueryError("name filter must not contain a NUL character")
        if not isinstance(self.statuses, frozenset) or not all(
            isinstance(s, str) and s for s in self.statuses
        ):
            raise InvalidQueryError("statuses must be a frozenset of non-empty status texts, e.g. {'Running'}")
        if not isinstance(self.labels, tuple) or not all(
            isinstance(p, tuple) and len(p) == 2 and all(isinstance(x, str) for x in p) for p in self.labels
        ):
            raise InvalidQueryError("labels must be a tuple of (key, value) text pairs")
        for key, _value in self.labels:
            if not key:
                raise InvalidQueryError("a label filter needs a key: write label:KEY=VALUE or label:KEY")
        if self.sort not in SORT_KEYS:
            raise InvalidQueryError(f"unknown sort {self.sort!r}: use one of {', '.join(SORT_KEYS)}")
        if not isinstance(self.descending, bool):
            raise InvalidQueryError("descending must be True or False")

    @classmethod
    def parse(
        cls, text: str, *, sort: SandboxSort = "created", descending: bool = True
    ) -> SandboxQuery:
        """Parse the TUI filter box: ``web status:running label:team=ml label:gpu``.

        ``status:X`` (case-insensitive; repeat or comma-separate for several) keeps those statuses;
        ``label:K=V`` and ``label:K`` (value "") filter on labels; every other word is part of the name
        substring (words are joined with spaces). Quote with "…" to keep spaces in a label value.
        Raises :class:`InvalidQueryError` for an unclosed quote or an empty ``status:``/``label:``.
        """
        if not isinstance(text, str):
            raise InvalidQueryError(f"filter must be text, got {type(text).__name__}")
        try:
            tokens = shlex.split(text)
        except ValueError as exc:
            raise InvalidQueryError(f"cannot read the filter {text!r}: {exc} (close the quote)") from exc
        names: list[str] = []
        statuses: set[str] = set()
        labels: list[tuple[str, str]] = []
        for token in tokens:
            head, sep, rest = token.partition(":")
            lowered = head.lower()
            if sep and lowered == "status":
                parts = [p for p in rest.split(",") if p.strip()]
                if not parts:
                    raise InvalidQueryError("status: needs a value, e.g. status:running")
                statuses.update(canonical_status(p) for p in parts)
            elif sep and lowered == "label":
                key, _eq, value = rest.partition("=")
                if not key:
                    raise InvalidQueryError("label: needs a key, e.g. label:team=ml or label:team")
                labels.append((key, value))
            else:
                names.append(token)
        return cls(
            name_contains=" ".join(names),
            statuses=frozenset(statuses),
            labels=tuple(labels),
            sort=sort,
            descending=descending,
        )

    def to_text(self) -> str:
        """The filter-box text that :meth:`parse` turns back into this query's filters."""
        words = [shlex.quote(self.name_contains)] if self.name_contains else []
        words += [f"status:{s.lower() if s in KNOWN_STATUSES else s}" for s in sorted(self.statuses)]
        words += [shlex.quote(f"label:{k}={v}" if v else f"label:{k}") for k, v in self.labels]
        return " ".join(words)

    @property
    def is_filtered(self) -> bool:
        """True when any filter (not just the order) is set."""
        return bool(self.name_contains or self.statuses or self.labels)


@dataclass(frozen=True, slots=True)
class MountInfo:
    """One entry of ``config.mounts``.

    ``kind``: ``Bind``, ``Named``, ``Tmpfs``, ``DiskImage`` (or the unknown tag as stored).
    ``source``: the host path (Bind/DiskImage), the **volume name** (Named), ``tmpfs`` (Tmpfs).
    ``display``: as ``msb inspect`` prints the source (``volume:<name>``, ``tmpfs (64 MiB)``, …).
    """

    kind: str
    source: str
    guest: str
    readonly: bool
    display: str = ""
    flags: str = ""
    size_mib: int | None = None


@dataclass(frozen=True, slots=True)
class PortInfo:
    """One ``config.network.ports`` entry; ``str()`` is ``127.0.0.1:8080->80/tcp`` as ``msb ps``."""

    host_port: int | None
    guest_port: int | None
    protocol: str = "tcp"
    host_bind: str = "127.0.0.1"

    def __str__(self) -> str:
        host = "?" if self.host_port is None else str(self.host_port)
        guest = "?" if self.guest_port is None else str(self.guest_port)
        return f"{self.host_bind}:{host}->{guest}/{self.protocol}"


@dataclass(frozen=True, slots=True)
class RunInfo:
    """One ``run`` row (one boot). ``pid_alive`` is None when not checked (a terminated run or no pid)."""

    id: int
    pid: int | None
    status: str
    exit_code: int | None
    termination_reason: str | None
    started_at: datetime | None
    terminated_at: datetime | None
    pid_alive: bool | None = None
    started_at_text: str | None = None
    terminated_at_text: str | None = None


@dataclass(frozen=True, slots=True)
class SandboxRow:
    """One sandbox as a list shows it (``msb ls``/``msb ps`` columns and more).

    ``status`` is the stored text, unchanged; ``status_known`` is False for text microsandbox does not
    know. ``note`` explains a derived state, e.g. a ``Running`` row whose process is gone (microsandbox
    would rewrite it to ``Crashed`` when listing; this backend never writes while listing);
    ``effective_status`` is what ``msb ls`` would show after that rewrite. ``problems`` lists what was
    odd about the stored row (malformed config, nulls, unknown enum text); the row is listed anyway.
    ``image`` is ``-`` when unknown. ``live_pid`` is the pid ``msb ls`` would show (the latest Running
    run whose pid is alive). ``labels`` is a read-only mapping (shared between refreshes of a row);
    ``command`` is entrypoint + cmd joined by spaces (``msb ps`` shows it in quotes), or None.
    """

    id: int
    name: str
    status: str
    status_known: bool
    ephemeral: bool
    created_at: datetime | None
    updated_at: datetime | None
    image: str
    cpus: int | None
    memory_mib: int | None
    labels: Mapping[str, str]
    mounts: tuple[MountInfo, ...]
    ports: tuple[PortInfo, ...]
    latest_run: RunInfo | None
    note: str | None = None
    problems: tuple[str, ...] = ()
    effective_status: str = ""
    live_pid: int | None = None
    command: str | None = None
    image_kind: str | None = None


@dataclass(frozen=True, slots=True)
class SandboxPage:
    """One page of :meth:`Sandboxes.list`. Pass ``next_cursor`` as ``after=`` (or ``prev_cursor`` as
    ``before=``) with the same query for the adjacent page; None means there is no such page."""

    rows: tuple[SandboxRow, ...]
    next_cursor: str | None
    prev_cursor: str | None


@dataclass(frozen=True, slots=True)
class RootfsInfo:
    """Where the sandbox's root filesystem comes from: the config image plus the ``sandbox_rootfs`` pin."""

    kind: str
    source: str
    upper_size_mib: int | None = None
    manifest_digest: str | None = None
    pin_mode: str | None = None
    pin_upper_fstype: str | None = None
    pin_manifest_id: int | None = None
    pin_created_at: datetime | None = None
    disk_format: str | None = None
    disk_fstype: str | None = None
    #: 0.7: ``image.Oci.root_disk`` (``managed``, ``tmpfs``, ``disk-image``, ``flat``) and its size.
    root_disk_kind: str | None = None
    root_disk_size_mib: int | None = None
    #: 0.7: ``image.Bind.follow_root_symlinks``.
    follow_root_symlinks: bool | None = None


@dataclass(frozen=True, slots=True)
class SandboxDetail:
    """Everything ``msb inspect`` shows, and more.

    ``config``: the parsed config with secret-looking env values (and ``network.secrets``) masked as
    ``"********"``; None when the stored text is not a JSON object. ``config_text``: the stored text,
    unmasked only if nothing looked secret (otherwise re-serialised from the masked config).
    ``env``: ``(key, masked value)`` pairs. ``runs``: every run, newest first.
    """

    row: SandboxRow
    config: Mapping[str, Any] | None
    config_text: str
    env: tuple[tuple[str, str], ...]
    runs: tuple[RunInfo, ...]
    rootfs: RootfsInfo
    ports: tuple[PortInfo, ...]
    mounts: tuple[MountInfo, ...]
    sandbox_dir: str
    sandbox_dir_exists: bool
    security_profile: str | None = None
    workdir: str | None = None
    shell: str | None = None
    masked_keys: tuple[str, ...] = ()
    #: 0.7 homes (None on 0.5): the resize ceilings, the per-sandbox profile and mount policy.
    max_cpus: int | None = None
    max_memory_mib: int | None = None
    deployment_profile: str | None = None
    external_mount_policy: str | None = None
    #: 0.7: the network identity leased while active (1..65535).
    network_slot: int | None = None
    #: 0.7: what the runtime booted with, masked like ``config``; None when not active.
    active_config: Mapping[str, Any] | None = None
    #: 0.7: keys whose desired value differs from the booted one (``msb inspect``'s pending_changes).
    pending_changes: tuple[PendingChange, ...] = ()
    #: 0.7: the caller's explicit settings, None when the row records none.
    caller_overrides: CallerOverrides | None = None


LogKind = Literal["exec", "runtime", "kernel", "boot-error", "other"]


@dataclass(frozen=True, slots=True)
class LogFileInfo:
    """One file in ``sandboxes/<name>/logs/``. ``rotation`` is 1..4 for ``exec.log.N``, else 0."""

    name: str
    kind: LogKind
    size: int
    modified: datetime | None
    rotation: int = 0


@dataclass(frozen=True, slots=True)
class LogChunk:
    """Lines read from a log file.

    ``start_offset``..``end_offset`` is the byte range consumed; pass ``end_offset`` to
    :meth:`Sandboxes.read_from` to follow. ``partial_last`` is True when the last line has no newline
    yet: ``end_offset`` then points at its start, so the next ``read_from`` returns it again, complete
    (a follow view replaces its last line instead of appending). ``reset`` is True when the file shrank
    below the requested offset (rotated or truncated) and reading restarted at 0. ``truncated_lines``
    counts lines cut to the line-length cap; ``skipped_bytes`` counts bytes before the first line that a
    tail did not look at because it hit its scan budget (0 when it reached the file start or had enough
    lines). ``size`` is the file size seen; ``eof`` is True when the read reached it.
    """

    lines: tuple[str, ...]
    start_offset: int
    end_offset: int
    size: int
    partial_last: bool = False
    reset: bool = False
    truncated_lines: int = 0
    skipped_bytes: int = 0
    eof: bool = True
