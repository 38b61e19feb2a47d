"""Property tests: no path and no symlink layout lets a volume operation touch anything outside it.

Each example builds a fresh layout: the volume folder with random folders, files and symlinks (to
outside files and folders, absolute and relative, dangling, and inside the volume), next to an
``outside`` folder, a sibling volume and a file beside the volume. Then it runs a random sequence
of operations on hostile paths and checks that everything outside the volume is byte-for-byte as
before, that no read ever returned outside content, and that the root is still a real folder.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.errors import BackendError, PathTraversalError
from backend.volumes.fs import VolumeRoot
from backend.volumes.paths import split_path

SECRET = b"OUTSIDE-SECRET"
COMPONENTS = ["..", ".", "", "a", "b", "c", "out", "up", "dangle", "abs", "self", "file", "secret", "vol",
              "other", "x"]

LEADS = st.sampled_from(["", "/", "//", "./", "../", "a/../", "b/../"])
paths = st.one_of(
    # through the planted links (see PLANTED), where an escape would happen if links were followed
    st.builds(lambda lead, first, rest: lead + "/".join([first, *rest]), LEADS,
              st.sampled_from(["out", "abs", "up", "dangle", "secret", "a/out", "a/dangle", "a/..", "a/../.."]),
              st.lists(st.sampled_from(COMPONENTS), max_size=3)),
    st.builds(lambda lead, parts: lead + "/".join(parts), LEADS, st.lists(st.sampled_from(COMPONENTS), max_size=6)),
)

LINK_TARGETS = ["../outside", "../../", "/", "{base}/outside", "{base}/outside/secret", "../other",
                "../outside/new", "/nonexistent/zz", "../nothing/x", "a", "file", ".", "..", "../vol/a",
                "../beside"]

layouts = st.lists(
    st.tuples(
        st.sampled_from(["dir", "file", "link"]),
        st.lists(st.sampled_from(["a", "b", "c", "out", "up", "dangle", "abs", "self", "file"]),
                 min_size=1, max_size=3),
        st.sampled_from(LINK_TARGETS),
    ),
    max_size=10,
)

OPS = ["read", "text", "head", "list", "stat", "exists", "write", "write_new", "mkdir", "remove", "remove_dir",
       "copy", "rename", "chunks", "stream_abort", "link_target"]
operations = st.lists(st.tuples(st.sampled_from(OPS), paths, paths), min_size=1, max_size=6)


PLANTED = [  # always present, so random paths meet them often
    ("link", ["out"], "../outside"),
    ("link", ["abs"], "{base}/outside"),
    ("link", ["up"], ".."),
    ("link", ["dangle"], "../outside/new"),
    ("link", ["secret"], "../outside/secret"),
    ("dir", ["a"], ""),
    ("link", ["a", "out"], "../../outside"),
    ("link", ["a", "dangle"], "/nonexistent/zz"),
]


def build(base: Path, layout: list[tuple[str, list[str], str]]) -> Path:
    vol = base / "vol"
    vol.mkdir()
    layout = PLANTED + layout
    (base / "outside").mkdir()
    (base / "outside" / "secret").write_bytes(SECRET)
    (base / "other").mkdir()
    (base / "other" / "x").write_bytes(SECRET)
    (base / "beside").write_bytes(SECRET)
    for kind, parts, target in layout:
        path = vol.joinpath(*parts)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if kind == "dir":
                path.mkdir(exist_ok=True)
            elif kind == "file":
                path.write_bytes(b"inside")
            else:
                path.symlink_to(target.format(base=base))
        except OSError:
            pass  # a clash with an earlier entry (a file on the way, an existing name): skip it
    return vol


def snapshot(base: Path) -> dict[str, tuple[object, ...]]:
    """Everything under ``base`` except the volume, with contents, modes and link targets."""
    seen: dict[str, tuple[object, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(base, followlinks=False):
        rel_dir = os.path.relpath(dirpath, base)
        if rel_dir == "vol" or rel_dir.startswith("vol" + os.sep):
            dirnames[:] = []
            continue
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, base)
            if rel == "vol":
                continue
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                seen[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                seen[rel] = ("dir", stat.S_IMODE(info.st_mode))
            else:
                with open(path, "rb") as handle:
                    seen[rel] = ("file", stat.S_IMODE(info.st_mode), handle.read())
    return seen


def run(root: VolumeRoot, op: str, first: str, second: str) -> bytes | None:
    """One operation; returns any bytes it read."""
    if op == "read":
        return root.read_bytes(first)
    if op == "text":
        return root.read_text(first).encode()
    if op == "head":
        preview = root.read_head_tail(first, 8, 8)
        return preview.head + preview.tail
    if op == "chunks":
        return b"".join(root.iter_chunks(first, 4))
    if op == "list":
        root.list(first)
    elif op == "stat":
        root.stat(first)
    elif op == "exists":
        root.exists(first)
    elif op == "write":
        root.write_bytes(first, b"written")
    elif op == "write_new":
        root.write_bytes(first, b"written", overwrite=False)
    elif op == "mkdir":
        root.mkdir(first)
    elif op == "remove":
        root.remove_file(first)
    elif op == "remove_dir":
        root.remove_tree(first)
    elif op == "copy":
        root.copy_file(first, second)
    elif op == "rename":
        root.rename(first, second)
    elif op == "stream_abort":
        writer = root.open_write(first)
        writer.write(b"partial")
        writer.abort()
    elif op == "link_target":
        root.link_target(first)
    return None


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layout=layouts, ops=operations)
def test_nothing_outside_the_volume_changes_or_leaks(layout: list[tuple[str, list[str], str]],
                                                     ops: list[tuple[str, str, str]]) -> None:
    with tempfile.TemporaryDirectory(prefix="msb-prop-") as tmp:
        base = Path(tmp)
        vol = build(base, layout)
        before = snapshot(base)
        root = VolumeRoot(vol, volume="vol")
        for op, first, second in ops:
            try:
                data = run(root, op, first, second)
            except BackendError:
                continue
            assert data is None or SECRET not in data, (op, first)
        assert snapshot(base) == before
        assert vol.is_dir() and not vol.is_symlink()


@settings(max_examples=300, deadline=None)
@given(path=paths)
def test_normalised_paths_never_climb_out(path: str) -> None:
    try:
        parts = split_path(path)
    except PathTraversalError:
        depth = 0
        for component in path.split("/"):
            if component == "..":
                depth -= 1
                if depth < 0:
                    return  # refused exactly when a ".." climbs above the root
            elif component not in ("", "."):
                depth += 1
        raise AssertionError(f"refused a path that stays inside: {path!r}") from None
    assert all(p not in ("", ".", "..") and "/" not in p for p in parts)
