"""Owned volumes (microsandbox 0.7): storage that belongs to one sandbox and is removed with it.

They are not rows of ``volume``: an ``Owned`` mount in a sandbox's config names a guest path and a
storage kind, and 0.7 keeps the storage under the sandbox's folder, in
``sandboxes/<n>/owned-volumes/<id>/``, where ``id`` is ``<basename of the guest path>_<8 hex digits of
sha256(guest path)>``: a ``data/`` folder for a directory, or ``disk.raw`` (and an empty
``.disk-owner``) for a disk. Here they can be browsed and measured, never created or removed: they go
with their sandbox (``msb rm``).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from backend.errors import FsUnsupportedError, ReadOnlyError, VolumeFolderMissingError
from backend.jsonio import JsonError, loads_row
from backend.paths import is_path_component, owned_volume_id

OWNED_FOLDER = "owned-volumes"

#: Only configs whose text names an ``Owned`` mount are parsed (0.7 writes the tag verbatim).
OWNED_SQL = "SELECT name, status, config FROM sandbox WHERE instr(config, 'Owned') > 0 ORDER BY name"


@dataclass(frozen=True, slots=True)
class OwnedVolume:
    """One owned volume: which sandbox owns it, at which guest path, of which kind and size."""

    sandbox: str
    id: str
    kind: Literal["dir", "disk"]
    folder: Path
    sandbox_status: str = ""
    guest: str | None = None
    quota_mib: int | None = None
    capacity_mib: int | None = None
    readonly: bool = False
    folder_missing: bool = False
    problems: tuple[str, ...] = field(default=())

    @property
    def label(self) -> str:
        """``<sandbox>:<guest>`` (or the folder id when no mount names it), for lists and messages."""
        return f"{self.sandbox}:{self.guest or self.id}"

    @property
    def data_path(self) -> Path:
        """The host folder a directory volume's files live in (``…/<id>/data``)."""
        return self.folder / "data"

    @property
    def disk_path(self) -> Path | None:
        """The image of a disk volume (``…/<id>/disk.raw``), else None."""
        return self.folder / "disk.raw" if self.kind == "disk" else None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _mounts(config: object) -> list[dict[str, Any]]:
    try:
        document = loads_row(config) if isinstance(config, (str, bytes)) else None
    except JsonError:
        return []
    mounts = document.get("mounts") if isinstance(document, dict) else None
    return [m for m in mounts if isinstance(m, dict) and m.get("type") == "Owned"] if isinstance(mounts, list) else []


def _kind_on_disk(folder: Path) -> Literal["dir", "disk"] | None:
    try:
        names = set(os.listdir(folder))
    except OSError:
        return None
    if "disk.raw" in names:
        return "disk"
    return "dir" if "data" in names else None


def _is_real_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def owned_volumes(rows: list[tuple[Any, ...]], sandboxes_dir: Path) -> list[OwnedVolume]:
    """Owned volumes of the sandboxes in ``rows`` (``(name, status, config)`` from :data:`OWNED_SQL`):
    every ``Owned`` mount, and every folder in ``owned-volumes/`` no mount names. A folder reached
    through a symlink is never looked into."""
    out: list[OwnedVolume] = []
    for name, status, config in rows:
        if not isinstance(name, str) or not is_path_component(name):
            continue
        base = sandboxes_dir / name / OWNED_FOLDER
        safe = _is_real_dir(sandboxes_dir / name) and _is_real_dir(base)
        seen: set[str] = set()
        for mount in _mounts(config):
            guest = mount.get("guest") if isinstance(mount.get("guest"), str) else None
            if guest is None:
                continue
            volume_id = owned_volume_id(guest)
            seen.add(volume_id)
            found_storage = mount.get("storage")
            storage: dict[str, Any] = found_storage if isinstance(found_storage, dict) else {}
            kind: Literal["dir", "disk"] = "disk" if storage.get("kind") == "disk" else "dir"
            folder = base / volume_id
            found_options = mount.get("options")
            options: dict[str, Any] = found_options if isinstance(found_options, dict) else {}
            out.append(OwnedVolume(
                sandbox=name, id=volume_id, kind=kind, folder=folder, sandbox_status=str(status), guest=guest,
                quota_mib=_int(storage.get("quota_mib")), capacity_mib=_int(storage.get("capacity_mib")),
                readonly=options.get("readonly") is True, folder_missing=not (safe and _is_real_dir(folder)),
            ))
        if not safe:
            continue
        try:
            extra = sorted(entry for entry in os.listdir(base) if entry not in seen and not entry.startswith("."))
        except OSError:
            continue
        for entry in extra:
            folder = base / entry
            found = _kind_on_disk(folder) if _is_real_dir(folder) else None
            if found is None:
                continue
            out.append(OwnedVolume(sandbox=name, id=entry, kind=found, folder=folder, sandbox_status=str(status),
                                   problems=("no Owned mount of the sandbox's config names this folder",)))
    return out


def refuse_owned_write(action: str) -> None:
    """The guard of an owned volume's file layer: its files change only through its sandbox."""
    raise ReadOnlyError(action, "owned volumes belong to their sandbox: change them from inside it, and they are "
                                "removed with it (msb rm)")


def require_dir(volume: OwnedVolume) -> Path:
    """The data folder of a directory owned volume, checked to be a real folder (not a symlink)."""
    if volume.kind == "disk":
        raise FsUnsupportedError(f"owned volume `{volume.label}` is a disk: its files are inside `{volume.disk_path}`")
    for path in (volume.folder.parent.parent, volume.folder.parent, volume.folder, volume.data_path):
        if not _is_real_dir(path):
            raise VolumeFolderMissingError(
                f"owned volume `{volume.label}` has no folder at `{path}` (or it is a symlink, which is not "
                "followed)", path)
    return volume.data_path
