"""``HomeContext``: what feature code needs of a microsandbox home, and nothing more.

The feature packages (:mod:`backend.sandboxes`, :mod:`backend.volumes`) are typed against this
protocol instead of :class:`backend.local.LocalBackend`, so they never import it: ``local`` imports the
features, never the other way round. A 0.7 home profile provides the same protocol.

This module is a leaf: at run time it imports nothing of the backend.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from backend.db.database import Database
    from backend.profiles.base import HomeProfile


class HomeContext(Protocol):
    """One home as the features see it: its catalog, its read-only guard and its folders."""

    @property
    def database(self) -> Database:
        """The catalog object, not opened yet (no I/O); :meth:`db` opens it."""
        ...

    async def db(self) -> Database:
        """The catalog, opened (created and migrated when writable) on first use."""
        ...

    def ensure_writable(self, action: str) -> None:
        """The one guard every mutating operation passes; raises :class:`~backend.errors.ReadOnlyError`."""
        ...

    @property
    def profile(self) -> HomeProfile:
        """The home's profile (0.5 or 0.7 home), from the ledger found at open."""
        ...

    def home(self) -> Path:
        """The home folder (``run/`` with microsandbox's lock files lies in it)."""
        ...

    def sandboxes_dir(self) -> Path:
        """Per-sandbox state folders."""
        ...

    def volumes_dir(self) -> Path:
        """Named volume folders."""
        ...

    def volume_path(self, name: str) -> Path:
        """``volumes_dir()/name``, without name validation."""
        ...
