"""The schema of config.json as the editor needs it, read from the ``LocalConfig`` models.

For each key: the input it needs (switch, choice, number with its range, path, text), its default, its
help (the model's field docstring) and whether microsandbox 0.5.x reads it at all
(``json_schema_extra={"read_by_microsandbox": False}``). Key paths are tuples because registry host
names contain dots.
"""

from __future__ import annotations

import ast
import functools
import inspect
import sys
import typing
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from backend.config.model import LocalConfig, RegistryAuthEntry

KeyPath = tuple[str, ...]
FieldKind = Literal["switch", "choice", "number", "path", "text", "toggle"]

#: Top-level keys of microsandbox's SDK view of the same file (reference section 2.1): known, not typos.
SDK_KEYS = ("active_profile", "profiles")
HOSTS_PATH: KeyPath = ("registries", "hosts")
AUTH_SOURCES = ("store", "password_env", "secret_name")
_PATH_FIELDS = {"home", "ca_certs"}


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


#: A key that is not in the file.
MISSING: Any = _Missing()


def display_path(path: KeyPath) -> str:
    """``sandbox_defaults.oci.upper_size_mib``; a host name with dots is quoted: ``hosts["ghcr.io"]``."""
    parts: list[str] = []
    for index, part in enumerate(path):
        if index and path[:index] == HOSTS_PATH:
            parts[-1] += f'["{part}"]'
        else:
            parts.append(part)
    return ".".join(parts)


# -- the schema, read from the models -------------------------------------------------------------


def nested_model(annotation: Any) -> type[BaseModel] | None:
    if typing.get_origin(annotation) is dict:
        return None
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def map_value_model(annotation: Any) -> type[BaseModel] | None:
    if typing.get_origin(annotation) is dict:
        return nested_model(typing.get_args(annotation)[1])
    return None


@functools.cache
def _attribute_docs(module_name: str) -> dict[str, dict[str, str]]:
    docs: dict[str, dict[str, str]] = {}
    try:
        source = inspect.getsource(sys.modules[module_name])
    except (OSError, TypeError, KeyError):  # installed without sources: the form shows no help
        return docs
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ClassDef):
            continue
        fields = docs.setdefault(node.name, {})
        for before, after in zip(node.body, node.body[1:]):
            if (isinstance(before, ast.AnnAssign) and isinstance(before.target, ast.Name)
                    and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)
                    and isinstance(after.value.value, str)):
                fields[before.target.id] = inspect.cleandoc(after.value.value)
    return docs


def field_doc(model: type[BaseModel], name: str) -> str:
    """The docstring under field ``name`` of ``model`` (or a base class), else its ``description``.

    pydantic's ``use_attribute_docstrings`` would read these when the classes are built, at a cost of
    ~80 ms on every start (it locates each class's source through the call stack); the help is only
    needed once the config editor opens, so it is read here, from one parse of the module.
    """
    for klass in model.__mro__:
        if isinstance(klass, type) and issubclass(klass, BaseModel) and klass is not BaseModel:
            doc = _attribute_docs(klass.__module__).get(klass.__name__, {}).get(name)
            if doc is not None:
                return doc
    field = model.model_fields.get(name)
    return (field.description or "") if field is not None else ""


def model_at(path: KeyPath) -> type[BaseModel] | None:
    """The model describing the object at ``path`` (``()`` is the whole file), or None."""
    model: type[BaseModel] | None = LocalConfig
    index = 0
    while index < len(path) and model is not None:
        field = model.model_fields.get(path[index])
        if field is None:
            return None
        nested = nested_model(field.annotation)
        if nested is None and (value_model := map_value_model(field.annotation)) is not None:
            index += 1  # skip the map key (a host name)
            if index >= len(path):
                return None
            nested = value_model
        model = nested
        index += 1
    return model


def field_at(path: KeyPath) -> FieldInfo | None:
    """The pydantic field for the key at ``path``, or None for unknown keys and map entries."""
    if not path:
        return None
    parent = model_at(path[:-1])
    return parent.model_fields.get(path[-1]) if parent is not None else None


def is_section(path: KeyPath) -> bool:
    """True for objects of the fixed schema (``database``, ``sandbox_defaults.oci``), not host entries."""
    return bool(path) and path[:2] != HOSTS_PATH and model_at(path) is not None


@dataclass(frozen=True)
class FieldSpec:
    """One editable key: what input it needs, its range or choices, its default and its help."""

    path: KeyPath
    kind: FieldKind
    nullable: bool
    default: Any
    help: str
    read_by_microsandbox: bool
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None

    @property
    def name(self) -> str:
        """The key as shown in the form (the part below its section)."""
        return self.path[-1] if self.path[-2:-1] != ("oci",) else "oci." + self.path[-1]


def _bounds(annotation: Any, metadata: list[Any]) -> tuple[int | None, int | None]:
    found = list(metadata)
    for arg in typing.get_args(annotation):
        for extra in typing.get_args(arg)[1:]:
            found.extend(getattr(extra, "metadata", [extra]))
    low = next((item.ge for item in found if hasattr(item, "ge")), None)
    high = next((item.le for item in found if hasattr(item, "le")), None)
    return low, high


@functools.lru_cache(maxsize=2048)
def spec_for(path: KeyPath) -> FieldSpec | None:
    """The :class:`FieldSpec` of a scalar key at ``path`` (host keys included), or None."""
    field = field_at(path)
    owner = model_at(path[:-1])
    if field is None or owner is None:
        return None
    annotation = field.annotation
    args = typing.get_args(annotation)
    nullable = type(None) in args
    base = next((arg for arg in args if arg is not type(None)), annotation) if nullable else annotation
    if typing.get_origin(base) is typing.Annotated:
        base = typing.get_args(base)[0]
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    read = bool(extra.get("read_by_microsandbox", True))
    help_text = " ".join(field_doc(owner, path[-1]).split())
    default = None if field.is_required() else field.get_default(call_default_factory=True)
    if isinstance(default, BaseModel):
        default = default.model_dump(mode="json")
    if nested_model(annotation) is not None:
        return FieldSpec(path, "toggle", nullable, default, help_text, read)
    if base is bool:
        return FieldSpec(path, "switch", nullable, default, help_text, read)
    if typing.get_origin(base) is Literal:
        return FieldSpec(path, "choice", nullable, default, help_text, read, tuple(typing.get_args(base)))
    if base is int:
        low, high = _bounds(annotation, field.metadata)
        return FieldSpec(path, "number", nullable, default, help_text, read, minimum=low, maximum=high)
    kind: FieldKind = "path" if path[0] == "paths" or path[-1] in _PATH_FIELDS else "text"
    return FieldSpec(path, kind, nullable, default, help_text, read)


@dataclass(frozen=True)
class FormSection:
    """A tab of the form: its title, help and the keys it edits."""

    key: str
    title: str
    help: str
    fields: tuple[FieldSpec, ...]


def _scalar_specs(model: type[BaseModel], prefix: KeyPath) -> list[FieldSpec]:
    specs: list[FieldSpec] = []
    for name, field in model.model_fields.items():
        nested = nested_model(field.annotation)
        if map_value_model(field.annotation) is not None:
            continue
        if nested is not None and type(None) not in typing.get_args(field.annotation):
            specs.extend(_scalar_specs(nested, (*prefix, name)))
            continue
        spec = spec_for((*prefix, name))
        if spec is not None:
            specs.append(spec)
    return specs


@functools.cache
def form_sections() -> tuple[FormSection, ...]:
    """The form's sections, in the file's key order; registry hosts are edited separately."""
    top = LocalConfig.model_fields
    general = FormSection(
        "general", "General", "Top-level keys. config.json itself stays where it is whatever ``home`` says.",
        tuple(spec for spec in (spec_for(("home",)), spec_for(("log_level",))) if spec is not None),
    )
    sections = [general]
    titles = {"database": "Database", "paths": "Paths", "sandbox_defaults": "Sandbox defaults",
              "registries": "Registries", "metrics": "Metrics"}
    for key, title in titles.items():
        model = nested_model(top[key].annotation)
        assert model is not None
        sections.append(FormSection(key, title, " ".join((model.__doc__ or "").split()),
                                    tuple(_scalar_specs(model, (key,)))))
    return tuple(sections)


def host_field_specs(host: str) -> tuple[FieldSpec, ...]:
    """The editable keys of one registry host entry: ``insecure``, ``auth`` and the auth fields."""
    base: KeyPath = (*HOSTS_PATH, host)
    paths = [(*base, "insecure"), (*base, "auth")]
    paths += [(*base, "auth", name) for name in RegistryAuthEntry.model_fields]
    return tuple(spec for spec in (spec_for(path) for path in paths) if spec is not None)


__all__ = [
    "AUTH_SOURCES",
    "HOSTS_PATH",
    "MISSING",
    "SDK_KEYS",
    "FieldKind",
    "FieldSpec",
    "FormSection",
    "KeyPath",
    "display_path",
    "field_at",
    "form_sections",
    "host_field_specs",
    "is_section",
    "map_value_model",
    "model_at",
    "nested_model",
    "spec_for",
]
