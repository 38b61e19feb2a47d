"""Which sandboxes mount which volume, volumes whose folder is gone, and folders with no volume row.

Mounts come from each sandbox row's stored ``config`` JSON (``volume_attach`` exists in the schema
but microsandbox never fills it). ``Named`` mounts name the volume; a ``Bind`` mount whose host path
lies inside a volume folder counts too. A row that mentions such a mount but whose JSON cannot be
read is listed in ``unreadable_sandboxes`` and otherwise skipped: one bad row never hides the others.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from backend.errors import InvalidConfigError
from backend.jsonio import loads_row
from backend.volumes.models import VolumeInfo, validate_volume_name



@dataclass(frozen=True, slots=True)
class MountRef:
    """One sandbox mounting a volume: at ``guest``, read-only or not, and the sandbox's status."""

    sandbox: str
    guest: str
    readonly: bool
    status: str
    via: Literal["named", "bind"] = "named"


@dataclass(frozen=True, slots=True)
class VolumeCrossRef:
    """What refers to one volume, and whether its storage is where the row says."""

    name: str
    mounted_by: tuple[MountRef, ...]
    folder_missing: bool
    image_missing: bool = False

    @property
    def running_writers(self) -> tuple[MountRef, ...]:
        """Read-write mounts by sandboxes that are running (or starting, draining, paused)."""
        return tuple(m for m in self.mounted_by
                     if not m.readonly and m.status in ("Running", "Starting", "Draining", "Paused"))


@dataclass(frozen=True, slots=True)
class OrphanFolder:
    """A folder under ``volumes/`` that no row names. ``valid_name`` is false for a name no volume can
    have. Dot-folders (microsandbox's ``.locks`` and ``.<name>.XXXXXX`` staging folders, a removal
    under way) are never listed."""

    name: str
    path: Path
    valid_name: bool


@dataclass(frozen=True, slots=True)
class VolumeCrossRefs:
    """Cross-references for every volume row (in list order), plus what belongs to no row.

    ``orphan_scan_error`` says why orphan folders could not be looked for (the rest is still valid).
    """

    volumes: tuple[VolumeCrossRef, ...]
    orphan_folders: tuple[OrphanFolder, ...]
    unknown_volume_mounts: tuple[tuple[str, MountRef], ...]
    unreadable_sandboxes: tuple[str, ...]
    orphan_scan_error: str | None = None

    _by_name: dict[str, VolumeCrossRef] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {ref.name: ref for ref in self.volumes})

    def for_volume(self, name: str) -> VolumeCrossRef | None:
        """The entry for ``name``, or None when no row has that name."""
        return self._by_name.get(name)


def _readonly(mount: dict[str, Any]) -> bool:
    options = mount.get("options")
    if isinstance(options, dict) and "readonly" in options:
        return bool(options.get("readonly"))
    return bool(mount.get("readonly", False))  # legacy rows carry readonly at the top level


#: One pass over the sandbox table. Only a config whose text names a ``Named`` or ``Bind`` mount
#: can mount a volume, so only those are parsed (``instr`` is the fastest text test SQLite has, about
#: 2x a bare read of the column; serde writes the tags verbatim, so a tag spelled with JSON escapes is
#: the one case this would miss). Rows come back as ``(sandbox, status, mount JSON, index)``
#: for each such mount of a config that is a JSON object (SQLite reads the JSON, so only the mounts
#: reach Python), and as ``(sandbox, NULL, NULL, NULL)`` for a candidate whose config cannot be read. A
#: malformed config becomes NULL before ``json_each``, which would fail the whole query on it.
MOUNTS_SQL = """
WITH candidate AS MATERIALIZED (
    SELECT name, status, config FROM sandbox
    WHERE instr(config, 'Named') > 0 OR instr(config, 'Bind') > 0
)
SELECT c.name, c.status, m.value, m.key
FROM candidate AS c, json_each(
    CASE WHEN json_valid(c.config) THEN
        CASE WHEN json_type(c.config) = 'object' AND json_type(c.config, '$.mounts') = 'array'
        THEN c.config END
    END, '$.mounts') AS m
WHERE m.type = 'object' AND json_extract(m.value, '$.type') IN ('Named', 'Bind')
UNION ALL
SELECT name, NULL, NULL, NULL FROM candidate
WHERE CASE WHEN json_valid(config) THEN json_type(config) != 'object' ELSE 1 END
ORDER BY 1, 4
"""


def mount_ref(sandbox: str, status: str, mount: object, volumes_dir: Path) -> tuple[str, MountRef] | None:
    """``(volume name, mount)`` when the stored ``mount`` object refers to a volume, else None."""
    if not isinstance(mount, dict):
        return None
    guest = mount.get("guest")
    guest_text = guest if isinstance(guest, str) else ""
    if mount.get("type") == "Named" and isinstance(mount.get("name"), str):
        return mount["name"], MountRef(sandbox, guest_text, _readonly(mount), status)
    if mount.get("type") == "Bind" and isinstance(mount.get("host"), str):
        base = os.path.normpath(str(volumes_dir)) + os.sep
        host = os.path.normpath(mount["host"])
        if host.startswith(base):
            return host[len(base):].split(os.sep, 1)[0], MountRef(sandbox, guest_text, _readonly(mount), status, "bind")
    return None


def _valid(name: str) -> bool:
    try:
        validate_volume_name(name)
    except InvalidConfigError:
        return False
    return True


def build(
    rows: list[VolumeInfo],
    mounts: Iterable[tuple[str, str, str]],
    unreadable: Iterable[str],
    volumes_dir: Path,
) -> VolumeCrossRefs:
    """Combine volume rows, ``(sandbox, status, mount JSON)`` rows (:data:`MOUNTS_SQL`), the sandboxes
    whose config cannot be read, and the folders on disk."""
    by_volume: dict[str, list[MountRef]] = {row.name: [] for row in rows}
    unknown: list[tuple[str, MountRef]] = []
    for sandbox, status, mount_text in mounts:
        try:
            found = mount_ref(sandbox, status, loads_row(mount_text), volumes_dir)
        except ValueError:
            continue
        if found is None:
            continue
        volume, ref = found
        target = by_volume.get(volume)
        if target is None:
            unknown.append((volume, ref))
        else:
            target.append(ref)
    refs = []
    for row in rows:
        if row.problem is not None:  # a name like ``..``: its "folder" is somewhere else, never looked at
            refs.append(VolumeCrossRef(row.name, tuple(by_volume[row.name]), False, False))
            continue
        folder_missing = not row.path.is_dir() or row.path.is_symlink()
        image_missing = (row.kind == "disk" and not folder_missing and row.disk_path is not None
                         and not row.disk_path.is_file())
        refs.append(VolumeCrossRef(row.name, tuple(by_volume[row.name]), folder_missing, image_missing))
    names = set(by_volume)
    orphans: list[OrphanFolder] = []
    scan_error: str | None = None
    try:
        with os.scandir(volumes_dir) as entries:
            for entry in entries:
                # Dot-folders are microsandbox's (``.locks``, ``.<name>.XXXXXX`` staging) or ours (a
                # removal under way): never volumes, never orphans to offer for deletion.
                if entry.name.startswith(".") or entry.name in names:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    orphans.append(OrphanFolder(entry.name, volumes_dir / entry.name, _valid(entry.name)))
    except (FileNotFoundError, NotADirectoryError):
        pass  # no volumes folder yet: nothing can be an orphan
    except OSError as exc:
        scan_error = f"cannot list `{volumes_dir}`: {exc.strerror or exc}"
    orphans.sort(key=lambda o: o.name)
    return VolumeCrossRefs(tuple(refs), tuple(orphans), tuple(unknown), tuple(unreadable), scan_error)
