"""``@mutating``: the decorator every UI action that changes the home must wear.

It records the action in :data:`MUTATING_ACTIONS` (so a test can check that every mutating action is
guarded) and asks :meth:`tui.services.AppServices.guard_write` first, which is the UI's one read-only guard.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from tui.services import AppServices

#: ``"module:Class.method"`` -> the action's description (for example ``"remove sandbox"``).
MUTATING_ACTIONS: dict[str, str] = {}

F = TypeVar("F", bound=Callable[..., Any])


def action_key(fn: Callable[..., Any]) -> str:
    """The registry key of ``fn``: ``"module:qualname"``."""
    return f"{fn.__module__}:{fn.__qualname__}"


def is_mutating(fn: Callable[..., Any]) -> bool:
    """True when ``fn`` (a method, bound or not) was decorated with :func:`mutating`."""
    return getattr(fn, "__mutating__", None) is not None


def mutating(description: str) -> Callable[[F], F]:
    """Mark a screen/widget method as mutating and guard it.

    The wrapped method first calls ``self.app.guard_write(description)``; when that returns False
    (read-only home) the method is skipped and returns None. Works on sync and async methods.
    """

    def decorate(fn: F) -> F:
        MUTATING_ACTIONS[action_key(fn)] = description

        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def guarded_async(self: Any, *args: Any, **kwargs: Any) -> Any:
                app: AppServices = self.app
                if not app.guard_write(description):
                    return None
                return await fn(self, *args, **kwargs)

            wrapper: Any = guarded_async
        else:

            @functools.wraps(fn)
            def guarded(self: Any, *args: Any, **kwargs: Any) -> Any:
                app: AppServices = self.app
                if not app.guard_write(description):
                    return None
                return fn(self, *args, **kwargs)

            wrapper = guarded
        wrapper.__mutating__ = description
        return wrapper  # type: ignore[no-any-return]

    return decorate
