"""Typed errors raised by the backend.

Every error carries a short ``title`` for a UI heading and a message that says what went wrong and,
where there is something to do, what to do about it. Messages mirror microsandbox's own wording where
the reference has one (for example ``volume not found: <name>``), so operators see familiar text.
"""

from __future__ import annotations

from pathlib import Path


class BackendError(Exception):
    """Base class of every error the backend raises on purpose."""

    title = "Error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(BackendError):
    """config.json could not be used."""

    title = "Config error"

    def __init__(self, message: str, path: Path) -> None:
        super().__init__(message)
        self.path = path


class ConfigReadError(ConfigError):
    """config.json exists but cannot be read (a directory, no permission, an I/O error)."""

    title = "Config unreadable"


class ConfigParseError(ConfigError):
    """config.json was read but is not valid JSON or does not match the schema.

    ``line`` and ``column`` (1-based) point at a JSON syntax error; ``key_path`` names the offending key
    for a schema error, for example ``sandbox_defaults.cpus``.
    """

    title = "Invalid config"

    def __init__(
        self,
        message: str,
        path: Path,
        *,
        line: int | None = None,
        column: int | None = None,
        key_path: str | None = None,
    ) -> None:
        super().__init__(message, path)
        self.line = line
        self.column = column
        self.key_path = key_path


class ConfigConflictError(ConfigError):
    """config.json changed on disk since it was loaded; saving would overwrite someone else's edit."""

    title = "Config changed on disk"

    def __init__(self, message: str, path: Path, current_text: str | None) -> None:
        super().__init__(message, path)
        self.current_text = current_text


class ConfigWriteError(ConfigError):
    """config.json could not be written; the previous file is still in place."""

    title = "Config not saved"


class ReadOnlyError(BackendError):
    """A mutating call was made on a read-only backend."""

    title = "Read-only"

    def __init__(self, action: str, reason: str = "the backend was opened read-only") -> None:
        super().__init__(f"cannot {action}: {reason}")
        self.action = action
        self.reason = reason


class DatabaseError(BackendError):
    """The SQLite catalog could not be opened, migrated or queried."""

    title = "Database error"


class DatabaseBusyError(DatabaseError):
    """The database stayed locked by another process for longer than the busy timeout and retries."""

    title = "Database busy"


class SchemaTooNewError(DatabaseError):
    """The database was migrated by a newer microsandbox than this tool knows; it is opened read-only."""

    title = "Newer schema"

    def __init__(self, message: str, unknown_versions: tuple[str, ...]) -> None:
        super().__init__(message)
        self.unknown_versions = unknown_versions


class InvalidConfigError(BackendError):
    """An argument failed validation (microsandbox's ``invalid config: …`` errors)."""

    title = "Invalid input"

    def __init__(self, message: str) -> None:
        super().__init__(f"invalid config: {message}")
        self.detail = message


class NotFoundError(BackendError):
    """Base class for a named object that does not exist."""

    title = "Not found"


class VolumeNotFoundError(NotFoundError):
    """No volume row with that name."""

    def __init__(self, name: str) -> None:
        super().__init__(f"volume not found: {name}")
        self.name = name


class VolumeAlreadyExistsError(BackendError):
    """A volume with that name already exists."""

    title = "Already exists"

    def __init__(self, name: str) -> None:
        super().__init__(f"volume already exists: {name}")
        self.name = name


class SandboxNotFoundError(NotFoundError):
    """No sandbox row with that name."""

    def __init__(self, name: str) -> None:
        super().__init__(f"sandbox not found: {name}")
        self.name = name


class SandboxStillRunningError(BackendError):
    """The sandbox is running or draining, so it cannot be removed."""

    title = "Sandbox running"

    def __init__(self, name: str) -> None:
        super().__init__(
            f"sandbox still running: cannot remove sandbox '{name}': still running "
            "(stop it with `msb stop` first)"
        )
        self.name = name


class FsError(BackendError):
    """A host-side file operation on a volume failed."""

    title = "File error"


class PathTraversalError(FsError):
    """A path would leave the volume's folder."""

    title = "Path outside volume"

    def __init__(self, path: str) -> None:
        super().__init__(f"sandbox fs error: path traversal outside volume root: {path!r}")
        self.path = path


class ToolMissingError(BackendError):
    """An external program the operation needs (mkfs.ext4, debugfs) is not installed."""

    title = "Tool missing"
