"""``FileActions``: what can be done to the entry under the cursor of a :class:`FolderBrowser`.

Open in ``$PAGER`` (anywhere) or ``$EDITOR`` (not read-only), make a folder, delete a file or a
folder (the confirmation lists exactly what goes), copy the path. Every change is guarded by
:func:`tui.guard.mutating` and again by the backend; files inside a disk image are read-only here.
Anything that touches the disk runs in a thread worker; results come back as messages.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from threading import Event
from typing import Any, cast

from textual import getters, on, work
from textual.app import SuspendNotSupported
from textual.containers import Vertical
from textual.message import Message
from textual.worker import get_current_worker

from backend.errors import BackendError
from backend.volumes import disk_image
from backend.volumes.fs import VolumeRoot
from backend.volumes.usage import scan_usage
from tui.format import byte_size
from tui.guard import mutating
from tui.modals.confirm import ConfirmModal
from tui.screens.volumes import external
from tui.screens.volumes.listing import FileRow
from tui.screens.volumes.modals import NewFolderModal
from tui.screens.volumes.names import clipboard_form, display_path, entry_label, needs_escaping, plural
from tui.screens.volumes.table import VolumeRow
from tui.services import ServicesApp

DELETE_SAMPLE = 8
IMAGE_READ_ONLY = "Files inside a disk image are read-only here (it is read with debugfs -c, never written)."


class PagerReady(Message):
    """A file is open for the pager (``fd``) or read for piping (``data``)."""

    def __init__(self, argv: list[str], fd: int | None = None, data: bytes | None = None) -> None:
        super().__init__()
        self.argv = argv
        self.fd = fd
        self.data = data


class EditorReady(Message):
    """The file was checked; run ``argv`` and then re-list, selecting ``name``."""

    def __init__(self, argv: list[str], name: str) -> None:
        super().__init__()
        self.argv = argv
        self.name = name


class DeletePlanned(Message):
    """What deleting ``parts`` would remove, in words, for the confirmation."""

    def __init__(self, parts: tuple[str, ...], folder: bool, lines: list[str]) -> None:
        super().__init__()
        self.parts = parts
        self.folder = folder
        self.lines = lines


class EntryChanged(Message):
    """The volume's content was changed from here (the screen marks its usage as stale)."""

    def __init__(self, volume: str, select: str | None, done: str) -> None:
        super().__init__()
        self.volume = volume
        self.select = select
        self.done = done


class ActionFailed(Message):
    """A file action could not be done."""

    def __init__(self, title: str, message: str) -> None:
        super().__init__()
        self.title = title
        self.message = message


def delete_lines(parts: tuple[str, ...], row: FileRow) -> list[str]:
    """The confirmation lines for a file, symlink or special file."""
    path = display_path(parts)
    if row.kind == "symlink":
        return [f"• delete the symlink {path} (only the link; what it points to is not touched)",
                "This cannot be undone."]
    size = f" ({byte_size(row.apparent)})" if row.apparent is not None else ""
    what = "file" if row.kind == "file" else "special file"
    return [f"• delete the {what} {path}{size}", "This cannot be undone."]


def plan_folder_delete(root: VolumeRoot, parts: tuple[str, ...], cancelled: Event) -> list[str]:
    """Count everything under the folder ``parts`` and name its first entries (blocking)."""
    path = "/".join(parts)
    names: list[str] = []
    total = 0
    for entry in root.iter_entries(path):
        total += 1
        if len(names) < DELETE_SAMPLE:
            names.append(entry_label(entry.name, entry.kind, entry.mode))
    with root.open_dir_fd(path) as fd:
        usage = scan_usage(fd, tree=False, cancel=cancelled)
    shown = display_path(parts)
    lines = [
        f"• delete the folder {shown}/ and everything in it: {plural(usage.files, 'file')} and "
        f"{plural(usage.dirs, 'folder')}, {byte_size(usage.apparent_bytes)} "
        f"({byte_size(usage.allocated_bytes)} on disk)"
        + ("" if usage.complete else " at least (counting was stopped)"),
    ]
    if names:
        more = f", and {total - len(names):,} more" if total > len(names) else ""
        lines.append(f"• it holds: {', '.join(sorted(names))}{more}")
    else:
        lines.append("• it is empty")
    lines += ["• nothing outside it is touched; symlinks inside are removed, never followed",
              "This cannot be undone."]
    return lines


class FileActions(Vertical):
    """The actions on entries; :class:`FolderBrowser` provides the state they read."""

    app = getters.app(ServicesApp)

    volume: VolumeRow | None
    root: VolumeRoot | None
    image: Path | None
    parts: tuple[str, ...]
    rows: list[FileRow]

    def current(self) -> FileRow | None:
        """The entry under the cursor (provided by the browser)."""
        raise NotImplementedError

    def go(self, parts: tuple[str, ...], *, select: str | None = None, keep_position: bool = False) -> None:
        """List a folder (provided by the browser)."""
        raise NotImplementedError

    def _selected_file(self, verb: str) -> FileRow | None:
        row = self.current()
        if row is None:
            self.notify("Nothing selected.", timeout=2)
            return None
        if row.kind != "file":
            label = entry_label(row.name, row.kind, row.mode)
            self.notify(f"Only regular files can be {verb}; {label} is not one.",
                        timeout=3, markup=False)
            return None
        return row

    # -- pager and editor -----------------------------------------------------------------------

    def action_pager(self) -> None:
        """Open the selected file in ``$PAGER`` in this terminal."""
        row = self._selected_file("paged")
        if row is not None:
            self._pager_worker(self.root, self.image, (*self.parts, row.name))

    @work(thread=True, exclusive=True, group="folder-open", exit_on_error=False)
    def _pager_worker(self, root: VolumeRoot | None, image: Path | None, parts: tuple[str, ...]) -> None:
        argv = external.pager_command()
        try:
            if image is not None:
                limit = external.MAX_PIPED_BYTES
                data = disk_image.read_file(image, "/" + "/".join(parts), max_bytes=limit)
                self.post_message(PagerReady(argv, data=data))
                return
            assert root is not None
            fd = external.open_for_pager(root, parts)
        except BackendError as exc:
            self.post_message(ActionFailed(exc.title, exc.message))
            return
        if get_current_worker().is_cancelled:
            os.close(fd)
            return
        self.post_message(PagerReady([*argv, f"/dev/fd/{fd}"], fd=fd))

    @on(PagerReady)
    def _run_pager(self, event: PagerReady) -> None:
        event.stop()
        try:
            external.run_suspended(self.app, event.argv, pass_fds=() if event.fd is None else (event.fd,),
                                      input_bytes=event.data)
        except SuspendNotSupported:
            self.notify("This terminal session cannot be handed to a pager (no suspend here).",
                        title="Pager", severity="warning")
        except OSError as exc:
            self.notify(f"cannot run {event.argv[0]}: {exc.strerror or exc} (set $PAGER)",
                        title="Pager", severity="error", markup=False)
        finally:
            if event.fd is not None:
                os.close(event.fd)

    @mutating("edit a file in a volume")
    def action_editor(self) -> None:
        """Open the selected file in ``$EDITOR`` in this terminal (not in read-only mode)."""
        if self.image is not None:
            self.notify(IMAGE_READ_ONLY, title="Read-only image", severity="warning")
            return
        row = self._selected_file("edited")
        if row is not None:
            self._editor_worker(self.root, (*self.parts, row.name))

    @work(thread=True, exclusive=True, group="folder-open", exit_on_error=False)
    def _editor_worker(self, root: VolumeRoot | None, parts: tuple[str, ...]) -> None:
        assert root is not None
        try:
            path = external.editable_path(root, parts)
        except BackendError as exc:
            self.post_message(ActionFailed(exc.title, exc.message))
            return
        self.post_message(EditorReady([*external.editor_command(), path], parts[-1]))

    @on(EditorReady)
    def _run_editor(self, event: EditorReady) -> None:
        event.stop()
        try:
            external.run_suspended(self.app, event.argv)
        except SuspendNotSupported:
            self.notify("This terminal session cannot be handed to an editor (no suspend here).",
                        title="Editor", severity="warning")
            return
        except OSError as exc:
            self.notify(f"cannot run {event.argv[0]}: {exc.strerror or exc} (set $EDITOR)",
                        title="Editor", severity="error", markup=False)
            return
        if self.volume is not None:
            self.post_message(EntryChanged(self.volume.name, event.name, ""))

    # -- new folder and delete ------------------------------------------------------------------

    @mutating("create a folder in a volume")
    def action_make_folder(self) -> None:
        """Ask for a name and create that folder here."""
        if self.image is not None or self.root is None or self.volume is None:
            self.notify(IMAGE_READ_ONLY, title="Read-only image", severity="warning")
            return
        root, parent, volume = self.root, self.parts, self.volume.name

        async def make(path: str) -> None:
            await asyncio.to_thread(root.mkdir, path)

        def made(path: str | None) -> None:
            if path is not None:
                first = path.strip("/").split("/")[len(parent)]
                done = f"Created folder {display_path(tuple(path.strip('/').split('/')))}"
                self.post_message(EntryChanged(volume, first, done))

        self.app.push_screen(NewFolderModal(volume, parent, {r.name for r in self.rows}, make), made)

    @mutating("delete a file or folder in a volume")
    def action_delete_entry(self) -> None:
        """Delete the selected entry after a confirmation that lists what goes."""
        if self.image is not None or self.root is None:
            self.notify(IMAGE_READ_ONLY, title="Read-only image", severity="warning")
            return
        row = self.current()
        if row is None:
            self.notify("Nothing selected.", timeout=2)
            return
        parts = (*self.parts, row.name)
        if row.kind == "directory":
            self._plan_worker(self.root, parts)
        else:
            self._confirm_delete(DeletePlanned(parts, False, delete_lines(parts, row)))

    @work(thread=True, exclusive=True, group="folder-delete", exit_on_error=False)
    def _plan_worker(self, root: VolumeRoot, parts: tuple[str, ...]) -> None:
        worker = get_current_worker()
        stop = cast(Event, _WorkerCancel(worker))
        try:
            lines = plan_folder_delete(root, parts, stop)
        except BackendError as exc:
            self.post_message(ActionFailed(exc.title, exc.message))
            return
        except OSError as exc:
            message = f"cannot read {display_path(parts)}: {exc.strerror or exc}"
            self.post_message(ActionFailed("Cannot delete", message))
            return
        if not worker.is_cancelled:
            self.post_message(DeletePlanned(parts, True, lines))

    @on(DeletePlanned)
    def _confirm_delete(self, event: DeletePlanned) -> None:
        event.stop()
        name = event.parts[-1]
        typed = name if event.folder and not needs_escaping(name) else None
        self.app.push_screen(
            ConfirmModal(f"Delete {display_path(event.parts)}{'/' if event.folder else ''}?", event.lines,
                         "Delete", typed_name=typed),
            lambda confirmed: self._delete_confirmed(event, bool(confirmed)),
        )

    def _delete_confirmed(self, plan: DeletePlanned, confirmed: bool) -> None:
        if confirmed and self.root is not None and self.volume is not None:
            self._delete_worker(self.root, self.volume.name, plan.parts, plan.folder)

    @work(thread=True, exclusive=True, group="folder-delete", exit_on_error=False)
    def _delete_worker(self, root: VolumeRoot, volume: str, parts: tuple[str, ...], folder: bool) -> None:
        path = "/".join(parts)
        try:
            root.remove_tree(path) if folder else root.remove_file(path)
        except BackendError as exc:
            self.post_message(ActionFailed(exc.title, exc.message))
            return
        self.post_message(EntryChanged(volume, None, f"Deleted {display_path(parts)}"))

    @on(EntryChanged)
    def _entry_changed(self, event: EntryChanged) -> None:
        # Not stopped: the screen marks the volume's usage as changed since the scan.
        if event.done:
            self.notify(event.done, timeout=3, markup=False)
        self.go(self.parts, select=event.select, keep_position=True)

    @on(ActionFailed)
    def _action_failed(self, event: ActionFailed) -> None:
        event.stop()
        self.notify(event.message, title=event.title, severity="error", markup=False)

    # -- copy -----------------------------------------------------------------------------------

    def _target_parts(self) -> tuple[str, ...]:
        row = self.current()
        return (*self.parts, row.name) if row is not None else self.parts

    def action_copy_path(self) -> None:
        """Copy the host path of the selected entry (the path inside the image for a disk volume)."""
        parts = self._target_parts()
        if self.image is not None:
            text = f"{self.image}:/{'/'.join(parts)}"
        elif self.root is not None:
            text = str(self.root.folder.joinpath(*parts))
        else:
            return
        self._copy(text, "host path")

    def action_copy_volume_path(self) -> None:
        """Copy the path of the selected entry inside the volume (``/a/b``)."""
        self._copy("/" + "/".join(self._target_parts()), "volume path")

    def _copy(self, text: str, what: str) -> None:
        value, quoted = clipboard_form(text)
        label = f"the {what}" + (" (shell-quoted: the name holds special characters)" if quoted else "")
        self.app.copy_to_clipboard_text(value, label)


class _WorkerCancel:
    """A ``threading.Event``-like view of a worker's cancellation, for scans run inside it."""

    def __init__(self, worker: Any) -> None:
        self._worker = worker

    def is_set(self) -> bool:
        return bool(self._worker.is_cancelled)
