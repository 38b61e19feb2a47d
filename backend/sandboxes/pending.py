"""0.7 rows: what the running runtime booted with (``active_config``) against the persisted ``config``,
as ``msb inspect`` shows ``pending_changes``; and whether the caller's sparse overrides still match."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from backend.jsonio import JsonError, loads_row

_MISSING = object()


@dataclass(frozen=True, slots=True)
class PendingChange:
    """One key whose desired value (``config``) differs from the booted one (``active_config``);
    values as compact JSON text, ``None`` when the key is absent on that side."""

    path: str
    active: str | None
    desired: str | None


def _text(value: Any) -> str | None:
    return None if value is _MISSING else json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def pending_changes(active: Any, desired: Any) -> tuple[PendingChange, ...]:
    """Leaf differences of two config documents (objects are walked; lists and values compare whole),
    in ``desired``'s key order; empty when either side is not an object."""
    if not isinstance(active, dict) or not isinstance(desired, dict):
        return ()
    out: list[PendingChange] = []
    _walk(active, desired, "", out)
    return tuple(out)


def _walk(old: Any, new: Any, path: str, out: list[PendingChange]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*new, *(k for k in old if k not in new)]:
            _walk(old.get(key, _MISSING), new.get(key, _MISSING), f"{path}.{key}" if path else str(key), out)
        return
    if _text(old) != _text(new):
        out.append(PendingChange(path or "(config)", _text(old), _text(new)))


@dataclass(frozen=True, slots=True)
class CallerOverrides:
    """``caller_config_overrides``: the keys the caller set explicitly, and whether its digest still
    matches the exact bytes of ``config`` (any rewrite of ``config`` makes it stale)."""

    keys: tuple[str, ...]
    digest_matches: bool | None
    problem: str | None = None


def caller_overrides(stored: object, config_text: object) -> CallerOverrides | None:
    """Read the column; None when it is NULL (no overrides recorded, e.g. a migrated row)."""
    if stored is None:
        return None
    try:
        document = loads_row(stored) if isinstance(stored, (str, bytes)) else None
    except JsonError as exc:
        return CallerOverrides((), None, f"caller_config_overrides is not valid JSON ({exc})")
    if not isinstance(document, dict):
        return CallerOverrides((), None, "caller_config_overrides is not a JSON object")
    spec = document.get("caller_config_overrides")
    spec = spec.get("spec") if isinstance(spec, dict) else None
    keys = tuple(str(k) for k in spec) if isinstance(spec, dict) else ()
    digest = document.get("config_digest")
    matches: bool | None = None
    if isinstance(digest, list) and all(isinstance(b, int) and 0 <= b <= 255 for b in digest) and \
            isinstance(config_text, str):
        matches = bytes(digest) == hashlib.sha256(config_text.encode()).digest()
    return CallerOverrides(keys, matches)
