"""Messages of the sandbox list: what its workers found, posted to the screen that owns the widgets."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from backend.errors import BackendError, DatabaseBusyError
from backend.sandboxes.models import SandboxDetail, SandboxQuery


@dataclass
class ListCounted(Message):
    """The list worker counted the rows of ``query``."""

    query: SandboxQuery
    total: int
    counts: dict[str, int]
    keep_position: bool


@dataclass
class ListFailed(Message):
    """Counting failed; ``busy`` means retry shortly."""

    error: BackendError
    keep_position: bool

    @property
    def busy(self) -> bool:
        """True when the database was only busy (retried shortly)."""
        return isinstance(self.error, DatabaseBusyError)


@dataclass
class DetailLoaded(Message):
    """The detail worker read one sandbox."""

    name: str
    detail: SandboxDetail | None
    error: str | None = None


@dataclass
class SandboxRemoved(Message):
    """The remove worker finished (``error`` is None on success)."""

    name: str
    error: BackendError | None
