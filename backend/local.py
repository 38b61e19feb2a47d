"""``LocalBackend``: one microsandbox home, mirroring the reference API (section 3).

Construction never touches the disk. The config file is read on first use of :attr:`config` (for
:meth:`LocalBackend.lazy`) or by :meth:`LocalBackendBuilder.build`; the database is opened on the first
:meth:`db` call, inside the running event loop, and disposed by :meth:`close`.
"""

from __future__ import annotations

import enum
from pathlib import Path
from collections.abc import Callable
from types import TracebackType
from typing import Any

from backend.config.file import ConfigFile, read_config_file
from backend.config.model import LocalConfig, RegistryEntry
from backend.db.database import Database, DbSettings
from backend.db.migrate import SchemaStatus
from backend.errors import (
    REQUESTED_READ_ONLY,
    ConfigParseError,
    ConfigReadError,
    ReadOnlyError,
    ReadOnlyReason,
)
from backend.paths import config_path
from backend.profiles.base import HomeProfile
from backend.sandboxes.service import Sandboxes
from backend.volumes.service import Volumes


class BackendKind(str, enum.Enum):
    """Which kind of backend this is; only ``local`` exists here."""

    LOCAL = "local"


class LocalBackend:
    """A microsandbox home on this machine: its config, catalog and folders."""

    def __init__(
        self,
        config: LocalConfig | None = None,
        *,
        read_only: bool = False,
        config_file: Path | None = None,
        config_error: ConfigReadError | ConfigParseError | None = None,
        home: Path | None = None,
    ) -> None:
        """``home``: the home to use where ``MSB_HOME`` would be read (the config's ``home`` key still
        wins, and ``MSB_CONFIG_PATH`` still names the config file), so callers pass it explicitly."""
        self._home = home
        self._config = config
        self._built_config = config
        self._config_file = config_file
        self._config_error = config_error
        self._requested_read_only = read_only
        self._database: Database | None = None

    @classmethod
    def lazy(cls, *, read_only: bool = False, home: str | Path | None = None,
             config_file: str | Path | None = None) -> LocalBackend:
        """A backend for ``home`` (default: the resolved home, ``MSB_HOME`` or ``~/.microsandbox``),
        read exactly as microsandbox reads the home it is given; ``config_file`` replaces
        ``MSB_CONFIG_PATH`` / ``<home>/config.json``. No file or database access until first use."""
        return cls(read_only=read_only, home=None if home is None else Path(home),
                   config_file=None if config_file is None else Path(config_file))

    @classmethod
    async def new(cls, *, read_only: bool = False, home: str | Path | None = None) -> LocalBackend:
        """``lazy()`` then :meth:`db`: connect and migrate now."""
        backend = cls.lazy(read_only=read_only, home=home)
        await backend.db()
        return backend

    @staticmethod
    def builder() -> LocalBackendBuilder:
        """Start a builder whose set fields override the persisted config."""
        return LocalBackendBuilder()

    # -- config -------------------------------------------------------------------------------

    def _load_config(self) -> LocalConfig:
        loaded = read_config_file(self.config_path)
        self._config_error = loaded.error
        return self._in_home(loaded.config)

    def _in_home(self, config: LocalConfig) -> LocalConfig:
        """``config`` with the explicit home filled in where the file leaves ``home`` unset."""
        if self._home is None or config.home is not None:
            return config
        return config.model_copy(update={"home": str(self._home)})

    @property
    def config_path(self) -> Path:
        """The config file this backend reads (``MSB_CONFIG_PATH`` or ``<home>/config.json``)."""
        if self._config_file is None:
            self._config_file = config_path(self._home)
        return self._config_file

    @property
    def config(self) -> LocalConfig:
        """The effective config. A malformed file falls back to the defaults, as microsandbox does;
        the error is kept in :attr:`config_error`."""
        if self._config is None:
            self._config = self._load_config()
        return self._config

    @property
    def config_error(self) -> ConfigReadError | ConfigParseError | None:
        """Why the config file could not be used, or None."""
        _ = self.config
        return self._config_error

    def reload_config(self) -> LocalConfig:
        """Forget the cached config (after the file was saved) and read it again.

        Builder overrides are not re-applied, so only lazily configured backends reload; a built
        backend keeps its merged config and only refreshes :attr:`config_error`.
        """
        loaded = read_config_file(self.config_path)
        self._config_error = loaded.error
        if self._built_config is None:
            self._config = self._in_home(loaded.config)
        return self.config

    def read_config_file(self) -> ConfigFile:
        """Read config.json afresh (for the editor), without changing this backend's config."""
        return read_config_file(self.config_path)

    # -- read-only guard ----------------------------------------------------------------------

    @property
    def read_only(self) -> bool:
        """True when asked for, or when something blocks writing (see :attr:`read_only_reason`)."""
        return self.read_only_reason is not None

    @property
    def read_only_reason(self) -> ReadOnlyReason | None:
        """Why this home may not be written now (asked for, a newer schema, a ledger that changed
        since it was opened, an install or downgrade under way), or None."""
        if self._requested_read_only:
            return REQUESTED_READ_ONLY
        return self._database.read_only_reason if self._database is not None else None

    def ensure_writable(self, action: str) -> None:
        """The one guard every mutating operation passes; raises :class:`ReadOnlyError`."""
        reason = self.read_only_reason
        if reason is not None:
            raise ReadOnlyError(action, reason)

    def on_write_block_change(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` whenever :attr:`read_only_reason` changes because of what a write or
        :meth:`recheck` found (the ledger changed, an install began or ended). No I/O."""
        self.database.on_block_change(callback)

    async def recheck(self) -> ReadOnlyReason | None:
        """Look again whether the catalog may still be written (see :meth:`Database.recheck`)."""
        if self._database is None:
            return self.read_only_reason
        await self._database.recheck()
        return self.read_only_reason

    # -- accessors ------------------------------------------------------------------------------

    def kind(self) -> BackendKind:
        """Always ``BackendKind.LOCAL``."""
        return BackendKind.LOCAL

    def home(self) -> Path:
        """The home folder."""
        return self.config.home_dir()

    def volume_path(self, name: str) -> Path:
        """``volumes_dir()/name``, without name validation (as the reference)."""
        return self.volumes_dir() / name

    def sandboxes_dir(self) -> Path:
        """Per-sandbox state folders."""
        return self.config.sandboxes_dir()

    def volumes_dir(self) -> Path:
        """Named volume folders."""
        return self.config.volumes_dir()

    def snapshots_dir(self) -> Path:
        """Snapshot artifact folders."""
        return self.config.snapshots_dir()

    def cache_dir(self) -> Path:
        """OCI cache."""
        return self.config.cache_dir()

    def logs_dir(self) -> Path:
        """The (unused by microsandbox 0.5.x) logs folder."""
        return self.config.logs_dir()

    def secrets_dir(self) -> Path:
        """Registry secrets."""
        return self.config.secrets_dir()

    def volumes(self) -> Volumes:
        """Volume operations on this backend's home."""
        return Volumes(self)

    def sandboxes(self) -> Sandboxes:
        """Sandbox operations on this backend's home."""
        return Sandboxes(self)

    # -- database -------------------------------------------------------------------------------

    @property
    def database(self) -> Database:
        """The catalog object (not yet opened until :meth:`db` is awaited)."""
        if self._database is None:
            db = self.config.database
            self._database = Database(
                DbSettings(
                    path=self.config.db_path(),
                    max_connections=db.max_connections,
                    connect_timeout_secs=float(db.connect_timeout_secs),
                    busy_timeout_secs=float(db.busy_timeout_secs),
                ),
                read_only=self._requested_read_only,
            )
        return self._database

    async def db(self) -> Database:
        """Open (create and migrate when writable) the catalog once, and return it."""
        database = self.database
        await database.open()
        return database

    @property
    def profile(self) -> HomeProfile:
        """The home's profile, from the ledger found when the catalog was opened (0.5 before that)."""
        return self.database.profile

    @property
    def schema_status(self) -> SchemaStatus:
        """What was found when the catalog was opened."""
        return self.database.status

    async def close(self) -> None:
        """Dispose every connection so the process can exit promptly."""
        if self._database is not None:
            await self._database.close()

    async def __aenter__(self) -> LocalBackend:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


_UNSET: Any = object()


class LocalBackendBuilder:
    """Collects overrides; :meth:`build` lays only the fields that were set onto the persisted config."""

    def __init__(self) -> None:
        self._overrides: dict[tuple[str, ...], Any] = {}
        self._read_only = False
        self._config_file: Path | None = None

    def _set(self, path: tuple[str, ...], value: Any) -> LocalBackendBuilder:
        self._overrides[path] = value
        return self

    def home(self, path: str | Path) -> LocalBackendBuilder:
        """Override ``home`` (data folders only; the config file does not move)."""
        return self._set(("home",), str(path))

    def sandboxes_dir(self, path: str | Path) -> LocalBackendBuilder:
        """Override ``paths.sandboxes``."""
        return self._set(("paths", "sandboxes"), str(path))

    def volumes_dir(self, path: str | Path) -> LocalBackendBuilder:
        """Override ``paths.volumes``."""
        return self._set(("paths", "volumes"), str(path))

    def snapshots_dir(self, path: str | Path) -> LocalBackendBuilder:
        """Override ``paths.snapshots``."""
        return self._set(("paths", "snapshots"), str(path))

    def cache_dir(self, path: str | Path) -> LocalBackendBuilder:
        """Override ``paths.cache``."""
        return self._set(("paths", "cache"), str(path))

    def logs_dir(self, path: str | Path) -> LocalBackendBuilder:
        """Override ``paths.logs``."""
        return self._set(("paths", "logs"), str(path))

    def secrets_dir(self, path: str | Path) -> LocalBackendBuilder:
        """Override ``paths.secrets``."""
        return self._set(("paths", "secrets"), str(path))

    def max_connections(self, n: int) -> LocalBackendBuilder:
        """Override ``database.max_connections``."""
        return self._set(("database", "max_connections"), n)

    def connect_timeout_secs(self, secs: int) -> LocalBackendBuilder:
        """Override ``database.connect_timeout_secs``."""
        return self._set(("database", "connect_timeout_secs"), secs)

    def busy_timeout_secs(self, secs: int) -> LocalBackendBuilder:
        """Override ``database.busy_timeout_secs``."""
        return self._set(("database", "busy_timeout_secs"), secs)

    def default_cpus(self, n: int) -> LocalBackendBuilder:
        """Override ``sandbox_defaults.cpus``."""
        return self._set(("sandbox_defaults", "cpus"), n)

    def default_memory_mib(self, n: int) -> LocalBackendBuilder:
        """Override ``sandbox_defaults.memory_mib``."""
        return self._set(("sandbox_defaults", "memory_mib"), n)

    def shell(self, shell: str) -> LocalBackendBuilder:
        """Override ``sandbox_defaults.shell``."""
        return self._set(("sandbox_defaults", "shell"), shell)

    def workdir(self, workdir: str) -> LocalBackendBuilder:
        """Override ``sandbox_defaults.workdir``."""
        return self._set(("sandbox_defaults", "workdir"), workdir)

    def metrics_sample_interval_ms(self, ms: int) -> LocalBackendBuilder:
        """Override ``sandbox_defaults.metrics_sample_interval_ms`` (0 disables)."""
        return self._set(("sandbox_defaults", "metrics_sample_interval_ms"), ms)

    def disable_metrics_sample(self, disabled: bool) -> LocalBackendBuilder:
        """Override ``sandbox_defaults.disable_metrics_sample``."""
        return self._set(("sandbox_defaults", "disable_metrics_sample"), disabled)

    def ca_certs(self, path: str | Path | None) -> LocalBackendBuilder:
        """Override ``registries.ca_certs``; None clears a persisted value."""
        return self._set(("registries", "ca_certs"), None if path is None else str(path))

    def registry_hosts(self, hosts: dict[str, RegistryEntry]) -> LocalBackendBuilder:
        """Replace ``registries.hosts`` wholesale (no merge)."""
        return self._set(("registries", "hosts"), dict(hosts))

    def log_level(self, level: str) -> LocalBackendBuilder:
        """Override ``log_level``."""
        return self._set(("log_level",), level)

    def read_only(self, read_only: bool = True) -> LocalBackendBuilder:
        """Open the catalog with ``mode=ro`` and refuse every mutating call."""
        self._read_only = read_only
        return self

    def config_file(self, path: str | Path) -> LocalBackendBuilder:
        """Read this config file instead of ``MSB_CONFIG_PATH`` / ``<home>/config.json``."""
        self._config_file = Path(path)
        return self

    def merge_into(self, base: LocalConfig) -> LocalConfig:
        """``base`` with every set override applied, validated again."""
        document = base.model_dump(mode="python")
        for path, value in self._overrides.items():
            target = document
            for part in path[:-1]:
                target = target[part]
            target[path[-1]] = value
        return LocalConfig.model_validate(document, strict=False)

    def build_lazy(self) -> LocalBackend:
        """Load the persisted config, apply the overrides, but connect nothing yet."""
        file = self._config_file or config_path()
        loaded = read_config_file(file)
        return LocalBackend(
            self.merge_into(loaded.config),
            read_only=self._read_only,
            config_file=file,
            config_error=loaded.error,
        )

    async def build(self) -> LocalBackend:
        """Load, merge, then connect and migrate (like the reference's ``build().await``)."""
        backend = self.build_lazy()
        await backend.db()
        return backend
