"""Pure helpers and the info line's view model of the sandbox list screen (:mod:`tui.screens.sandboxes.screen`)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from textual.content import Content

from backend.sandboxes.models import KNOWN_STATUSES, SandboxDetail, SandboxRow, SandboxSort
from backend.timefmt import rfc3339
from tui.format import STATUS_SYMBOLS, UNKNOWN_STATUS, status_kind

REFRESH_CHOICES = (1.0, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0)
REFRESH_ENV = "MSB_TUI_REFRESH_SECS"
DEFAULT_DESCENDING: dict[str, bool] = {"created": True, "updated": True, "name": False, "status": False}

HELP = """\
List: ↑/↓ or j/k move, PgUp/PgDn, Home/End (g/G); click a row; Enter opens the detail panel, Esc returns;
Tab moves between the list, the detail tabs and their contents.
Filter (/): words match part of the name; status:running (or status:stopped,crashed) keeps those
statuses; label:team=ml keeps sandboxes with that label (label:ci matches an empty value, as msb does).
Quote values with spaces: label:"owner=ana b". Esc in the filter clears it; Enter goes back to the list.
Sort: s cycles name / status / age / updated, S reverses; or click a column header.
Auto-refresh keeps your selection; p pauses it, + and - change the interval, r refreshes now.
In Mounts, Enter on a named volume opens it in the volume browser. y copies the name, Y the JSON.
A row whose process is gone is shown as stored with a note (msb would mark it crashed).
Remove (x) asks you to type the name; it is refused for running/draining sandboxes and in read-only mode."""


def default_refresh_interval() -> float:
    """``MSB_TUI_REFRESH_SECS`` when it is a positive number, else 3 seconds."""
    try:
        value = float(os.environ.get(REFRESH_ENV, "3"))
    except ValueError:
        return 3.0
    return value if value > 0 else 3.0


def inspect_json(row: SandboxRow, detail: SandboxDetail | None) -> str:
    """The sandbox as ``msb inspect --format json`` prints it (secret env values masked)."""
    config = dict(detail.config) if detail is not None and detail.config is not None else None
    document = {
        "name": row.name,
        "status": row.status,
        "config": config,
        "created_at": rfc3339(row.created_at),
        "updated_at": rfc3339(row.updated_at),
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


SUMMARY_STYLES = {
    "running": "bold $success",
    "transition": "bold $warning",
    "idle": "",
    "crashed": "bold $error",
    "unknown": "italic $secondary",
}


def summary_text(counts: dict[str, int]) -> Content:
    """``18 sandboxes: ● 5 running · ■ 7 stopped · …`` (known statuses first, then the others)."""
    total = sum(counts.values())
    parts: list[str | tuple[str, str]] = [(f"{total:,} sandbox{'es' if total != 1 else ''}", "bold")]
    order = ["Running", "Stopped", "Crashed", "Draining", "Paused", "Starting", "Created"]
    order += sorted(s for s in counts if s not in KNOWN_STATUSES)
    first = True
    for status in order:
        n = counts.get(status, 0)
        if not n:
            continue
        symbol, _ = STATUS_SYMBOLS.get(status, UNKNOWN_STATUS)
        parts.append(": " if first else "  ")
        first = False
        parts.append((f"{symbol}{n:,} {status.lower()}", SUMMARY_STYLES[status_kind(status)]))
    return Content.assemble(*parts)


@dataclass(frozen=True)
class ListInfo:
    """What the info line beside the status counts shows (the screen holds one as a reactive)."""

    sort: SandboxSort = "created"
    descending: bool = True
    #: Rows matching the filter (shown only while a filter is on).
    total_shown: int = 0
    #: "⧗ database busy, retrying" or "✖ refresh failed" while that lasts.
    busy_note: str = ""
    paused: bool = False
    refresh_interval: float = 5.0
    #: When the list was last counted (HH:MM:SS).
    last_updated: str = ""


def info_text(info: ListInfo, *, filtered: bool) -> str:
    """``12 shown  sort:age▼  ⟳5s  12:00:00``: counts, order, refresh state and last update."""
    parts: list[str] = []
    if filtered:
        parts.append(f"{info.total_shown:,} shown")
    arrow = "▼" if info.descending else "▲"
    label = {"created": "age"}.get(info.sort, info.sort)
    parts.append(f"sort:{label}{arrow}")
    if info.busy_note:
        parts.append(info.busy_note)
    elif info.paused:
        parts.append("⏸ paused")
    else:
        parts.append(f"⟳{info.refresh_interval:g}s")
    if info.last_updated:
        parts.append(info.last_updated)
    return "  ".join(parts)
