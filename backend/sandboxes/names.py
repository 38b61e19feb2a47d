"""microsandbox's sandbox name rule (``validate_sandbox_name``, reference section 6.1)."""

from __future__ import annotations

import re

from backend.errors import InvalidSandboxNameError

MAX_NAME_BYTES = 128
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def sandbox_name_problem(name: object) -> str | None:
    """Why ``name`` is not a valid sandbox name, in microsandbox's words; None when it is valid."""
    if not isinstance(name, str):
        return f"sandbox name must be text, got {type(name).__name__}"
    if not name:
        return "sandbox name must not be empty"
    size = len(name.encode("utf-8", "surrogatepass"))
    if size > MAX_NAME_BYTES:
        return f"sandbox name must be at most {MAX_NAME_BYTES} characters: got {size}"
    if _NAME.fullmatch(name) is None:
        return (
            "sandbox name must start with an alphanumeric and contain only alphanumeric, dots, "
            f"hyphens, and underscores: {name}"
        )
    return None


def validate_sandbox_name(name: object) -> str:
    """Return ``name`` when valid; raise :class:`InvalidSandboxNameError` otherwise."""
    problem = sandbox_name_problem(name)
    if problem is not None:
        raise InvalidSandboxNameError(problem, name)
    assert isinstance(name, str)
    return name


def require_lookup_name(name: object) -> str:
    """A name usable to look a row up: non-empty text without NUL (rows with names microsandbox would
    reject can still be inspected)."""
    if not isinstance(name, str):
        raise InvalidSandboxNameError(f"sandbox name must be text, got {type(name).__name__}", name)
    if not name:
        raise InvalidSandboxNameError("sandbox name must not be empty", name)
    if "\x00" in name:
        raise InvalidSandboxNameError("sandbox name must not contain a NUL character", name)
    return name
