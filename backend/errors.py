"""Typed errors raised by the backend.

Every error carries a short ``title`` for a UI heading and a message that says what went wrong and,
where there is something to do, what to do about it; errors about the home itself (catalog, config) also
carry a ``summary`` of a few words for a status line that has room for little more. Messages mirror microsandbox's own wording where
the reference has one (for example ``volume not found: <name>``), so operators see familiar text.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path


class BackendError(Exception):
    """Base class of every error the backend raises on purpose."""

    title = "Error"

    def __init__(self, message: str, *, summary: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        #: What went wrong and what to do in a few words; the message itself when none was given.
        self.summary = summary or message

    def __str__(self) -> str:
        return self.message


class ConfigError(BackendError):
    """config.json could not be used."""

    title = "Config error"

    def __init__(self, message: str, path: Path, *, summary: str | None = None) -> None:
        super().__init__(message, summary=summary)
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
        summary: str | None = None,
    ) -> None:
        super().__init__(message, path, summary=summary)
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


class WriteBlock(str, enum.Enum):
    """Why a home may not be written."""

    REQUESTED = "requested"
    """Opened read-only on purpose (``--read-only``)."""
    NEWER_SCHEMA = "newer schema"
    """The catalog holds migrations this tool does not know."""
    UNRECOGNIZED = "unrecognized schema"
    """The catalog's ledger fits no profile this tool writes (intermediate, reordered, or missing)."""
    SCHEMA_CHANGED = "schema changed"
    """The catalog's migration ledger changed after it was opened (a newer microsandbox migrated it)."""
    INSTALL_IN_PROGRESS = "install in progress"
    """``msb self update``/``downgrade`` holds the ``install_exclusive`` maintenance lease."""
    DOWNGRADE_PENDING = "downgrade pending"
    """A ``db/self-downgrade/*/journal.json`` is missing or not complete."""


@dataclass(frozen=True)
class ReadOnlyReason:
    """A typed reason for read-only: what blocks writing, why in a sentence, and in a few words.

    ``lasting`` is false for blocks that lift by themselves (a maintenance lease that expires).
    """

    block: WriteBlock
    message: str
    summary: str
    lasting: bool = True


REQUESTED_READ_ONLY = ReadOnlyReason(WriteBlock.REQUESTED, "the backend was opened read-only", "read-only")


class ReadOnlyError(BackendError):
    """A mutating call was made on a read-only backend; ``block`` says why, when it is known."""

    title = "Read-only"

    def __init__(self, action: str, reason: str | ReadOnlyReason = REQUESTED_READ_ONLY) -> None:
        typed = reason if isinstance(reason, ReadOnlyReason) else None
        text = typed.message if typed is not None else str(reason)
        super().__init__(f"cannot {action}: {text}", summary=typed.summary if typed is not None else None)
        self.action = action
        self.reason = text
        #: The typed reason, when the caller knew one.
        self.read_only_reason = typed
        self.block = typed.block if typed is not None else None


class HomeChangedError(ReadOnlyError):
    """A write found, inside its own transaction, that the home is no longer the one opened (its
    migration ledger changed, or an install or downgrade began); it was rolled back."""

    title = "Home changed"


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


class UnsafeNameError(FsError):
    """A name read from the catalog cannot name one folder (``..``, ``a/b``, empty, NUL), so nothing
    is opened under it: the row is listed with a problem, and file operations on it are refused."""

    title = "Unsafe name"

    def __init__(self, what: str, name: object) -> None:
        super().__init__(
            f"{what} {name!r}: the name is not a safe folder name (empty, `.`, `..`, or holding `/` or NUL), "
            "so its files are not opened; fix or remove the catalog row")
        self.name = name


class ToolMissingError(BackendError):
    """An external program the operation needs (mkfs.ext4, debugfs) is not installed."""

    title = "Tool missing"


# -- sandboxes (issue 4) ------------------------------------------------------------------------


class InvalidQueryError(BackendError):
    """A sandbox list query, cursor, offset or limit is not usable."""

    title = "Invalid filter"


class InvalidCursorError(InvalidQueryError):
    """A page cursor is malformed or belongs to a different query or sort order."""

    title = "Invalid cursor"


class InvalidSandboxNameError(InvalidConfigError):
    """A sandbox name breaks microsandbox's naming rule (section 6.1), so it cannot name a folder."""

    def __init__(self, message: str, name: object) -> None:
        super().__init__(message)
        self.name = name


class SandboxNotRemovableError(BackendError):
    """The sandbox is in a state (or has a live process) that makes removing it unsafe."""

    title = "Cannot remove"

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"cannot remove sandbox '{name}': {reason}")
        self.name = name
        self.reason = reason


class SandboxLockedError(SandboxNotRemovableError):
    """A microsandbox process holds one of the sandbox's locks (``run/…/<h>.lock``)."""

    title = "Sandbox in use"

    def __init__(self, name: str, reason: str, lock: Path) -> None:
        super().__init__(name, reason)
        self.lock = lock


class SandboxRemoveError(BackendError):
    """Removing the sandbox's folder failed; says what was and was not removed."""

    title = "Remove failed"

    def __init__(self, message: str, name: str) -> None:
        super().__init__(message)
        self.name = name


class LogFileNotFoundError(NotFoundError):
    """The sandbox has no such log file (or no logs folder at all)."""

    def __init__(self, sandbox: str, file: str, path: Path) -> None:
        super().__init__(f"log file not found: {file} of sandbox '{sandbox}' (looked at `{path}`)")
        self.sandbox = sandbox
        self.file = file
        self.path = path


class LogReadError(FsError):
    """A log file exists but cannot be read (a folder, a symlink, no permission, an I/O error)."""

    title = "Log unreadable"


# -- volumes and volume files (issue 3) --------------------------------------------------------


class VolumeFolderExistsError(VolumeAlreadyExistsError):
    """The volume's folder is already there although no volume row names it (an orphan folder)."""

    def __init__(self, name: str, folder: Path) -> None:
        BackendError.__init__(
            self,
            f"volume already exists: {name}: the folder `{folder}` is there but no volume row names it; "
            "move or delete that folder, or choose another name",
        )
        self.name = name
        self.folder = folder


class VolumeBusyError(BackendError):
    """Another process holds the volume's lock (``volumes/.locks/<name>.lock``) for too long."""

    title = "Volume busy"


class VolumeInUseError(BackendError):
    """A volume cannot be removed: a running sandbox has it attached or mounted."""

    title = "Volume in use"

    def __init__(self, message: str, name: str, sandbox: str | None = None) -> None:
        super().__init__(message)
        self.name = name
        self.sandbox = sandbox


class HomeMigratingError(DatabaseBusyError):
    """Another process held the catalog's migration lock past the wait: microsandbox is opening or
    migrating this home."""

    title = "Home being migrated"


class VolumeRemoveError(BackendError):
    """A volume's folder could not be removed; ``row_removed`` says whether the catalog row is gone."""

    title = "Folder not removed"

    def __init__(self, message: str, folder: Path, *, row_removed: bool) -> None:
        super().__init__(message)
        self.folder = folder
        self.row_removed = row_removed


class DiskImageError(BackendError):
    """A disk volume's ext4 image (``disk.raw``) could not be made or read."""

    title = "Disk image error"


class DiskTooSmallError(DiskImageError):
    """The requested capacity cannot hold an ext4 file system with microsandbox's 64 MiB journal."""

    title = "Disk too small"


class FsPathError(FsError):
    """A file operation on one path inside a volume failed; ``path`` is the volume-relative path."""

    def __init__(self, message: str, path: str) -> None:
        super().__init__(message)
        self.path = path


class FsNotFoundError(FsPathError):
    """No file or folder at that path."""

    title = "Not found"


class FsExistsError(FsPathError):
    """Something is already at the target path and overwriting was not asked for."""

    title = "Already exists"


class FsIsADirectoryError(FsPathError):
    """A file was expected but the path is a folder."""

    title = "Is a folder"


class FsNotADirectoryError(FsPathError):
    """A folder was expected (as the target or on the way to it) but a file or symlink is there."""

    title = "Not a folder"


class FsNotEmptyError(FsPathError):
    """The target folder is not empty."""

    title = "Folder not empty"


class FsSymlinkError(FsPathError):
    """The path is, or goes through, a symlink; volume paths never follow symlinks."""

    title = "Symlink not followed"


class FsNotRegularFileError(FsPathError):
    """The path is a FIFO, socket or device; only regular files are read or replaced."""

    title = "Not a regular file"


class FsPermissionError(FsPathError):
    """The operating system refused access to the path."""

    title = "Permission denied"


class FsInvalidDataError(FsPathError):
    """The file is not valid UTF-8 text."""

    title = "Not UTF-8 text"


class FsRootError(FsPathError):
    """The operation cannot target the volume's root folder itself."""

    title = "Volume root"


class FsInvalidPathError(FsPathError):
    """The path cannot name a file (a NUL byte, or a name longer than the file system allows)."""

    title = "Invalid path"


class FsUnsupportedError(FsError):
    """The operation does not apply to this volume (for example host file ops on a disk volume)."""

    title = "Not supported"


class VolumeFolderMissingError(FsError):
    """The volume's folder does not exist (or is not a real folder), so its files cannot be reached."""

    title = "Folder missing"

    def __init__(self, message: str, folder: Path) -> None:
        super().__init__(message)
        self.folder = folder


class VolumeStorageError(BackendError):
    """A volume's folder (or its lock file) could not be made: permissions, a full or read-only disk."""

    title = "Storage error"
