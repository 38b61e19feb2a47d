"""``config.json`` on disk: reading it (a broken file is reported, never fatal), and loss-free atomic
saving that keeps unknown keys and their order (the models are in :mod:`backend.config.model`)."""

from __future__ import annotations

import errno
import hashlib
import json
import stat
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from backend.config.model import LocalConfig
from backend.config.text import render_preserving
from backend.errors import ConfigConflictError, ConfigParseError, ConfigReadError, ConfigWriteError
from backend.fileio import atomic_write_bytes
from backend.jsonio import JsonError, loads_row, loads_strict
from backend.safeopen import FileTooLargeError, SpecialFileError, read_regular

#: More than any config.json microsandbox writes (a few KB); a bigger file is refused unread.
CONFIG_MAX_BYTES = 4 * 1024 * 1024


def dumps_config(document: dict[str, Any]) -> str:
    """Two-space pretty JSON plus a trailing newline, as ``save_persisted_config`` writes."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def parse_config_text(text: str, path: Path) -> tuple[dict[str, Any], LocalConfig]:
    """Parse ``text`` as config.json; return the raw document and the validated model.

    Raises :class:`ConfigParseError` with the line and column of a JSON error, or the key path of a
    schema error.
    """
    try:
        document = loads_strict(text)
    except JsonError as exc:
        what = "the file is empty" if not text.strip() else f"invalid JSON: {exc.reason}"
        where = f" at line {exc.line} column {exc.column}" if exc.line is not None else ""
        raise ConfigParseError(
            f"failed to parse config `{path}`: {what}{where}. "
            "Fix the JSON (microsandbox itself would silently fall back to defaults).",
            path,
            line=exc.line,
            column=exc.column,
            summary=f"{path.name} is empty: fix it" if not text.strip()
            else f"{path.name} line {exc.line}: fix the JSON" if exc.line is not None
            else f"{path.name}: fix the JSON",
        ) from None
    return document, validate_config_document(document, path)


def validate_config_document(document: Any, path: Path) -> LocalConfig:
    """Validate an already-parsed document; raise :class:`ConfigParseError` naming the bad key."""
    try:
        return LocalConfig.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        key_path = ".".join(str(part) for part in first["loc"]) or None
        problems = len(exc.errors())
        more = f" (and {problems - 1} more problem{'s' if problems > 2 else ''})" if problems > 1 else ""
        if key_path:
            detail = f"{key_path}: {first['msg']}{more}. Fix the value, or remove the key to use its default."
        else:
            detail = f"{first['msg'].removeprefix('Value error, ')}. Start from an object such as {{}}."
        raise ConfigParseError(
            f"failed to parse config `{path}`: {detail}",
            path,
            key_path=key_path,
            summary=f"{path.name}: fix {key_path}" if key_path else f"{path.name}: must be an object",
        ) from None


@dataclass(frozen=True)
class ConfigFile:
    """config.json as read from disk: its text, a fingerprint to detect later edits, and the parse.

    ``exists`` is False for a missing file (the defaults apply). ``error`` is set when the file cannot
    be read or parsed; ``config`` then holds the defaults microsandbox would fall back to.
    """

    path: Path
    exists: bool
    text: str | None
    fingerprint: str | None
    document: dict[str, Any] | None
    config: LocalConfig
    error: ConfigReadError | ConfigParseError | None = None


def _fingerprint(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_config_file(path: Path) -> ConfigFile:
    """Read and parse ``path`` without raising; the error, if any, is in the result."""
    try:
        # Non-blocking, regular files only, capped: a FIFO or /dev/zero in its place cannot hang a read.
        raw = read_regular(path, CONFIG_MAX_BYTES)
    except (FileNotFoundError, NotADirectoryError):  # what Path.exists() calls missing
        return ConfigFile(path, False, None, None, None, LocalConfig())
    except OSError as exc:  # also a folder on the way that cannot be searched
        if exc.errno == errno.ELOOP:
            return ConfigFile(path, False, None, None, None, LocalConfig())
        special = isinstance(exc, (SpecialFileError, FileTooLargeError))
        error = ConfigReadError(
            f"failed to read config `{path}`: {exc.strerror or exc}. "
            + ("Make it a readable file of JSON (microsandbox falls back to its defaults meanwhile)."
               if special else "Check that it is a readable file (permissions, not a folder)."),
            path,
            summary=f"{path.name} is not a regular file: replace it" if isinstance(exc, SpecialFileError)
            else f"{path.name} is too large: check it" if special
            else f"cannot read {path.name}: check permissions",
        )
        return ConfigFile(path, True, None, None, None, LocalConfig(), error)
    fingerprint = _fingerprint(raw)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        parse_error = ConfigParseError(
            f"failed to parse config `{path}`: not UTF-8 text (byte {exc.start}). Re-save it as UTF-8.",
            path,
            summary=f"{path.name} is not UTF-8: re-save it",
        )
        return ConfigFile(path, True, None, fingerprint, None, LocalConfig(), parse_error)
    try:
        document, config = parse_config_text(text, path)
    except ConfigParseError as exc:
        return ConfigFile(path, True, text, fingerprint, None, LocalConfig(), exc)
    return ConfigFile(path, True, text, fingerprint, document, config)


def load_persisted_config_or_default(path: Path | None = None) -> LocalConfig:
    """Load config.json: the defaults when it is missing, a typed error when unreadable or malformed."""
    from backend.paths import config_path

    loaded = read_config_file(path or config_path())
    if loaded.error is not None:
        raise loaded.error
    return loaded.config


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _map_value_model(annotation: Any) -> type[BaseModel] | None:
    if typing.get_origin(annotation) is dict:
        return _nested_model(typing.get_args(annotation)[1])
    return None


def merge_document(existing: dict[str, Any], new: dict[str, Any], model: type[BaseModel]) -> dict[str, Any]:
    """Lay ``new`` (a full serialization of ``model``) over ``existing`` without losing anything.

    Keys the model does not know keep their values and places; known keys take ``new``'s value (a
    known key absent from ``new``, such as ``insecure: false``, is dropped); keys only in ``new`` are
    appended in model order.
    """
    known = model.model_fields
    merged: dict[str, Any] = {}
    for key, old_value in existing.items():
        if key not in known:
            merged[key] = old_value
        elif key in new:
            merged[key] = _merge_value(old_value, new[key], known[key].annotation)
    for key, value in new.items():
        if key not in merged:
            merged[key] = value
    return merged


def _merge_value(old: Any, new: Any, annotation: Any) -> Any:
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return new
    value_model = _map_value_model(annotation)
    if value_model is not None:
        return {
            key: merge_document(old[key], value, value_model)
            if isinstance(old.get(key), dict) and isinstance(value, dict)
            else value
            for key, value in new.items()
        }
    nested = _nested_model(annotation)
    if nested is not None:
        return merge_document(old, new, nested)
    return new


def save_persisted_config(config: LocalConfig, path: Path | None = None) -> Path:
    """Write ``config`` like microsandbox does, but atomically and keeping unknown keys and their order.

    The file keeps its mode. A crash at any instant leaves either the old or the new file.
    """
    from backend.paths import config_path

    target = path or config_path()
    existing: dict[str, Any] = {}
    current = read_config_file(target)
    strict = False
    if current.text is not None:
        try:
            parsed, strict = loads_strict(current.text), True
        except JsonError:
            try:  # a file microsandbox rejects (a duplicate key, NaN): keep what it holds all the same
                parsed = loads_row(current.text)
            except JsonError:
                parsed = None
        if isinstance(parsed, dict):
            existing = parsed
    document = merge_document(existing, config.to_document(), LocalConfig)
    if existing and strict and current.text is not None:
        # Untouched values keep their text: ``1e400`` would come back from floats as ``Infinity`` (not
        # JSON, so microsandbox would ignore the whole file) and ``1e-400`` as ``0.0``.
        text = render_preserving(current.text, existing, document)
    else:
        text = dumps_config(document)
    write_config_text(target, text)
    return target


def _write_target(path: Path) -> Path:
    """The file a save replaces: ``path`` itself, or, when ``path`` is a symlink (a dotfiles setup), the
    file it finally points to, so the link stays a link and its target gets the new content. A link
    whose target is not a regular file (a folder, a device, a FIFO) or that loops is refused."""
    if not path.is_symlink():
        return path
    try:
        target = path.resolve(strict=False)
    except (RuntimeError, OSError) as exc:
        raise OSError(errno.ELOOP, "it is a symlink that loops, so there is no file to write", str(path)) from exc
    if target.is_symlink():
        raise OSError(errno.ELOOP, "it is a symlink that loops, so there is no file to write", str(path))
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        return target  # a dangling link: the save creates the file it names
    if not stat.S_ISREG(mode):
        raise OSError(errno.EINVAL, f"it is a symlink to `{target}`, which is not a regular file, so it "
                      "is not replaced", str(path))
    return target


def write_config_text(path: Path, text: str, *, expected_fingerprint: str | None = None,
                      backup: bool = False) -> ConfigFile:
    """Atomically replace ``path`` with ``text`` and return what is now on disk.

    A symlinked ``path`` is written through: its final target is replaced atomically, the link stays.

    With ``expected_fingerprint``, refuse with :class:`ConfigConflictError` when the file changed
    since it was read (``""`` expects the file to be missing). With ``backup``, the previous file is
    kept as ``<name>.bak`` first.
    """
    if expected_fingerprint is not None:
        current = read_config_file(path)
        on_disk = current.fingerprint or ""
        if on_disk != expected_fingerprint:
            raise ConfigConflictError(
                f"`{path}` changed on disk since it was loaded: reload it, or overwrite the other edit.",
                path,
                current.text,
            )
    try:
        target = _write_target(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        if backup and target.exists():  # the backup sits beside ``path``, where undo looks for it
            atomic_write_bytes(path.with_name(path.name + ".bak"), read_regular(target, CONFIG_MAX_BYTES),
                               like=target)
        atomic_write_bytes(target, text.encode("utf-8"), like=target if target.exists() else None)
    except OSError as exc:
        raise ConfigWriteError(
            f"could not write `{path}`: {exc.strerror or exc}. The previous file is unchanged.", path
        ) from exc
    return read_config_file(path)


__all__ = [
    "ConfigFile",
    "dumps_config",
    "load_persisted_config_or_default",
    "merge_document",
    "parse_config_text",
    "read_config_file",
    "save_persisted_config",
    "validate_config_document",
    "write_config_text",
]
