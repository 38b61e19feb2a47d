"""A private copy of a catalog that has a ``-wal`` but no ``-shm``, for read-only sessions.

A copied or restored home can hold ``msb.db`` and ``msb.db-wal`` without ``msb.db-shm``. SQLite cannot
read such a WAL without its index: ``mode=ro`` creates ``msb.db-shm`` (changing ``db/``'s mtime),
``readonly_shm=1`` refuses to open ("unable to open database file"), and ``immutable=1`` would ignore
what the WAL holds. No process writes to such a catalog (a writer keeps the ``-shm`` open), so
read-only connections open a copy of both files in a private temporary folder instead, which leaves
the home byte-identical. The copy is made once per version of the two files, and deleted when the
engine is disposed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from pathlib import Path

_Key = tuple[tuple[int, int, int, int], ...]


def _key(*paths: Path) -> _Key | None:
    """What identifies a version of ``paths`` (device, inode, size, mtime); None if one is missing."""
    out = []
    for path in paths:
        try:
            info = os.stat(path)
        except OSError:
            return None
        out.append((info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns))
    return tuple(out)


class WalSnapshots:
    """Private copies of one catalog file and its ``-wal`` (thread-safe; connections come from threads)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.wal = path.with_name(path.name + "-wal")
        self.shm = path.with_name(path.name + "-shm")
        self._lock = threading.Lock()
        self._key: _Key | None = None
        self._copy: Path | None = None
        self._folders: list[str] = []

    def needed(self) -> bool:
        """True when the catalog has a ``-wal`` and no ``-shm``."""
        return os.path.lexists(self.wal) and not os.path.lexists(self.shm)

    def current(self) -> Path | None:
        """A copy of the catalog as it is now, or None when the catalog changed while it was copied
        (then a writer appeared, and the caller reads the catalog itself)."""
        with self._lock:
            key = _key(self.path, self.wal)
            if key is None:
                return None
            if key == self._key and self._copy is not None:
                return self._copy
            folder = tempfile.mkdtemp(prefix="msb-tui-catalog-")
            self._folders.append(folder)
            copy = Path(folder) / self.path.name
            shutil.copyfile(self.wal, copy.with_name(copy.name + "-wal"))
            shutil.copyfile(self.path, copy)
            if _key(self.path, self.wal) != key or os.path.lexists(self.shm):
                return None
            self._key, self._copy = key, copy
            return copy

    def discard(self) -> None:
        """Delete every copy made (connections on them must be closed)."""
        with self._lock:
            for folder in self._folders:
                shutil.rmtree(folder, ignore_errors=True)
            self._folders.clear()
            self._key = self._copy = None
