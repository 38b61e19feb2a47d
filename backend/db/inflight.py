"""Catalog work that must finish even when whoever awaits it is cancelled, and that closing waits for.

A UI cancels its workers all the time (a newer refresh, a screen left, quitting). A catalog call
cut off halfway can leave a pooled connection checked out, or a write whose folder work is undone
while its row was committed. So a backend call runs to completion in a task of its own
(:meth:`InFlight.run`): a cancelled caller stops waiting, the call does not. :meth:`Database.close
<backend.db.database.Database.close>` then waits for those calls and for every open read before it
disposes the engines, and the process exits with no driver thread left behind.

The public catalog calls of the features wear :func:`finishes`, so no caller has to remember it.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, Protocol, TypeVar

if TYPE_CHECKING:
    from backend.home import HomeContext

T = TypeVar("T")
P = ParamSpec("P")

#: How long closing waits for calls and reads still in flight before it disposes anyway.
DRAIN_TIMEOUT_SECS = 5.0


class InFlight:
    """The calls and reads of one catalog that are still running."""

    def __init__(self) -> None:
        self._calls: set[asyncio.Future[Any]] = set()
        self._reads = 0

    @property
    def busy(self) -> bool:
        """True while a call or a read is still running."""
        return self._reads > 0 or any(not call.done() for call in self._calls)

    async def run(self, call: Awaitable[T]) -> T:
        """Await ``call`` in a task of its own: cancelling the caller never abandons it midway."""
        task = asyncio.ensure_future(call)
        self._calls.add(task)
        task.add_done_callback(self._calls.discard)
        return await asyncio.shield(task)

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        """Count a read (a checked-out connection) while the block runs."""
        self._reads += 1
        try:
            yield
        finally:
            self._reads -= 1

    async def drain(self, timeout: float = DRAIN_TIMEOUT_SECS) -> None:
        """Wait until nothing is in flight, or ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.busy and (remaining := deadline - loop.time()) > 0:
            pending = [call for call in self._calls if not call.done()]
            if pending:
                await asyncio.wait(pending, timeout=remaining)
            else:  # only reads: their blocks end on their own tasks
                await asyncio.sleep(min(0.01, remaining))


class OnHome(Protocol):
    """A feature facade (``Sandboxes``, ``Volumes``): it holds the home it works on."""

    _backend: HomeContext


S = TypeVar("S", bound=OnHome)


def finishes(
    method: Callable[Concatenate[S, P], Awaitable[T]],
) -> Callable[Concatenate[S, P], Coroutine[Any, Any, T]]:
    """Run a facade's catalog call through its home's :class:`InFlight` (see the module docstring)."""

    async def run_to_completion(self: S, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self._backend.database.finish(method(self, *args, **kwargs))

    functools.update_wrapper(run_to_completion, method)
    return run_to_completion
