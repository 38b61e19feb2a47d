"""An atomic file replacement inside a volume: write to a hidden temp file, then rename it into place."""

from __future__ import annotations

import os
from collections.abc import Callable
from types import TracebackType
from typing import Self

from backend.errors import FsError
from backend.volumes.fdio import copy_fd, install_temp
from backend.volumes.paths import Parts, join, show

FailFn = Callable[[OSError, str, Parts], FsError]


class VolumeFileWriter:
    """An open, not yet visible replacement of one file in a volume (see :meth:`VolumeRoot.open_write`)."""

    def __init__(self, fail: FailFn, folder: int, fd: int, temp: str, name: str, parts: Parts,
                 overwrite: bool) -> None:
        self._failure = fail
        self._folder = folder
        self._fd: int | None = fd
        self._temp = temp
        self._name = name
        self._parts = parts
        self._overwrite = overwrite
        self.written = 0

    def _live(self) -> int:
        if self._fd is None:
            raise FsError(f"the write to {show(join(self._parts))} is already finished")
        return self._fd

    def write(self, data: bytes) -> None:
        """Append ``data``."""
        fd = self._live()
        view = memoryview(data)
        try:
            while view:
                count = os.write(fd, view)
                view = view[count:]
                self.written += count
        except OSError as exc:
            self.abort()
            raise self._failure(exc, "write", self._parts) from exc

    def copy_from(self, source_fd: int) -> None:
        """Append everything readable from ``source_fd`` (kernel-side copy where possible)."""
        try:
            self.written += copy_fd(source_fd, self._live())
        except OSError as exc:
            self.abort()
            raise self._failure(exc, "copy to", self._parts) from exc

    def chmod(self, mode: int) -> None:
        """Set the new file's permission bits."""
        os.fchmod(self._live(), mode)

    def commit(self) -> None:
        """Flush to disk and put the new file in place of ``path``."""
        fd = self._live()
        try:
            os.fsync(fd)
            os.close(fd)
            self._fd = None
            install_temp(self._folder, self._temp, self._name, self._overwrite)
        except OSError as exc:
            self.abort()
            raise self._failure(exc, "write", self._parts) from exc
        except FsError:
            self.abort()
            raise
        finally:
            self._close_folder()

    def abort(self) -> None:
        """Drop the new content; ``path`` stays as it was."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._folder >= 0:
            try:
                os.unlink(self._temp, dir_fd=self._folder)
            except OSError:
                pass
            self._close_folder()

    def _close_folder(self) -> None:
        if self._folder >= 0:
            os.close(self._folder)
            self._folder = -1

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None and self._fd is not None:
            self.commit()
        else:
            self.abort()

    def __del__(self) -> None:
        if self._fd is not None or self._folder >= 0:
            self.abort()
