"""Where a microsandbox home and its config file live, resolved exactly as microsandbox 0.5.x does.

Nothing here is cached: every call re-reads the environment, as ``resolve_home()`` does in Rust.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

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


def is_path_component(name: str) -> bool:
    """True when ``name`` names exactly one entry of a folder (no separator, not ``.``/``..``, no NUL)."""
    return bool(name) and name not in (".", "..") and "/" not in name and "\x00" not in name


def owned_volume_id(guest: str) -> str:
    """The folder an ``Owned`` mount's storage lives in, under ``sandboxes/<n>/owned-volumes/``:
    ``<basename of the guest path>_<first 8 hex digits of sha256(guest path)>`` (as 0.7.11 names them)."""
    base = guest.rstrip("/").rsplit("/", 1)[-1] or "root"
    return f"{base}_{hashlib.sha256(guest.encode()).hexdigest()[:8]}"

