"""msb-tui's backend: reads and writes a microsandbox 0.5.x home exactly as microsandbox does.

Never imports Textual. Returns plain typed data. Does no I/O at import or construction.
"""

from __future__ import annotations

from backend.ambient import (
    backend_scope,
    default_backend,
    set_default_backend,
    swap_default_backend,
    with_backend,
)
from backend.config.model import (
    LocalConfig,
    load_persisted_config_or_default,
    read_config_file,
    save_persisted_config,
)
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

__all__ = [
    "KNOWN_VERSIONS",
    "BackendError",
    "BackendKind",
    "ConfigError",
    "ConfigParseError",
    "ConfigReadError",
    "DatabaseBusyError",
    "DatabaseError",
    "FsEntry",
    "FsMetadata",
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
