"""Where a microsandbox home and its config file live, resolved exactly as microsandbox 0.5.x does.

Nothing here is cached: every call re-reads the environment, as ``resolve_home()`` does in Rust.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from backend.errors import UnsafeNameError

BASE_DIR_NAME = ".microsandbox"
CONFIG_FILENAME = "config.json"
DB_SUBDIR = "db"
DB_FILENAME = "msb.db"
SANDBOXES_SUBDIR = "sandboxes"
VOLUMES_SUBDIR = "volumes"
SNAPSHOTS_SUBDIR = "snapshots"
CACHE_SUBDIR = "cache"
LOGS_SUBDIR = "logs"
SECRETS_SUBDIR = "secrets"
SSH_SUBDIR = "ssh"
RUN_SUBDIR = "run"


def resolve_home() -> Path:
    """``MSB_HOME`` verbatim when set (even empty), else ``~/.microsandbox``, else ``./.microsandbox``."""
    env = os.environ.get("MSB_HOME")
    if env is not None:
        return Path(env)
    try:
        return Path.home() / BASE_DIR_NAME
    except RuntimeError:
        return Path(BASE_DIR_NAME)


def config_path(home: Path | None = None) -> Path:
    """``MSB_CONFIG_PATH`` when set, else ``<home>/config.json`` (``home`` defaults to
    :func:`resolve_home`).

    The ``home`` key inside the file never moves the file itself.
    """
    env = os.environ.get("MSB_CONFIG_PATH")
    if env is not None:
        return Path(env)
    return (resolve_home() if home is None else home) / CONFIG_FILENAME


def config_path_source() -> str:
    """Where :func:`config_path` came from: ``"env"`` or ``"default"``."""
    return "env" if "MSB_CONFIG_PATH" in os.environ else "default"


def home_source() -> str:
    """Where :func:`resolve_home` came from: ``"env"`` or ``"default"``."""
    return "env" if "MSB_HOME" in os.environ else "default"


def is_path_component(name: object) -> bool:
    """True when ``name`` is text naming exactly one entry of a folder (no separator, not ``.``/``..``,
    no NUL)."""
    return (isinstance(name, str) and bool(name) and name not in (".", "..") and "/" not in name
            and "\x00" not in name)


#: The problem a list shows on a catalog row whose name cannot be a folder name.
UNSAFE_NAME_PROBLEM = "name is not a safe folder name; not opened"


def name_problem(name: object) -> str | None:
    """:data:`UNSAFE_NAME_PROBLEM` when ``name`` is not one path component, else None."""
    return None if is_path_component(name) else UNSAFE_NAME_PROBLEM


def safe_child(folder: Path, name: object, what: str) -> Path:
    """``folder / name`` for a name read from the catalog; :class:`UnsafeNameError` when the name is not
    exactly one path component (so the result can never leave ``folder``)."""
    if not is_path_component(name):
        raise UnsafeNameError(what, name)
    assert isinstance(name, str)
    return folder / name


def owned_volume_id(guest: str) -> str:
    """The folder an ``Owned`` mount's storage lives in, under ``sandboxes/<n>/owned-volumes/``:
    ``<basename of the guest path>_<first 8 hex digits of sha256(guest path)>`` (as 0.7.11 names them)."""
    base = guest.rstrip("/").rsplit("/", 1)[-1] or "root"
    return f"{base}_{hashlib.sha256(guest.encode()).hexdigest()[:8]}"

