"""The ambient default backend (reference section 3.4), scoped per task with ``contextvars``.

A method called on a backend always uses that backend's own home; the ambient default only answers
"which backend, when none is given". Thread workers do not inherit context variables, so the app
passes its backend explicitly and only deep helpers consult :func:`default_backend`.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

from backend.local import LocalBackend

T = TypeVar("T")

_scoped: ContextVar[LocalBackend | None] = ContextVar("msb_scoped_backend", default=None)
_global: LocalBackend | None = None
_global_lock = threading.Lock()


def _global_default() -> LocalBackend:
    global _global
    with _global_lock:
        if _global is None:
            _global = LocalBackend.lazy()
        return _global


def default_backend() -> LocalBackend:
    """The scoped backend of this task if any, else the process-wide default (created lazily)."""
    scoped = _scoped.get()
    return scoped if scoped is not None else _global_default()


def set_default_backend(backend: LocalBackend) -> None:
    """Replace the process-wide default (not task-local)."""
    swap_default_backend(backend)


def swap_default_backend(backend: LocalBackend) -> LocalBackend:
    """Replace the process-wide default and return the previous one, for restorable scopes."""
    global _global
    previous = _global_default()
    with _global_lock:
        _global = backend
    return previous


async def with_backend(backend: LocalBackend, awaitable: Awaitable[T]) -> T:
    """Await ``awaitable`` with ``backend`` as this task's default; restored afterwards."""
    token = _scoped.set(backend)
    try:
        return await awaitable
    finally:
        _scoped.reset(token)


@contextmanager
def backend_scope(backend: LocalBackend) -> Iterator[LocalBackend]:
    """``with backend_scope(b):`` makes ``b`` the default for the current task (and tasks it starts)."""
    token = _scoped.set(backend)
    try:
        yield backend
    finally:
        _scoped.reset(token)
