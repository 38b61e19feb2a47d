"""msb-tui's backend: reads and writes a microsandbox 0.5.x home exactly as microsandbox does.

Never imports Textual. Returns plain typed data. Does no I/O at import or construction.

The names below are exported lazily (PEP 562): ``from backend import LocalBackend`` imports
:mod:`backend.local` on first use, so importing a leaf such as :mod:`backend.errors` costs a few
milliseconds and pulls in neither SQLAlchemy nor pydantic.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from backend.ambient import (
        backend_scope,
        default_backend,
        set_default_backend,
        swap_default_backend,
        with_backend,
    )
    from backend.config.file import load_persisted_config_or_default, read_config_file, save_persisted_config
    from backend.config.model import LocalConfig
    from backend.db.migrate import KNOWN_VERSIONS, SchemaState, SchemaStatus
    from backend.errors import (
        BackendError,
        ConfigError,
        ConfigParseError,
        ConfigReadError,
        DatabaseBusyError,
        DatabaseError,
        ReadOnlyError,
    )
    from backend.local import BackendKind, LocalBackend, LocalBackendBuilder
    from backend.paths import config_path, resolve_home
    from backend.sandboxes.models import SandboxDetail, SandboxPage, SandboxQuery, SandboxRow
    from backend.sandboxes.service import Sandboxes
    from backend.volumes.models import FsEntry, FsMetadata, VolumeConfig, VolumeInfo
    from backend.volumes.service import Volumes

#: Exported name -> the module that defines it.
_EXPORTS: dict[str, str] = {
    "backend_scope": "backend.ambient",
    "default_backend": "backend.ambient",
    "set_default_backend": "backend.ambient",
    "swap_default_backend": "backend.ambient",
    "with_backend": "backend.ambient",
    "LocalConfig": "backend.config.model",
    "load_persisted_config_or_default": "backend.config.file",
    "read_config_file": "backend.config.file",
    "save_persisted_config": "backend.config.file",
    "KNOWN_VERSIONS": "backend.db.migrate",
    "SchemaState": "backend.db.migrate",
    "SchemaStatus": "backend.db.migrate",
    "BackendError": "backend.errors",
    "ConfigError": "backend.errors",
    "ConfigParseError": "backend.errors",
    "ConfigReadError": "backend.errors",
    "DatabaseBusyError": "backend.errors",
    "DatabaseError": "backend.errors",
    "ReadOnlyError": "backend.errors",
    "BackendKind": "backend.local",
    "LocalBackend": "backend.local",
    "LocalBackendBuilder": "backend.local",
    "config_path": "backend.paths",
    "resolve_home": "backend.paths",
    "SandboxDetail": "backend.sandboxes.models",
    "SandboxPage": "backend.sandboxes.models",
    "SandboxQuery": "backend.sandboxes.models",
    "SandboxRow": "backend.sandboxes.models",
    "Sandboxes": "backend.sandboxes.service",
    "FsEntry": "backend.volumes.models",
    "FsMetadata": "backend.volumes.models",
    "VolumeConfig": "backend.volumes.models",
    "VolumeInfo": "backend.volumes.models",
    "Volumes": "backend.volumes.service",
}

__all__ = [
    "BackendError",
    "BackendKind",
    "ConfigError",
    "ConfigParseError",
    "ConfigReadError",
    "DatabaseBusyError",
    "DatabaseError",
    "FsEntry",
    "FsMetadata",
    "KNOWN_VERSIONS",
    "LocalBackend",
    "LocalBackendBuilder",
    "LocalConfig",
    "ReadOnlyError",
    "SandboxDetail",
    "SandboxPage",
    "SandboxQuery",
    "SandboxRow",
    "Sandboxes",
    "SchemaState",
    "SchemaStatus",
    "VolumeConfig",
    "VolumeInfo",
    "Volumes",
    "backend_scope",
    "config_path",
    "default_backend",
    "load_persisted_config_or_default",
    "read_config_file",
    "resolve_home",
    "save_persisted_config",
    "set_default_backend",
    "swap_default_backend",
    "with_backend",
]


def __getattr__(name: str) -> Any:
    """Import the module behind an exported name on first use (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'backend' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
