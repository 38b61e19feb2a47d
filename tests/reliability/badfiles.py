"""Ways a home can be damaged, each with what a reader must report (shared by the backend and UI tests).

Every case damages a private copy of the demo home. ``expect`` lists (error type, message pattern) pairs
that a full read of the home must report; ``allowed`` the typed errors that may appear besides. The
permission cases need a user without root's override, see :func:`tests.reliability.support.run_as_nobody`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

GIB = 1 << 30


@dataclass(frozen=True)
class BadFileCase:
    """One kind of damage and its expected reports."""

    name: str
    damage: Callable[[Path], None]
    expect: tuple[tuple[str, str], ...] = ()
    allowed: frozenset[str] = frozenset()
    needs_unprivileged: bool = False


def _db(home: Path) -> Path:
    return home / "db" / "msb.db"


def not_sqlite(home: Path) -> None:
    _db(home).write_bytes(b"PK\x03\x04 this is a zip file, not a catalog\n" * 300)


def truncated(home: Path) -> None:
    db = _db(home)
    with open(db, "r+b") as handle:  # the header says N pages, only two are left
        handle.truncate(8192)


def invalid_json(home: Path) -> None:
    (home / "config.json").write_text('{\n  "log_level": "info",\n  "database": {\n')


def wrong_types(home: Path) -> None:
    (home / "config.json").write_text('{"database": {"max_connections": "many"}, "sandbox_defaults": {"cpus": 300}}\n')


def unreadable_config(home: Path) -> None:
    (home / "config.json").chmod(0)


def unreadable_home(home: Path) -> None:
    home.chmod(0)


def volume_folder_is_a_file(home: Path) -> None:
    folder = home / "volumes" / "scratch"
    shutil.rmtree(folder)
    folder.write_text("someone put a file where the volume's folder was\n")


#: The sandbox each log case damages (different ones, so the cases can share a home).
NO_FOLDER, BAD_UTF8, HUGE_LINE = "etl-nightly", "web-frontend", "agent-sbx"


def sandbox_folder_missing(home: Path) -> None:
    shutil.rmtree(home / "sandboxes" / NO_FOLDER)


def log_invalid_utf8(home: Path) -> None:
    log = home / "sandboxes" / BAD_UTF8 / "logs" / "exec.log"
    log.write_bytes(
        b'{"t": "2026-11-28T11:59:00.000Z", "s": "stdout", "d": "json \\u001b]0;PWNED\\u0007 title"}\n'
        b"\xff\xfe\xfd latin-1 caf\xe9 and a cut \xe2\x82\n\x1b[31mred\x1b[0m \x00 nul \xc2\x9b1m C1\n"
    )


def log_two_gigabyte_line(home: Path) -> None:
    log = home / "sandboxes" / HUGE_LINE / "logs" / "exec.log"
    with open(log, "wb") as handle:
        handle.write(b"start of one enormous line ")
        handle.truncate(2 * GIB)  # sparse: no disk space used
        handle.seek(0, os.SEEK_END)
        handle.write(b" end of the line\n")


def log_two_gigabyte_unterminated(home: Path) -> None:
    """One 2 GiB line that has no newline yet (a writer still appending to it)."""
    log = home / "sandboxes" / HUGE_LINE / "logs" / "exec.log"
    with open(log, "wb") as handle:
        handle.seek(2 * GIB)  # sparse: no disk space used
        handle.write(b"x")


CATALOG = frozenset({"DatabaseError"})
#: Reads that need the catalog fail when it is unusable; file reads by name then find no row.
CATALOG_DOWN = CATALOG | {"DatabaseBusyError"}

CASES = (
    BadFileCase("db-not-sqlite", not_sqlite, (("DatabaseError", "is not a SQLite database.*Move it aside"),),
                CATALOG_DOWN),
    BadFileCase("db-truncated", truncated, (("DatabaseError", "malformed|not a database|disk image"),),
                CATALOG_DOWN),
    BadFileCase("config-invalid-json", invalid_json, (("ConfigParseError", "line 4"),)),
    BadFileCase("config-wrong-types", wrong_types,
                (("ConfigParseError", "database.max_connections|sandbox_defaults.cpus"),)),
    BadFileCase("config-unreadable", unreadable_config, (("ConfigReadError", "[Pp]ermission denied"),),
                needs_unprivileged=True),
    BadFileCase("home-unreadable", unreadable_home,
                (("ConfigReadError", "[Pp]ermission denied"), ("DatabaseError", "cannot open|[Pp]ermission")),
                CATALOG_DOWN | {"ConfigReadError", "VolumeStorageError", "LogReadError"}, needs_unprivileged=True),
    BadFileCase("volume-folder-is-a-file", volume_folder_is_a_file,
                (("VolumeFolderMissingError", "scratch"),), frozenset({"FsNotADirectoryError"})),
    BadFileCase("sandbox-folder-missing", sandbox_folder_missing),
    BadFileCase("log-invalid-utf8", log_invalid_utf8),
    BadFileCase("log-2gb-single-line", log_two_gigabyte_line),
)
