"""``config.json``: the models of microsandbox's ``LocalConfig`` (loading and saving: :mod:`backend.config.file`).

The models mirror the Rust structs key for key (section 2.2 of the reference): the same defaults, the
same ranges, the same strictness (a string where a number belongs fails, as serde fails). Unknown keys
are ignored when parsing and kept when saving, so ``profiles``, ``active_profile`` and keys from newer
microsandbox versions survive a save here, unlike a save by microsandbox itself.

Field docstrings are user-facing: the config editor shows them as help (read by
:func:`backend.config.schema.field_doc`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_serializer, model_validator
from pydantic.config import JsonDict

from backend.paths import (
    CACHE_SUBDIR,
    LOGS_SUBDIR,
    RUN_SUBDIR,
    SANDBOXES_SUBDIR,
    SECRETS_SUBDIR,
    SNAPSHOTS_SUBDIR,
    SSH_SUBDIR,
    VOLUMES_SUBDIR,
    resolve_home,
)

U8 = Annotated[int, Field(ge=0, le=255)]
U32 = Annotated[int, Field(ge=0, le=2**32 - 1)]
U64 = Annotated[int, Field(ge=0, le=2**64 - 1)]
LogLevel = Literal["error", "warn", "info", "debug", "trace"]

#: Marks a field microsandbox 0.5.x parses but never reads (reference section 9).
IGNORED: JsonDict = {"read_by_microsandbox": False}

DEFAULT_METRICS_CAPACITY = 1024


class _Section(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class DatabaseConfig(_Section):
    """Connection settings for the SQLite catalog at ``<home>/db/msb.db``."""

    url: str | None = Field(default=None, json_schema_extra=IGNORED)
    """Database URL. Ignored by microsandbox: the catalog is always ``<home>/db/msb.db``."""
    max_connections: U32 = 5
    """Size of the read connection pool (writes always use one connection)."""
    connect_timeout_secs: U64 = 30
    """Seconds to wait for a free pooled connection before giving up."""
    busy_timeout_secs: U64 = 5
    """Seconds SQLite waits on a lock held by another process before reporting the database busy."""


class PathsConfig(_Section):
    """Overrides for where data lives. A set path is used verbatim (not relative to home, no ``~``)."""

    msb: str | None = None
    """Path of the ``msb`` binary (after ``MSB_PATH``)."""
    libkrunfw: str | None = None
    """Path of the libkrunfw library (after ``MSB_LIBKRUNFW_PATH``). Must be a file."""
    cache: str | None = None
    """OCI layer cache folder. Default: ``<home>/cache``."""
    sandboxes: str | None = None
    """Per-sandbox state folders. Default: ``<home>/sandboxes``."""
    volumes: str | None = None
    """Named volume folders. Default: ``<home>/volumes``."""
    snapshots: str | None = None
    """Snapshot artifact folders. Default: ``<home>/snapshots``."""
    logs: str | None = Field(default=None, json_schema_extra=IGNORED)
    """Logs folder. microsandbox 0.5.x writes no logs here: sandbox logs live in ``sandboxes/<name>/logs``."""
    secrets: str | None = None
    """Registry secrets (``secrets/registries/<secret_name>``). Default: ``<home>/secrets``."""


class OciDefaults(_Section):
    """Defaults for OCI-image sandboxes."""

    upper_size_mib: U32 | None = None
    """Size of the writable overlay image in MiB; null means 4096. The one sandbox default microsandbox
    actually applies. Affects only sandboxes created afterwards."""


class SandboxDefaults(_Section):
    """Defaults for new sandboxes. Only ``oci.upper_size_mib`` is read by microsandbox 0.5.x."""

    cpus: U8 = Field(default=1, json_schema_extra=IGNORED)
    """Virtual CPUs (0-255). Not read by microsandbox 0.5.x (it uses a built-in 1)."""
    memory_mib: U32 = Field(default=512, json_schema_extra=IGNORED)
    """Guest memory in MiB. Not read by microsandbox 0.5.x (it uses a built-in 512)."""
    oci: OciDefaults = OciDefaults()
    """OCI image defaults."""
    shell: str = Field(default="/bin/sh", json_schema_extra=IGNORED)
    """Shell for scripts. Not read by microsandbox 0.5.x."""
    workdir: str | None = Field(default=None, json_schema_extra=IGNORED)
    """Working directory in the guest. Not read by microsandbox 0.5.x."""
    metrics_sample_interval_ms: U64 = Field(default=1000, json_schema_extra=IGNORED)
    """Metrics sampling interval in milliseconds; 0 disables sampling (null is invalid).
    Not read by microsandbox 0.5.x."""
    disable_metrics_sample: bool = Field(default=False, json_schema_extra=IGNORED)
    """Turn metrics sampling off. Not read by microsandbox 0.5.x."""

    @property
    def metrics_interval(self) -> int | None:
        """The sampling interval, or None when disabled (``0`` on the wire)."""
        return self.metrics_sample_interval_ms or None


class RegistryAuthEntry(_Section):
    """Credentials for one registry. Needs a username and exactly one credential source."""

    username: str
    """User name for the registry (required)."""
    store: Literal["keyring"] | None = None
    """``"keyring"`` to read the password from the OS keyring."""
    password_env: str | None = None
    """Name of an environment variable that holds the password."""
    secret_name: str | None = None
    """Name of a file under ``<secrets>/registries/`` that holds the password."""

    def credential_sources(self) -> list[str]:
        """The credential sources set on this entry."""
        return [name for name in ("store", "password_env", "secret_name") if getattr(self, name) is not None]

    def source_problem(self) -> str | None:
        """Why microsandbox would reject this entry when it resolves credentials, or None."""
        sources = self.credential_sources()
        if not sources:
            return "entry has no credential source: set one of store, password_env, secret_name"
        if len(sources) > 1:
            return f"entry defines multiple credential sources ({', '.join(sources)}): keep exactly one"
        return None


class RegistryEntry(_Section):
    """Settings for one registry host."""

    auth: RegistryAuthEntry | None = None
    """Credentials for this host, or null for anonymous access (or the keyring / Docker helpers)."""
    insecure: bool = False
    """Use plain HTTP for this host. Written only when true."""

    @model_serializer(mode="wrap")
    def _omit_false_insecure(self, handler: Any) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if not self.insecure:
            data.pop("insecure", None)
        return data


class RegistriesConfig(_Section):
    """Registry settings."""

    ca_certs: str | None = None
    """A PEM file of extra CA certificates trusted for registries."""
    hosts: dict[str, RegistryEntry] = {}
    """Per-host settings, keyed by host name (for example ``ghcr.io``)."""


class MetricsConfig(_Section):
    """Shared-memory metrics registry."""

    capacity: U32 = 0
    """Slots in the metrics registry; 0 means the built-in 1024. Change it only with every sandbox
    of this home stopped."""


class LocalConfig(_Section):
    """The whole ``config.json`` as microsandbox's ``LocalConfig`` sees it."""

    home: str | None = None
    """Root for data folders (db, sandboxes, volumes, …). Does not move config.json itself."""
    log_level: LogLevel | None = Field(default=None, json_schema_extra=IGNORED)
    """Log level: error, warn, info, debug or trace; null is silent. Not read by microsandbox 0.5.x."""
    database: DatabaseConfig = DatabaseConfig()
    """SQLite catalog settings."""
    paths: PathsConfig = PathsConfig()
    """Folder and binary locations."""
    sandbox_defaults: SandboxDefaults = SandboxDefaults()
    """Defaults for new sandboxes."""
    registries: RegistriesConfig = RegistriesConfig()
    """Container registry settings."""
    metrics: MetricsConfig = MetricsConfig()
    """Metrics registry settings."""

    @model_validator(mode="before")
    @classmethod
    def _object_required(cls, data: Any) -> Any:
        if not isinstance(data, dict) and not isinstance(data, BaseModel):
            raise ValueError(f"the top level must be a JSON object, not {_json_type(data)}")
        return data

    def home_dir(self) -> Path:
        """``home`` when set, else the resolved home (re-read from the environment on every call)."""
        return Path(self.home) if self.home is not None else resolve_home()

    def _path_or(self, configured: str | None, subdir: str) -> Path:
        return Path(configured) if configured is not None else self.home_dir() / subdir

    def db_path(self) -> Path:
        """The catalog, always ``<home>/db/msb.db`` (``database.url`` is ignored)."""
        return self.home_dir() / "db" / "msb.db"

    def sandboxes_dir(self) -> Path:
        """``paths.sandboxes`` or ``<home>/sandboxes``."""
        return self._path_or(self.paths.sandboxes, SANDBOXES_SUBDIR)

    def volumes_dir(self) -> Path:
        """``paths.volumes`` or ``<home>/volumes``."""
        return self._path_or(self.paths.volumes, VOLUMES_SUBDIR)

    def snapshots_dir(self) -> Path:
        """``paths.snapshots`` or ``<home>/snapshots``."""
        return self._path_or(self.paths.snapshots, SNAPSHOTS_SUBDIR)

    def cache_dir(self) -> Path:
        """``paths.cache`` or ``<home>/cache``."""
        return self._path_or(self.paths.cache, CACHE_SUBDIR)

    def logs_dir(self) -> Path:
        """``paths.logs`` or ``<home>/logs``."""
        return self._path_or(self.paths.logs, LOGS_SUBDIR)

    def secrets_dir(self) -> Path:
        """``paths.secrets`` or ``<home>/secrets``."""
        return self._path_or(self.paths.secrets, SECRETS_SUBDIR)

    def ssh_dir(self) -> Path:
        """Always ``<home>/ssh``."""
        return self.home_dir() / SSH_SUBDIR

    def run_dir(self) -> Path:
        """Always ``<home>/run``."""
        return self.home_dir() / RUN_SUBDIR

    def metrics_registry_capacity(self) -> int:
        """The effective metrics capacity: ``metrics.capacity``, or 1024 when it is 0."""
        return self.metrics.capacity or DEFAULT_METRICS_CAPACITY

    def insecure_registries(self) -> list[str]:
        """Hosts marked ``insecure: true``."""
        return [host for host, entry in self.registries.hosts.items() if entry.insecure]

    def to_document(self) -> dict[str, Any]:
        """The full document microsandbox would write, in its key order."""
        return self.model_dump(mode="json")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"


__all__ = [
    "DatabaseConfig",
    "LocalConfig",
    "LogLevel",
    "MetricsConfig",
    "OciDefaults",
    "PathsConfig",
    "RegistriesConfig",
    "RegistryAuthEntry",
    "RegistryEntry",
    "SandboxDefaults",
]
