"""Sparse, loss-free editing of ``config.json`` for the config editor.

:class:`ConfigDocument` edits the raw JSON object, not a model: a key the user never touched stays out of
the file, "reset to default" removes the key, and keys microsandbox does not know (``profiles``,
``active_profile``, keys of newer versions) keep their values and places. The models in
:mod:`backend.config.model` only judge the result (:meth:`ConfigDocument.issues`) and supply defaults and help.

The schema (field specs, sections) is in :mod:`backend.config.schema`; changes, impact notes, the diff
and the save/undo calls are in :mod:`backend.config.changes`.
"""

from __future__ import annotations

import copy
import difflib
import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from backend.config.file import dumps_config
from backend.config.model import LocalConfig, RegistriesConfig
from backend.config.schema import (
    AUTH_SOURCES,
    HOSTS_PATH,
    MISSING,
    SDK_KEYS,
    FieldKind,
    FieldSpec,
    FormSection,
    KeyPath,
    display_path,
    field_at,
    form_sections,
    host_field_specs,
    is_section,
    map_value_model,
    model_at,
    nested_model,
    spec_for,
)
from backend.config.text import render_preserving
from backend.errors import InvalidConfigError
from backend.jsonio import loads_strict

Severity = Literal["error", "warning"]


# -- the document ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Issue:
    """A problem with one key: errors block saving, warnings (unknown keys) do not."""

    path: KeyPath
    message: str
    severity: Severity = "error"

    @property
    def where(self) -> str:
        """The key path as text, or "the file" for the top level."""
        return display_path(self.path) or "the file"


def _indent_of(text: str | None) -> str | int:
    if text:
        match = re.search(r"^\{[ \t]*\r?\n([ \t]+)\S", text)
        if match:
            indent = match.group(1)
            return indent if "\t" in indent else len(indent)
    return 2


class ConfigDocument:
    """The raw JSON object of config.json being edited, next to the version it was loaded from.

    ``base`` is what the file held when loaded (``None`` when there was no file); edits go to ``data``.
    Every method takes key paths as tuples because host names contain dots.
    """

    def __init__(self, base: dict[str, Any] | None, base_text: str | None = None) -> None:
        self.base_text = base_text
        self.base: dict[str, Any] = copy.deepcopy(base) if base is not None else {}
        self.data: dict[str, Any] = copy.deepcopy(self.base)
        self._indent = _indent_of(base_text)

    # reading
    def get(self, path: KeyPath, *, source: dict[str, Any] | None = None) -> Any:
        """The raw value at ``path`` in the file being edited, or :data:`MISSING`."""
        node: Any = self.data if source is None else source
        for part in path:
            if not isinstance(node, dict) or part not in node:
                return MISSING
            node = node[part]
        return node

    def is_set(self, path: KeyPath) -> bool:
        """True when the key is in the file; False when its default applies."""
        return self.get(path) is not MISSING

    def effective(self, path: KeyPath) -> Any:
        """The value microsandbox would use: the file's value, else the model default."""
        value = self.get(path)
        if value is not MISSING:
            return value
        spec = spec_for(path)
        return spec.default if spec is not None else None

    @property
    def dirty(self) -> bool:
        """True when the edits change the file (values or key order)."""
        return json.dumps(self.data) != json.dumps(self.base)

    def hosts(self) -> list[str]:
        """Registry host names in file order."""
        hosts = self.get(HOSTS_PATH)
        return list(hosts) if isinstance(hosts, dict) else []

    # editing
    def set(self, path: KeyPath, value: Any) -> None:
        """Write ``value`` at ``path``, creating sections as needed; new keys go to their model place."""
        if not path:
            raise InvalidConfigError("the key path is empty")
        node = self.data
        for depth, part in enumerate(path[:-1]):
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                _insert(node, part, child, model_at(path[:depth]))
            node = child
        if path[-1] in node:
            node[path[-1]] = value
        else:
            _insert(node, path[-1], value, model_at(path[:-1]))

    def unset(self, path: KeyPath) -> None:
        """Remove the key (reset to default); drop sections this edit emptied that the file did not have."""
        parent = self.get(path[:-1]) if len(path) > 1 else self.data
        if not isinstance(parent, dict) or path[-1] not in parent:
            return
        del parent[path[-1]]
        section = path[:-1]
        while section and is_section(section):
            node = self.get(section)
            if node != {} or isinstance(self.get(section, source=self.base), dict):
                break
            container = self.get(section[:-1]) if len(section) > 1 else self.data
            del container[section[-1]]
            section = section[:-1]

    def add_host(self, host: str) -> None:
        """Add an empty registry host entry at the end of ``registries.hosts``."""
        self._check_host_name(host)
        self.set((*HOSTS_PATH, host), {})

    def rename_host(self, old: str, new: str) -> None:
        """Rename a host entry in place, keeping its settings and its position."""
        if new == old:
            return
        self._check_host_name(new)
        hosts = self.get(HOSTS_PATH)
        if not isinstance(hosts, dict) or old not in hosts:
            raise InvalidConfigError(f"registry host `{old}` is not in the file")
        renamed = {(new if key == old else key): value for key, value in hosts.items()}
        hosts.clear()
        hosts.update(renamed)

    def remove_host(self, host: str) -> None:
        """Remove a registry host entry."""
        self.unset((*HOSTS_PATH, host))

    def _check_host_name(self, host: str) -> None:
        if host.strip() != host or not host:
            raise InvalidConfigError("a registry host name must be non-empty, without surrounding spaces")
        if host in self.hosts():
            raise InvalidConfigError(f"registry host `{host}` already exists: edit that entry instead")

    # output
    def render(self) -> str:
        """The file text. Values the edit did not touch keep their original text; new and changed
        values are pretty JSON in the loaded file's indent (microsandbox's format for a new file)."""
        if self.base_text is not None:
            try:
                return render_preserving(self.base_text, loads_strict(self.base_text), self.data, self._indent)
            except (ValueError, IndexError):
                pass  # the loaded text was not valid JSON (a repaired file): write it afresh
        if self._indent == 2:
            return dumps_config(self.data)
        return json.dumps(self.data, indent=self._indent, ensure_ascii=False) + "\n"

    def issues(self) -> list[Issue]:
        """Errors (blocking) and warnings for the document being edited, at most one error per key."""
        return document_issues(self.data)

    def errors(self) -> list[Issue]:
        """Only the blocking issues."""
        return [issue for issue in self.issues() if issue.severity == "error"]


def _insert(node: dict[str, Any], key: str, value: Any, model: type[BaseModel] | None) -> None:
    """Insert ``key`` after the known keys that precede it in model order, keeping every other key."""
    order = list(model.model_fields) if model is not None else []
    if key not in order:
        node[key] = value
        return
    rank = order.index(key)
    keys = list(node)
    earlier = [i for i, k in enumerate(keys) if k in order and order.index(k) < rank]
    later = [i for i, k in enumerate(keys) if k in order and order.index(k) > rank]
    position = earlier[-1] + 1 if earlier else (later[0] if later else len(keys))
    items = list(node.items())
    items.insert(position, (key, value))
    node.clear()
    node.update(items)


# -- validation ------------------------------------------------------------------------------------


def document_issues(data: Any) -> list[Issue]:
    """Validate a parsed document against microsandbox's rules; errors first, one per key."""
    found: dict[KeyPath, Issue] = {}
    try:
        LocalConfig.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            path = tuple(str(part) for part in error["loc"])
            message = str(error["msg"]).removeprefix("Value error, ")
            found.setdefault(path, Issue(path, message))
    if isinstance(data, dict):
        for issue in _auth_issues(data) + _unknown_key_warnings(data, LocalConfig, ()):
            found.setdefault(issue.path, issue)
    return sorted(found.values(), key=lambda issue: issue.severity != "error")


def _auth_issues(data: dict[str, Any]) -> list[Issue]:
    hosts = data.get("registries", {}).get("hosts") if isinstance(data.get("registries"), dict) else None
    issues: list[Issue] = []
    for host, entry in (hosts or {}).items() if isinstance(hosts, dict) else ():
        path: KeyPath = (*HOSTS_PATH, host)
        if not host or host.strip() != host:
            issues.append(Issue(path, "the host name must be non-empty, without surrounding spaces"))
        auth = entry.get("auth") if isinstance(entry, dict) else None
        if not isinstance(auth, dict):
            continue
        if auth.get("username") == "":
            issues.append(Issue((*path, "auth", "username"), "a username is required"))
        sources = [name for name in AUTH_SOURCES if auth.get(name) is not None]
        if len(sources) != 1:
            what = ("no credential source" if not sources
                    else f"several credential sources ({', '.join(sources)})")
            issues.append(Issue(
                (*path, "auth"),
                f"auth has {what}: set exactly one of store, password_env, secret_name. "
                "microsandbox accepts the file but fails on the next pull from this host.",
            ))
    return issues


def _unknown_key_warnings(data: dict[str, Any], model: type[BaseModel], prefix: KeyPath) -> list[Issue]:
    issues: list[Issue] = []
    known = model.model_fields
    for key, value in data.items():
        path = (*prefix, key)
        if key in known:
            field = known[key]
            nested = nested_model(field.annotation)
            value_model = map_value_model(field.annotation)
            if nested is not None and isinstance(value, dict):
                issues.extend(_unknown_key_warnings(value, nested, path))
            elif value_model is not None and isinstance(value, dict):
                for entry_key, entry in value.items():
                    if isinstance(entry, dict):
                        issues.extend(_unknown_key_warnings(entry, value_model, (*path, entry_key)))
            continue
        if not prefix and key in SDK_KEYS:
            continue
        if model is RegistriesConfig and key == "auth":
            hint = " (credentials belong in registries.hosts.<host>.auth)"
        else:
            close = difflib.get_close_matches(key, list(known), n=1)
            hint = f" (did you mean `{close[0]}`?)" if close else ""
        issues.append(Issue(path, f"unknown key{hint}: microsandbox 0.5.x ignores it; kept as is", "warning"))
    return issues


__all__ = [
    "AUTH_SOURCES",
    "HOSTS_PATH",
    "MISSING",
    "SDK_KEYS",
    "ConfigDocument",
    "FieldKind",
    "FieldSpec",
    "FormSection",
    "Issue",
    "KeyPath",
    "display_path",
    "document_issues",
    "field_at",
    "form_sections",
    "host_field_specs",
    "model_at",
    "spec_for",
]
