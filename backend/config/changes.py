"""What a config edit changes, and saving it: checks of raw text, key positions, the unified diff,
impact notes per changed key, and the atomic save with conflict detection, ``.bak`` and undo.

The save calls go through the backend's read-only guard and through
:func:`backend.config.file.write_config_text`, so a crash leaves either the old or the new file.
"""

from __future__ import annotations

import asyncio
import difflib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from backend.config.document import Issue, document_issues
from backend.config.file import ConfigFile, read_config_file, write_config_text
from backend.config.schema import HOSTS_PATH, MISSING, SDK_KEYS, KeyPath, display_path, field_at, spec_for
from backend.config.text import key_offsets, locate_key
from backend.errors import ConfigConflictError, ConfigParseError, ConfigWriteError
from backend.fileio import fsync_dir
from backend.jsonio import JsonError, loads_strict

# -- checking raw text (the repair view) -----------------------------------------------------------


@dataclass(frozen=True)
class TextCheck:
    """The result of checking config.json text: the parsed object (None on a JSON error) and issues.

    ``line`` and ``column`` (1-based) point at the JSON error or at the key of the first schema error.
    """

    document: dict[str, Any] | None
    issues: tuple[Issue, ...] = ()
    syntax_error: str | None = None
    line: int | None = None
    column: int | None = None

    @property
    def errors(self) -> tuple[Issue, ...]:
        """The blocking issues."""
        return tuple(issue for issue in self.issues if issue.severity == "error")

    @property
    def ok(self) -> bool:
        """True when the text parses and validates, so it may be saved."""
        return self.syntax_error is None and not self.errors

    @property
    def summary(self) -> str:
        """One line for a status bar."""
        where = f"line {self.line}, column {self.column}: " if self.line is not None else ""
        if self.syntax_error is not None:
            return f"{where}{self.syntax_error}"
        if self.errors:
            first = self.errors[0]
            more = f" (+{len(self.errors) - 1} more)" if len(self.errors) > 1 else ""
            return f"{where}{first.where}: {first.message}{more}"
        return "valid: parses and matches microsandbox's schema"


def check_text(text: str) -> TextCheck:
    """Parse and validate ``text`` as config.json, never raising."""
    try:
        parsed = loads_strict(text)  # what microsandbox's parser rejects is rejected here too
    except JsonError as exc:
        message = "the file is empty" if not text.strip() else f"invalid JSON: {exc.reason}"
        return TextCheck(None, syntax_error=message, line=exc.line, column=exc.column)
    issues = tuple(document_issues(parsed))
    errors = [issue for issue in issues if issue.severity == "error"]
    position = locate_key(text, errors[0].path) if errors else None
    document = parsed if isinstance(parsed, dict) else None
    if position is None:
        return TextCheck(document, issues)
    return TextCheck(document, issues, line=position[0], column=position[1])


# -- changes, impact notes, diff -------------------------------------------------------------------

ChangeKind = Literal["added", "removed", "changed"]


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


@dataclass(frozen=True)
class Change:
    """One key whose value differs between the file on disk and the file to be written."""

    path: KeyPath
    old: Any
    new: Any

    @property
    def kind(self) -> ChangeKind:
        """Whether the key is new, removed, or has a new value."""
        if self.old is MISSING:
            return "added"
        return "removed" if self.new is MISSING else "changed"

    def describe(self) -> str:
        """``cpus: 1 -> 2``, ``cpus: set to 2``, ``cpus: removed (default 1 applies)``."""
        where = display_path(self.path)
        if self.kind == "added":
            return f"{where}: set to {_short(self.new)}"
        if self.kind == "removed":
            spec = spec_for(self.path)
            tail = f" (default {_short(spec.default)} applies)" if spec is not None else ""
            return f"{where}: removed{tail}"
        return f"{where}: {_short(self.old)} -> {_short(self.new)}"


def document_changes(old: dict[str, Any] | None, new: dict[str, Any]) -> list[Change]:
    """Leaf-level changes from ``old`` (None: no usable file) to ``new``, in ``new``'s key order."""
    changes: list[Change] = []
    _walk_changes(old if old is not None else {}, new, (), changes)
    return changes


def _walk_changes(old: Any, new: Any, path: KeyPath, out: list[Change]) -> None:
    old_is_obj = isinstance(old, dict) or old is MISSING
    new_is_obj = isinstance(new, dict) or new is MISSING
    if path and path[:2] == HOSTS_PATH and len(path) == 3 and (old is MISSING or new is MISSING):
        out.append(Change(path, old, new))  # a host added or removed is one change
        return
    if old_is_obj and new_is_obj and (isinstance(old, dict) or isinstance(new, dict)):
        old_map = old if isinstance(old, dict) else {}
        new_map = new if isinstance(new, dict) else {}
        if not old_map and not new_map:
            if old is MISSING or new is MISSING:  # an empty object appeared or went away
                out.append(Change(path, old, new))
            return
        for key in [*new_map, *(key for key in old_map if key not in new_map)]:
            _walk_changes(old_map.get(key, MISSING), new_map.get(key, MISSING), (*path, key), out)
        return
    if old is MISSING or new is MISSING or json.dumps(old) != json.dumps(new):
        out.append(Change(path, old, new))


NOT_READ = "microsandbox 0.5.x does not read this"


def impact_note(path: KeyPath) -> str:
    """Why a change at ``path`` matters, or does not, to microsandbox."""
    if not path:
        return "replaces the whole file"
    top = path[0]
    spec_field = field_at(path)
    extra = spec_field.json_schema_extra if spec_field is not None else None
    if isinstance(extra, dict) and extra.get("read_by_microsandbox") is False:
        return NOT_READ
    if top == "sandbox_defaults":
        return "affects only sandboxes created later"
    if top == "metrics":
        return "stop every sandbox of this home first: running sandboxes keep the old registry size"
    if top == "home" or (top == "paths" and path[1:2] not in (("msb",), ("libkrunfw",))):
        return "moves where data is looked for; existing data is not moved"
    if top == "paths":
        return "used when msb next starts a sandbox"
    if top == "database":
        return "applies on the next start of msb and this app"
    if top == "registries":
        return "used at the next image pull"
    if top in SDK_KEYS:
        return "SDK profile setting: used the next time an SDK or msb chooses its backend"
    return "not a microsandbox 0.5.x key: kept as is, ignored by microsandbox"


@dataclass(frozen=True)
class ImpactNote:
    """One impact note and the keys it applies to."""

    note: str
    paths: tuple[KeyPath, ...] = field(default_factory=tuple)

    def describe(self) -> str:
        """``note (key, key)``."""
        return f"{self.note} ({', '.join(display_path(path) for path in self.paths)})"


def impact_notes(changes: list[Change]) -> list[ImpactNote]:
    """Group the changes by impact note, in the order the notes first occur."""
    grouped: dict[str, list[KeyPath]] = {}
    for change in changes:
        grouped.setdefault(impact_note(change.path), []).append(change.path)
    return [ImpactNote(note, tuple(paths)) for note, paths in grouped.items()]


_INLINE_SECRET = re.compile(r'("inline:)([^"\\]|\\.)+(")')


def mask_secrets(text: str) -> str:
    """Hide ``inline:`` API keys of SDK profiles before showing file text."""
    return _INLINE_SECRET.sub(r"\1********\3", text)


def unified_diff(old_text: str | None, new_text: str | None, name: str = "config.json") -> str:
    """A unified diff of the file as it is against the file as it will be (secrets masked)."""
    before = mask_secrets(old_text or "").splitlines(keepends=True)
    after = mask_secrets(new_text or "").splitlines(keepends=True)
    lines = difflib.unified_diff(
        before, after,
        fromfile=f"{name} (on disk)" if old_text is not None else f"{name} (no file)",
        tofile=f"{name} (after save)" if new_text is not None else f"{name} (removed)",
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


# -- saving ----------------------------------------------------------------------------------------


class ConfigStore(Protocol):
    """What saving needs from a backend (``LocalBackend`` fits)."""

    @property
    def config_path(self) -> Path:
        """The config file."""
        ...

    def ensure_writable(self, action: str) -> None:
        """The read-only guard."""
        ...


@dataclass(frozen=True)
class SavedConfig:
    """A completed save: the file now on disk and what it replaced (for undo)."""

    file: ConfigFile
    previous_text: str | None
    previous_existed: bool

    @property
    def backup_path(self) -> Path:
        """Where the replaced version was kept."""
        return self.file.path.with_name(self.file.path.name + ".bak")


def expected_fingerprint_of(loaded: ConfigFile) -> str:
    """The fingerprint to pass when saving over ``loaded`` (``""`` means "the file must not exist")."""
    return loaded.fingerprint or ""


def save_config_text(store: ConfigStore, text: str, *, expected_fingerprint: str | None) -> SavedConfig:
    """Validate ``text`` and atomically write it, keeping the previous file as ``config.json.bak``.

    ``expected_fingerprint`` is the fingerprint the file had when loaded (see
    :func:`expected_fingerprint_of`); None overwrites whatever is there. Raises
    :class:`ConfigParseError` for text that would not load, :class:`ConfigConflictError` when the file
    changed meanwhile, :class:`ReadOnlyError` and :class:`ConfigWriteError`.
    """
    store.ensure_writable("save config")
    path = store.config_path
    check = check_text(text)
    if not check.ok:
        key_path = check.errors[0].where if check.errors else None
        raise ConfigParseError(
            f"not saved: {check.summary}. Fix it first; microsandbox would fall back to the defaults.",
            path, line=check.line, column=check.column, key_path=key_path,
        )
    current = read_config_file(path)
    if expected_fingerprint is not None and (current.fingerprint or "") != expected_fingerprint:
        raise ConfigConflictError(
            f"`{path}` changed on disk since it was loaded: reload it, or overwrite the other edit.",
            path, current.text,
        )
    written = write_config_text(path, text, expected_fingerprint=current.fingerprint or "", backup=True)
    return SavedConfig(written, current.text, current.exists)


def undo_save(store: ConfigStore, saved: SavedConfig) -> ConfigFile:
    """Put back what ``saved`` replaced, if the file is still the one that save wrote.

    The undone version is kept as ``config.json.bak``. When the save created the file, undo removes it
    (by moving it to ``config.json.bak``).
    """
    store.ensure_writable("undo the config save")
    path = store.config_path
    expected = saved.file.fingerprint or ""
    if saved.previous_existed and saved.previous_text is not None:
        return write_config_text(path, saved.previous_text, expected_fingerprint=expected, backup=True)
    current = read_config_file(path)
    if (current.fingerprint or "") != expected:
        raise ConfigConflictError(
            f"`{path}` changed on disk after the save, so it was not undone: reload to see the other edit.",
            path, current.text,
        )
    if current.exists:
        try:
            os.replace(path, saved.backup_path)
        except OSError as exc:
            raise ConfigWriteError(f"could not undo the save of `{path}`: {exc.strerror or exc}.", path) from exc
        fsync_dir(path.parent)
    return read_config_file(path)


async def load_config(store: ConfigStore) -> ConfigFile:
    """Read config.json off the event loop."""
    return await asyncio.to_thread(read_config_file, store.config_path)


async def save_config(store: ConfigStore, text: str, *, expected_fingerprint: str | None) -> SavedConfig:
    """:func:`save_config_text` off the event loop."""
    return await asyncio.to_thread(save_config_text, store, text, expected_fingerprint=expected_fingerprint)


async def undo_config_save(store: ConfigStore, saved: SavedConfig) -> ConfigFile:
    """:func:`undo_save` off the event loop."""
    return await asyncio.to_thread(undo_save, store, saved)


__all__ = [
    "Change",
    "ConfigStore",
    "ImpactNote",
    "SavedConfig",
    "TextCheck",
    "check_text",
    "document_changes",
    "expected_fingerprint_of",
    "impact_note",
    "impact_notes",
    "key_offsets",
    "load_config",
    "locate_key",
    "mask_secrets",
    "save_config",
    "save_config_text",
    "undo_config_save",
    "undo_save",
    "unified_diff",
]
