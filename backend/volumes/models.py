"""Plain data for volumes (reference section 5): the create request, the row view, file entries.

These are frozen slotted dataclasses rather than pydantic models because listings build them by
the hundred thousand; validation with microsandbox's own messages lives in :func:`validate_config`.
"""

from __future__ import annotations

import re
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, NamedTuple

from backend.errors import InvalidConfigError

VolumeKind = Literal["dir", "disk"]
FsKind = Literal["file", "directory", "symlink", "other"]

# Sizes are u32 MiB in microsandbox; quota_mib is stored as i32, so larger values would come back negative.
MAX_CAPACITY_MIB = 2**32 - 1
MAX_QUOTA_MIB = 2**31 - 1

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def validate_volume_name(name: str) -> None:
    """microsandbox's ``validate_volume_name``: ``^[A-Za-z0-9][A-Za-z0-9._-]*$``, no length limit."""
    if not name:
        raise InvalidConfigError("volume name must not be empty")
    if not isinstance(name, str) or _NAME.fullmatch(name) is None:
        raise InvalidConfigError(
            "volume name must start with an alphanumeric character and contain only alphanumeric "
            f"characters, dots, hyphens, and underscores: {name}"
        )


def _labels(value: Iterable[tuple[str, str]] | Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    pairs = value.items() if isinstance(value, Mapping) else value
    out: list[tuple[str, str]] = []
    for pair in pairs:
        try:
            key, val = pair
        except (TypeError, ValueError):
            raise InvalidConfigError(f"a volume label must be a (key, value) pair, got {pair!r}") from None
        if not isinstance(key, str) or not isinstance(val, str):
            raise InvalidConfigError(f"volume label keys and values must be text, got {pair!r}")
        out.append((key, val))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class VolumeConfig:
    """What to create: microsandbox's ``VolumeSpec``.

    ``labels`` are ordered pairs (stored as a tuple); duplicate keys are kept, as microsandbox does.
    The ``directory``/``disk`` constructors also take a mapping, in its iteration order.
    """

    name: str
    kind: VolumeKind = "dir"
    quota_mib: int | None = None
    capacity_mib: int | None = None
    labels: Sequence[tuple[str, str]] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", _labels(self.labels))

    @classmethod
    def directory(
        cls, name: str, *, quota_mib: int | None = None,
        labels: Iterable[tuple[str, str]] | Mapping[str, str] = (),
    ) -> VolumeConfig:
        """A directory volume; microsandbox (0.5.10+) caps what a sandbox writes into it at ``quota_mib``."""
        return cls(name, "dir", quota_mib=quota_mib, labels=_labels(labels))

    @classmethod
    def disk(
        cls, name: str, *, capacity_mib: int, labels: Iterable[tuple[str, str]] | Mapping[str, str] = ()
    ) -> VolumeConfig:
        """A disk volume: a sparse ext4 image of ``capacity_mib`` MiB."""
        return cls(name, "disk", capacity_mib=capacity_mib, labels=_labels(labels))


def _check_mib(value: object, what: str, maximum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise InvalidConfigError(f"{what} must be a whole number of MiB from 0 to {maximum}, got {value!r}")


def validate_config(config: VolumeConfig) -> None:
    """The name rule, then microsandbox's ``validate_volume_config`` rules, with its messages."""
    validate_volume_name(config.name)
    if config.kind not in ("dir", "disk"):
        raise InvalidConfigError(f"volume kind must be `dir` or `disk`, got {config.kind!r}")
    if config.kind == "dir":
        if config.capacity_mib is not None:
            raise InvalidConfigError("directory named volumes do not support .size(...) / --size")
        if config.quota_mib is not None:
            _check_mib(config.quota_mib, "quota_mib", MAX_QUOTA_MIB)
        return
    if config.capacity_mib is None:
        raise InvalidConfigError("disk named volumes require .size(...) / --size")
    if config.quota_mib is not None:
        raise InvalidConfigError("disk named volumes do not support .quota(...)")
    _check_mib(config.capacity_mib, "capacity_mib", MAX_CAPACITY_MIB)


class VolumeInfo(NamedTuple):
    """One volume row, as microsandbox's ``VolumeHandle`` reads it.

    ``used_bytes`` is the row's ``size_bytes`` (always 0 in practice: nothing writes it); use
    ``Volumes.usage`` for real figures. ``kind`` is ``disk`` only for the exact text ``disk``.
    ``quota_mib`` is the stored value with negatives read as 0, as microsandbox reads it.
    ``problem`` flags a row whose name cannot be a folder name: such a row is listed, never opened.
    Immutable; a NamedTuple rather than a frozen dataclass because it is built five times faster,
    which matters for lists of thousands of volumes.
    """

    name: str
    kind: VolumeKind
    quota_mib: int | None
    used_bytes: int
    capacity_bytes: int | None
    disk_format: str | None
    disk_fstype: str | None
    labels: tuple[tuple[str, str], ...]
    created_at: datetime | None
    updated_at: datetime | None
    volumes_dir: Path
    #: Why the row's folder is not opened (a name like ``..`` that cannot be a folder name), or None.
    problem: str | None = None

    @property
    def path(self) -> Path:
        """The volume's folder, ``volumes_dir()/name`` of the backend it was read from."""
        return self.volumes_dir / self.name

    @property
    def disk_path(self) -> Path | None:
        """``path/disk.raw`` for a disk volume, else None."""
        return self.volumes_dir / self.name / "disk.raw" if self.kind == "disk" else None


def kind_of(mode: int) -> FsKind:
    """The reference's entry kind for an ``st_mode``."""
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "directory"
    if stat.S_ISLNK(mode):
        return "symlink"
    return "other"


def seconds_utc(timestamp: float | None) -> datetime | None:
    """A POSIX time as an aware UTC datetime truncated to whole seconds (the reference's precision)."""
    if timestamp is None:
        return None
    try:
        return datetime.fromtimestamp(int(timestamp), UTC)
    except (OverflowError, OSError, ValueError):
        return None


class FsEntry(NamedTuple):
    """One child of a listed folder (reference ``FsEntry``), from ``lstat``: symlinks are not followed.

    ``path`` is ``/`` plus the volume-relative path. Names that are not UTF-8 keep their bytes as
    surrogate escapes, so the path can be passed back to any operation unchanged. ``mode`` is the
    full ``st_mode``, file-type bits included. An entry whose metadata could not be read has kind
    ``other``, size 0, mode 0 and no time, as in the reference. A NamedTuple, like
    :class:`VolumeInfo`, because folders with 100,000 entries build that many.
    """

    path: str
    kind: FsKind
    size: int
    mode: int
    modified: datetime | None

    @property
    def name(self) -> str:
        """The last component of :attr:`path`."""
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True, slots=True)
class FsMetadata:
    """What ``stat`` returns (reference ``FsMetadata``), from ``lstat`` of the entry itself.

    ``readonly`` is true when no write bit is set at all. ``created`` is the birth time where the
    platform reports one (not on Linux with Python 3.11), else None.
    """

    kind: FsKind
    size: int
    mode: int
    readonly: bool
    modified: datetime | None
    created: datetime | None
    allocated: int = 0
    links: int = 1


@dataclass(frozen=True, slots=True)
class FilePreview:
    """The first and last bytes of a regular file, read without reading what lies between.

    When the whole file fits in ``head_bytes + tail_bytes`` it is all in ``head`` and ``tail`` is
    empty; otherwise ``truncated`` is true and ``size - len(head) - len(tail)`` bytes were skipped.
    """

    size: int
    head: bytes
    tail: bytes
    truncated: bool
