"""Volume operations (issue: volumes backend)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from backend.local import LocalBackend


class Volumes:
    """Named volumes of one backend's home."""

    def __init__(self, backend: LocalBackend) -> None:
        self._backend = backend
