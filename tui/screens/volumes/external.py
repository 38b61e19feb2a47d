"""Handing a volume file to ``$PAGER`` or ``$EDITOR`` in the same terminal (``App.suspend``).

The pager reads a descriptor opened here through the backend's path-safe walk (``/dev/fd/N``), so no
symlink planted in the volume can redirect it; files inside a disk image are piped to its stdin.
The editor needs a real path: it is given only after the same walk has checked that every component
is a real folder and the last one a regular file. Nothing here runs a shell or opens a new window.
"""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
from collections.abc import Sequence

from textual.app import App

from backend.errors import FsNotRegularFileError
from backend.volumes.fdio import READ_FLAGS
from backend.volumes.fs import VolumeRoot
from tui.screens.volumes.names import display_path

DEFAULT_PAGER = "less"
DEFAULT_EDITOR = "vi"
#: Largest file piped to the pager from inside a disk image.
MAX_PIPED_BYTES = 64 * 1024 * 1024


def pager_command() -> list[str]:
    """``$PAGER`` split like a shell would (``less`` when unset or empty)."""
    return shlex.split(os.environ.get("PAGER", "").strip() or DEFAULT_PAGER)


def editor_command() -> list[str]:
    """``$VISUAL`` or ``$EDITOR`` split like a shell would (``vi`` when both are unset)."""
    value = os.environ.get("VISUAL", "").strip() or os.environ.get("EDITOR", "").strip()
    return shlex.split(value or DEFAULT_EDITOR)


def open_for_pager(root: VolumeRoot, parts: Sequence[str]) -> int:
    """A read descriptor of the regular file ``parts`` (reached without following any symlink)."""
    if not parts:
        raise FsNotRegularFileError(f"the root of volume `{root.volume}` is a folder", "/")
    with root.open_dir_fd("/".join(parts[:-1])) as folder:
        try:
            fd = os.open(parts[-1], READ_FLAGS, dir_fd=folder)
        except OSError as exc:
            raise FsNotRegularFileError(
                f"cannot open {display_path(parts)} in volume `{root.volume}`: {exc.strerror or exc} "
                "(symlinks are never followed)", "/" + "/".join(parts)) from exc
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise FsNotRegularFileError(
            f"{display_path(parts)} in volume `{root.volume}` is not a regular file, so it is not opened",
            "/" + "/".join(parts))
    os.set_blocking(fd, True)
    return fd


def editable_path(root: VolumeRoot, parts: Sequence[str]) -> str:
    """The host path of the regular file ``parts``, after checking no component is a symlink."""
    meta = root.stat("/".join(parts))  # walks with O_NOFOLLOW: a symlinked folder on the way is refused
    if meta.kind != "file":
        raise FsNotRegularFileError(
            f"{display_path(parts)} in volume `{root.volume}` is not a regular file, so it is not edited",
            "/" + "/".join(parts))
    return str(root.folder.joinpath(*parts))


def run_suspended(app: App[None], argv: Sequence[str], *, pass_fds: Sequence[int] = (),
                  input_bytes: bytes | None = None) -> int:
    """Suspend ``app``, run ``argv`` in this terminal, and come back; returns its exit status.

    Raises ``SuspendNotSupported`` where the app cannot hand the terminal over (a browser session)
    and ``OSError`` when the program cannot be started.
    """
    with app.suspend():
        return subprocess.run(list(argv), pass_fds=tuple(pass_fds), input=input_bytes, check=False).returncode
