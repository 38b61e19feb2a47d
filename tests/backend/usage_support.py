"""Helpers for the usage-scan tests: trees to scan, du's figures, and choosing the walk."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from backend.volumes import usage, usage_find
from backend.volumes.usage import DirUsage

SCANNERS = ("find", "python")


def make_tree(root: Path, dirs: int = 5, files: int = 40) -> None:
    for d in range(dirs):
        sub = root / f"d{d}" / "inner"
        sub.mkdir(parents=True)
        for f in range(files):
            (sub / f"f{f}").write_bytes(b"x" * (f * 101 + d))
        (root / f"d{d}" / "top.txt").write_bytes(b"y" * 5000)


def du(args: list[str], path: Path) -> int:
    """du's total for ``path`` (its exit status is 1 when something was unreadable)."""
    out = subprocess.run(["du", *args, str(path)], capture_output=True, text=True, check=False).stdout
    return int(out.splitlines()[-1].split()[0])


def use_scanner(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Make :func:`backend.volumes.usage.scan_usage` walk with GNU find (even small folders) or in Python
    (as where find is missing); skips the test when find is wanted but not usable here."""
    if name == "find":
        if usage_find.find_tool().path is None:
            pytest.skip(f"GNU find is not usable here: {usage_find.find_tool().reason}")
        monkeypatch.setattr(usage, "PYTHON_UP_TO", 0)
    else:
        monkeypatch.setattr(usage_find, "FIND", "msb-test-no-such-find")


def figures(tree: DirUsage | None) -> dict[str, tuple[int, int, int, int, int, bool]]:
    """Every folder of a scan tree with its figures, to compare two scans folder by folder."""
    assert tree is not None
    return {path: (n.apparent_bytes, n.allocated_bytes, n.files, n.dirs, n.errors, n.complete)
            for path, n in tree.walk()}
