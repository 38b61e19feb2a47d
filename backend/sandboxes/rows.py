"""Turn stored ``sandbox`` and ``run`` tuples into :class:`SandboxRow` and :class:`RunInfo`.

Nothing here raises on odd data: each oddity becomes a ``problems`` line on its row. The derived
"would be Crashed" note follows microsandbox's read-time reconciliation (section 6.2) without writing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from backend.fileio import pid_alive
from backend.profiles.base import PROFILE_0_5, StatusRules
from backend.sandboxes.models import (
    ACTIVE_STATUSES,
    KNOWN_STATUSES,
    RUN_STATUSES,
    TERMINATION_REASONS,
    RunInfo,
    SandboxRow,
)
from backend.sandboxes.names import sandbox_name_problem
from backend.sandboxes.parse import ParsedConfig, parse_config, parse_config_for_row
from backend.timefmt import parse_ts

_KNOWN = frozenset(KNOWN_STATUSES)
_RUN_STATUSES = frozenset(RUN_STATUSES)
_REASONS = frozenset(TERMINATION_REASONS)


def fast_ts(text: str) -> datetime | None:
    """:func:`backend.timefmt.parse_ts`, with a C fast path for the shape microsandbox writes
    (``YYYY-MM-DD HH:MM:SS`` plus 0-9 fractional digits)."""
    if 19 <= len(text) <= 29 and text[10] == " " and (len(text) == 19 or (text[19] == "." and text[20:].isdigit())):
        try:
            return datetime.fromisoformat(text[:26] + "+00:00")  # 3x faster than .replace(tzinfo=)
        except ValueError:
            return None
    return parse_ts(text)


def _time(value: object, what: str, problems: list[str]) -> tuple[datetime | None, str | None]:
    if value is None:
        return None, None
    text = value if isinstance(value, str) else str(value)
    moment = fast_ts(text) if isinstance(value, str) else None
    if moment is None:
        problems.append(f"{what} {text!r} is not a timestamp")
    return moment, text


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def make_run(row: Sequence[Any], problems: list[str], *, check_pid: bool = True) -> RunInfo:
    """A :class:`RunInfo` from ``(id, sandbox_id, pid, status, exit_code, termination_reason,
    started_at, terminated_at, ...)``; the pid is checked only for a ``Running`` run."""
    run_id, _sandbox_id, pid, status, exit_code, reason, started, terminated = row[:8]
    status_text = str(status)
    if status_text not in _RUN_STATUSES:
        problems.append(f"run {run_id} has unknown status {status_text!r}")
    if reason is not None and reason not in _REASONS:
        problems.append(f"run {run_id} has unknown termination reason {reason!r}")
    if pid is not None and _int(pid) is None:
        problems.append(f"run {run_id} has a pid that is not a number: {pid!r}")
    started_at, started_text = _time(started, f"run {run_id} started_at", problems)
    terminated_at, terminated_text = _time(terminated, f"run {run_id} terminated_at", problems)
    number = _int(pid)
    alive = pid_alive(number) if check_pid and status_text == "Running" and number is not None else None
    return RunInfo(
        id=int(run_id),
        pid=number,
        status=status_text,
        exit_code=_int(exit_code),
        termination_reason=None if reason is None else str(reason),
        started_at=started_at,
        terminated_at=terminated_at,
        pid_alive=alive,
        started_at_text=started_text,
        terminated_at_text=terminated_text,
    )


def _ephemeral(column: object, parsed: ParsedConfig, problems: list[str]) -> bool:
    if column in (0, 1, True, False):
        value = bool(column)
    else:
        problems.append(f"ephemeral column holds {column!r}, expected 0 or 1")
        value = str(column).strip().lower() in ("1", "true")
    # Migration 12 did not backfill the column, so older rows only say it in their config.
    return value or parsed.ephemeral is True


def reconcile_note(status: str, runs: Iterable[RunInfo], lifecycle_held: bool | None = None,
                   rules: StatusRules = PROFILE_0_5.status_rules) -> tuple[str | None, str, int | None]:
    """``(note, effective status, live pid)`` the way ``msb ls`` would see the row.

    A runtime that holds the sandbox's lifecycle lock (``run/locks/<h>.lock``) owns it: the row is
    left alone whatever its pid says, as microsandbox's reconciliation does. Otherwise, for
    ``Running``/``Draining`` rows microsandbox looks at the latest ``Running`` run: none means still
    starting; a NULL or dead pid means it rewrites the row to ``Crashed`` (a ``Draining`` row to
    ``rules.draining_dead``: ``Stopped`` since 0.7). Since 0.7 a ``Starting`` row with no run and no lock
    holder becomes ``rules.abandoned_starting``. ``live pid`` is the most recent ``Running`` run whose
    pid is alive (``Sandbox::list``).
    """
    running = [run for run in runs if run.status == "Running"]
    live_pid = next((run.pid for run in running if run.pid_alive), None)
    if status == "Starting" and rules.abandoned_starting is not None and not lifecycle_held and not running:
        target = rules.abandoned_starting
        return (f"no run and no runtime holds it: microsandbox would mark it {target}", target, None)
    if status in ACTIVE_STATUSES:
        if lifecycle_held:
            return None, status, live_pid
        if not running:
            return "no run recorded yet: the sandbox is still starting", status, None
        latest = running[0]
        target = rules.draining_dead if status == "Draining" else "Crashed"
        if latest.pid is None:
            return (f"run {latest.id} has no pid: microsandbox would mark it {target}", target, live_pid)
        if not latest.pid_alive:
            return (f"pid {latest.pid} is not alive: microsandbox would mark it {target}", target,
                    live_pid)
        return None, status, live_pid
    if live_pid is not None:
        return f"pid {live_pid} of a Running run is still alive although the sandbox is {status}", status, live_pid
    return None, status, None


def make_row(stored: Sequence[Any], runs: Sequence[RunInfo], run_problems: Sequence[str] = (),
             lifecycle_held: bool | None = None, rules: StatusRules = PROFILE_0_5.status_rules) -> SandboxRow:
    """A :class:`SandboxRow` from ``(id, name, config, status, created_at, updated_at, ephemeral, ...)``
    and its runs, newest first (at least the latest run and the latest ``Running`` runs).
    ``lifecycle_held``: whether a runtime holds the sandbox's lifecycle lock (None: not looked at)."""
    row_id, name, config, status, created, updated, ephemeral = stored[:7]
    parsed = parse_config_for_row(config) if isinstance(config, (str, bytes)) else parse_config(config)
    problems: list[str] = []
    name_text = name if isinstance(name, str) else str(name)
    name_problem = sandbox_name_problem(name_text)
    if name_problem is not None:
        problems.append(name_problem)
    status_text = status if isinstance(status, str) else str(status)
    known = status_text in _KNOWN
    if not known:
        problems.append(f"unknown status {status_text!r}: microsandbox cannot list this row")
    created_at, _ = _time(created, "created_at", problems)
    updated_at, _ = _time(updated, "updated_at", problems)
    problems.extend(parsed.problems)
    if parsed.config_name is not None and parsed.config_name != name_text:
        problems.append(f"config name {parsed.config_name!r} differs from the row name")
    problems.extend(run_problems)
    note, effective, live_pid = reconcile_note(status_text, runs, lifecycle_held, rules)
    latest = max(runs, key=_run_order) if runs else None
    return SandboxRow(
        id=int(row_id),
        name=name_text,
        status=status_text,
        status_known=known,
        ephemeral=_ephemeral(ephemeral, parsed, problems),
        created_at=created_at,
        updated_at=updated_at,
        image=parsed.image,
        cpus=parsed.cpus,
        memory_mib=parsed.memory_mib,
        labels=parsed.labels,
        mounts=parsed.mounts,
        ports=parsed.ports,
        latest_run=latest,
        note=note,
        problems=tuple(problems),
        effective_status=effective,
        live_pid=live_pid,
        command=parsed.command,
        image_kind=parsed.image_kind,
    )


def _run_order(run: RunInfo) -> tuple[str, int]:
    # The order SQL uses: started_at text (NULL first), then id.
    return (run.started_at_text or "", run.id)


def group_runs(rows: Iterable[Sequence[Any]]) -> dict[int, tuple[list[RunInfo], list[str]]]:
    """Runs by sandbox id (in the order given: newest first), with the problems they carry."""
    grouped: dict[int, tuple[list[RunInfo], list[str]]] = {}
    for row in rows:
        runs, problems = grouped.setdefault(int(row[1]), ([], []))
        runs.append(make_run(row, problems))
    return grouped
