"""``VolumeActions``: what can be done to volumes from the list. Create, remove, copy the path or name.

Create and remove are guarded by :func:`tui.guard.mutating` (and again by the backend); both end by
posting :class:`VolumesChanged`, so the screen reads the catalog again.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from textual import getters, on, work
from textual.containers import Vertical
from textual.message import Message

from backend.errors import BackendError
from backend.volumes.models import VolumeConfig
from backend.volumes.service import Volumes
from tui.guard import mutating
from tui.modals.confirm import ConfirmModal
from tui.screens.volumes.modals import CreateVolumeModal
from tui.screens.volumes.summary import removal_lines
from tui.screens.volumes.table import UsageState, VolumeRow
from tui.services import ServicesApp


class VolumesChanged(Message):
    """A volume was created (``select`` it) or removed (``removed``): read the catalog again."""

    def __init__(self, select: str | None = None, removed: str | None = None) -> None:
        super().__init__()
        self.select = select
        self.removed = removed


class VolumeRemoved(Message):
    """The remove worker finished (``error`` is None on success)."""

    def __init__(self, name: str, error: BackendError | None) -> None:
        super().__init__()
        self.name = name
        self.error = error


class VolumeActions(Vertical):
    """The actions on volume rows; :class:`VolumeListView` provides the rows and the selection."""

    app = getters.app(ServicesApp)

    rows: list[VolumeRow]
    usages: Mapping[str, UsageState]
    home: Path | None

    def selected(self) -> VolumeRow | None:
        """The row under the cursor (provided by the list view)."""
        raise NotImplementedError

    @property
    def _volumes(self) -> Volumes:
        return self.app.backend.volumes()

    @mutating("create volume")
    def action_create_volume(self) -> None:
        """Ask for a new volume's name, kind, quota or size and labels, then create it."""
        volumes = self._volumes

        async def create(config: VolumeConfig) -> None:
            await volumes.create(config)

        def created(name: str | None) -> None:
            if name:
                self.notify(f"Created volume {name}", timeout=3, markup=False)
                self.post_message(VolumesChanged(select=name))

        self.app.push_screen(CreateVolumeModal({row.name for row in self.rows}, create), created)

    @mutating("remove volume")
    def action_remove_volume(self) -> None:
        """Remove the selected volume after the operator types its name."""
        row = self.selected()
        if row is None:
            self.notify("No volume selected.", timeout=2)
            return
        if row.info is None:
            self.notify(f"{row.name} has no catalog row, so it is not a volume; delete its folder by hand if "
                        "it is not needed.", severity="warning", markup=False)
            return
        state: UsageState | None = self.usages.get(row.name)
        self.app.push_screen(
            ConfirmModal(f"Remove volume {row.name}?", removal_lines(row, state, self.home), "Remove",
                         typed_name=row.name),
            lambda confirmed: self._remove_confirmed(row.name, bool(confirmed)),
        )

    def _remove_confirmed(self, name: str, confirmed: bool) -> None:
        if confirmed:
            self.remove_volume(name)

    @work(exclusive=True, group="volume-remove", exit_on_error=False)
    async def remove_volume(self, name: str) -> None:
        """Remove ``name`` through the backend (which checks read-only mode again)."""
        try:
            await self._volumes.remove(name)
        except BackendError as exc:
            self.post_message(VolumeRemoved(name, exc))
            return
        self.post_message(VolumeRemoved(name, None))

    @on(VolumeRemoved)
    def _volume_removed(self, event: VolumeRemoved) -> None:
        event.stop()
        if event.error is not None:
            self.notify(event.error.message, title=event.error.title, severity="error", markup=False)
        else:
            self.notify(f"Removed volume {event.name}", timeout=3, markup=False)
        self.post_message(VolumesChanged(removed=event.name))

    def action_copy_path(self) -> None:
        """Copy the host path of the selected volume's folder (its image for a disk volume)."""
        row = self.selected()
        if row is None:
            return
        path = (row.info.disk_path or row.info.path) if row.info is not None else \
            row.orphan.path if row.orphan is not None else None
        if path is not None:
            self.app.copy_to_clipboard_text(str(path), "the host path")

    def action_copy_name(self) -> None:
        """Copy the selected volume's name."""
        row = self.selected()
        if row is not None:
            self.app.copy_to_clipboard_text(row.name, "the volume name")
