"""The usage scan in GNU find: the same figures, tree and errors as the Python walk and du, the child
stopped on cancel, never outside the folder, and the fallback when find is missing or unfit."""

from __future__ import annotations

import itertools
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from backend.volumes import usage, usage_find, usage_types
from backend.volumes.usage import UsageProgress, scan_usage
from backend.volumes.usage_find import _Stream, _Totals, unquote
from tests.backend.usage_support import SCANNERS, du, figures, make_tree, use_scanner

ROOT = Path(__file__).resolve().parents[2]
needs_find = pytest.mark.skipif(usage_find.find_tool().path is None, reason="GNU find is not usable here")
needs_du = pytest.mark.skipif(shutil.which("du") is None, reason="du is not installed")

ODD_NAMES = [b"sp ace", b"new\nline", b"back\\slash", b"quo'te", b"tab\tbed", b"\xff\xfe not utf-8", b"-dash",
             b"D1 2 3 4 5 x", b"1 2 3", b"\x1b[31mred", "\u00fcmlaut".encode(), b"\\377", b"nul? no"]


def both(monkeypatch: pytest.MonkeyPatch, folder: Path | int, **kwargs: Any) -> dict[str, usage.Usage]:
    """The scan of ``folder`` by each walk."""
    scans = {}
    for name in SCANNERS:
        with monkeypatch.context() as patch:
            use_scanner(patch, name)
            scans[name] = scan_usage(folder, **kwargs)
            assert scans[name].scanner == name
    return scans


def make_many(root: Path, dirs: int, files: int) -> None:
    """``dirs`` folders of ``files`` empty files each, made quickly."""
    root.mkdir()
    for d in range(dirs):
        os.mkdir(root / f"d{d}")
        fd = os.open(root / f"d{d}", os.O_RDONLY | os.O_DIRECTORY)
        try:
            for f in range(files):
                os.close(os.open(f"f{f}", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd))
        finally:
            os.close(fd)


def make_odd_tree(root: Path) -> None:
    base = os.fsencode(root)
    os.mkdir(base)
    for index, name in enumerate(ODD_NAMES):
        folder = os.path.join(base, name)
        os.mkdir(folder)
        for inner in ODD_NAMES[: index + 1]:
            with open(os.path.join(folder, inner), "wb") as handle:
                handle.write(b"o" * (len(inner) * 111 + index))
        os.mkdir(os.path.join(folder, b"sub " + name))  # odd names one level down too
        with open(os.path.join(folder, b"sub " + name, name), "wb") as handle:
            handle.write(b"p" * 3333)
        # A second name in the same folder: counted there, whichever name the walk meets first.
        os.link(os.path.join(folder, ODD_NAMES[0]), os.path.join(folder, b"link " + name))


@needs_find
@needs_du
def test_odd_names_give_the_same_tree_in_both_walks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_odd_tree(tmp_path / "odd")
    scans = both(monkeypatch, tmp_path / "odd")
    found, walked = scans["find"], scans["python"]
    assert found.complete and found.errors == 0
    assert figures(found.tree) == figures(walked.tree)
    assert found.apparent_bytes == du(["-sb"], tmp_path / "odd")
    assert found.allocated_bytes == du(["-sB1"], tmp_path / "odd")
    assert found.tree is not None
    assert sorted(found.tree.children) == sorted(os.fsdecode(name) for name in ODD_NAMES)
    assert found.tree.find((os.fsdecode(b"new\nline"), os.fsdecode(b"sub new\nline"))) is not None


@needs_find
def test_the_stream_is_read_the_same_in_any_slices(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_odd_tree(tmp_path / "odd")
    make_tree(tmp_path / "odd" / "more", dirs=4, files=30)
    use_scanner(monkeypatch, "find")
    whole = scan_usage(tmp_path / "odd")
    for size in (1, 7, 64):
        monkeypatch.setattr(usage_find, "SLICE", size)
        assert figures(scan_usage(tmp_path / "odd").tree) == figures(whole.tree)


ROOT_STAT = os.stat_result((0o40755, 77, 5, 2, 0, 0, 4096, 0, 0, 0))  # mode, inode 77, device 5


def _totals() -> _Totals:
    return _Totals(ROOT_STAT, tree=True, prefix=b"/p/")


def _fed(stream: _Stream, data: bytes, step: int | None = None) -> _Stream:
    for offset in range(0, len(data), step or len(data)):
        stream.feed(data[offset:offset + (step or len(data))])
    stream.finish(True)
    assert stream.tail == b""
    return stream


WHOLE_STREAM = (b"\0D0 77 5 4096 8 /p/\0" b"1 10 8\n"
                b"\0D1 80 5 100 8 /p/a\0" b"2 1 8\n2 2 8\n"
                b"\0D2 81 5 200 8 /p/a/x\0" b"3 1000 16\n3 1000 16\n2 20 8\n1 300 8\n"
                b"\0H1 90 5 7 8\0" b"\0D1 82 5 300 0 /p/b\0" b"\0H2 90 5 7 8\0" b"2 5 0\n")


def test_a_stream_with_folders_ending_inside_a_run() -> None:
    """Depth falls inside one run of entries when sub-folders end; each entry goes to its own folder."""
    tree = _fed(_Stream(_totals(), 0), WHOLE_STREAM).totals.root
    bytewise = _fed(_Stream(_totals(), 0), WHOLE_STREAM, step=1)  # every cut inside a record or a run
    assert figures(bytewise.totals.root) == figures(tree)
    x, a, b = tree.find(("a", "x")), tree.find(("a",)), tree.find(("b",))
    assert x is not None and a is not None and b is not None
    assert (x.apparent_bytes, x.allocated_bytes, x.files) == (2200, 40 * 512, 2)
    assert (a.apparent_bytes, a.files, a.dirs) == (100 + 1 + 2 + 20 + x.apparent_bytes, 5, 1)
    assert (b.apparent_bytes, b.files) == (305, 1)  # the second name of inode 90 is not counted again
    own_files = 10 + 300 + 7
    assert (tree.apparent_bytes, tree.files, tree.dirs) == (4096 + own_files + a.apparent_bytes + 305, 9, 3)
    assert all(node.complete for path, node in tree.walk() if path != "/")


def test_a_listing_of_the_root_and_finds_on_its_folders_add_up_to_one_walk() -> None:
    totals = _totals()
    top: list[bytes] = []
    _fed(_Stream(totals, 0, top), b"\0D0 77 5 4096 8 /p/\0" b"1 10 8\n" b"\0D1 80 5 100 8 /p/a\0"
         b"1 300 8\n" b"\0H1 90 5 7 8\0" b"\0D1 82 5 300 0 /p/b\0")
    assert top == [b"a", b"b"]
    _fed(_Stream(totals, 1), b"\0D0 80 5 100 8 /p/a\0" b"1 1 8\n1 2 8\n" b"\0D1 81 5 200 8 /p/a/x\0"
         b"2 1000 16\n2 1000 16\n1 20 8\n", step=5)
    _fed(_Stream(totals, 1), b"\0D0 82 5 300 0 /p/b\0" b"\0H1 90 5 7 8\0" b"1 5 0\n")
    assert figures(totals.root) == figures(_fed(_Stream(_totals(), 0), WHOLE_STREAM).totals.root)


def test_a_start_folder_on_another_file_system_is_left_out() -> None:
    totals = _totals()
    totals.root.apparent_bytes = 4096
    _fed(_Stream(totals, 1), b"\0D0 80 6 100 8 /p/mounted\0" b"1 5000 8\n" b"\0D1 81 6 1 8 /p/mounted/in\0"
         b"\0H1 90 6 7 8\0" b"2 9 8\n" b"\0D0 82 5 300 0 /p/c\0" b"1 5 0\n", step=3)
    assert list(totals.root.children) == ["c"]
    assert (totals.root.apparent_bytes, totals.root.files, totals.root.dirs) == (4096 + 305, 1, 1)


def test_a_root_that_is_not_the_opened_folder_is_refused() -> None:
    stream = _Stream(_totals(), 0)
    with pytest.raises(usage_find.FindUnusable, match="another folder"):
        stream.feed(b"\0D0 78 5 4096 8 /p/\0")


def test_find_error_paths_are_unescaped() -> None:
    assert unquote(rb"/x/bad\377\'q\nnl\\b\t") == b"/x/bad\xff'q\nnl\\b\t"


DROPPED_SCRIPT = r"""
import json, os, sys
from backend.volumes import usage, usage_find
from backend.volumes.usage import scan_usage
from tests.backend.usage_support import du, figures
folder = sys.argv[1]
out = {"du_b": du(["-sb"], folder), "du_B1": du(["-sB1"], folder)}
for name in ("find", "python"):
    usage.PYTHON_UP_TO = 0 if name == "find" else usage.PYTHON_UP_TO
    usage_find.FIND = "find" if name == "find" else "msb-test-no-such-find"
    scan = scan_usage(folder)
    out[name] = {"scanner": scan.scanner, "apparent": scan.apparent_bytes, "allocated": scan.allocated_bytes,
                 "files": scan.files, "dirs": scan.dirs, "errors": scan.errors, "complete": scan.complete,
                 "samples": sorted(scan.error_samples), "tree": figures(scan.tree)}
print(json.dumps(out))
"""


def _run_without_read_permission_override(script: str, *args: str) -> dict[str, Any]:
    """Run ``script`` so that folder modes apply: as is for a normal user; for root, without the
    capabilities that let root read any folder (``setpriv``)."""
    command = [sys.executable, "-c", script, *args]
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: cannot make a folder unreadable")
        drop = "-dac_override,-dac_read_search"
        command = ["setpriv", f"--inh-caps={drop}", f"--bounding-set={drop}", *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    if done.returncode != 0 and "setpriv" in done.stderr:
        pytest.skip(f"setpriv cannot drop capabilities here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@needs_find
@needs_du
def test_unreadable_folders_match_du_and_the_python_walk(tmp_path: Path) -> None:
    root = tmp_path / "t"
    make_tree(root, dirs=3, files=4)
    os.link(root / "d0" / "top.txt", root / "d2" / "inner" / "link")
    with open(root / "sparse", "wb") as handle:
        handle.truncate(10 * 1024 * 1024)
    (root / "empty").mkdir()
    locked = [root / "d1", root / "d2" / "inner", Path(os.fsdecode(os.fsencode(root) + b"/odd \xff\nname'"))]
    locked[2].mkdir()
    (locked[2] / "hidden").write_bytes(b"h" * 999)
    for folder in locked:
        folder.chmod(0)
    try:
        result = _run_without_read_permission_override(DROPPED_SCRIPT, str(root))
    finally:
        for folder in locked:
            folder.chmod(0o755)
    found, walked = result["find"], result["python"]
    assert found["scanner"] == "find" and walked["scanner"] == "python"
    assert found["apparent"] == result["du_b"] and found["allocated"] == result["du_B1"]
    assert found["errors"] == 3 and found["complete"]
    assert found["samples"] == sorted(["/d1: Permission denied", "/d2/inner: Permission denied",
                                       "/" + os.fsdecode(b"odd \xff\nname'") + ": Permission denied"])
    assert found == {**walked, "scanner": "find"}, "both walks give the same figures, tree and errors"
    assert found["tree"]["/d1"][4] == 1 and found["tree"]["/d2"][4] == 1  # the error is on its folder


class _Spawned:
    """Records the find children a scan starts."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.children: list[subprocess.Popen[bytes]] = []
        real = subprocess.Popen

        def spawn(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
            child: subprocess.Popen[bytes] = real(*args, **kwargs)
            self.children.append(child)
            return child

        monkeypatch.setattr(subprocess, "Popen", spawn)  # the module usage_find starts find with


@needs_find
@pytest.mark.parametrize("finds", [1, 3])
def test_cancel_mid_scan_kills_find_and_keeps_the_partial_figures(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, finds: int) -> None:
    make_many(tmp_path / "t", dirs=30, files=200)  # ~80 KB of output
    use_scanner(monkeypatch, "find")
    monkeypatch.setattr(usage_find, "WORKERS", finds)
    full = scan_usage(tmp_path / "t")
    # Pipes of one page: no find can finish before we have read most of its output, so those that
    # printed files are surely running at the first report; they are then stopped there (as if busy
    # in a slow folder) and the scan cancelled.
    monkeypatch.setattr(usage_find, "PIPE_SIZE", 4096)
    monkeypatch.setattr(usage_find, "SLICE", 4096)
    spawned = _Spawned(monkeypatch)
    cancel = threading.Event()
    reports: list[UsageProgress] = []

    def on_progress(progress: UsageProgress) -> None:
        reports.append(progress)
        if not cancel.is_set() and progress.files:
            for child in spawned.children:
                if child.returncode is None:
                    os.kill(child.pid, signal.SIGSTOP)
            cancel.set()

    started = time.monotonic()
    partial = scan_usage(tmp_path / "t", progress=on_progress, cancel=cancel, interval_s=0)
    assert time.monotonic() - started < 5
    assert len(spawned.children) == (1 if finds == 1 else 1 + finds)
    assert all(child.returncode is not None for child in spawned.children), "every find was reaped"
    assert any(child.returncode == -signal.SIGKILL for child in spawned.children), "the running were killed"
    assert not any(Path(f"/proc/{child.pid}").exists() for child in spawned.children)
    assert not partial.complete and partial.scanner == "find"
    assert 0 < partial.files < full.files
    assert reports[-1].files == partial.files and reports[-2].files > 0  # no report after the cancel
    assert partial.tree is not None and not partial.tree.complete


@needs_find
@pytest.mark.parametrize("finds", [1, 2, 5])
def test_any_number_of_finds_gives_the_same_scan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 finds: int) -> None:
    make_odd_tree(tmp_path / "odd")
    make_tree(tmp_path / "odd" / "more", dirs=4, files=30)
    (tmp_path / "odd" / "top file").write_bytes(b"t" * 777)
    walked = both(monkeypatch, tmp_path / "odd")["python"]
    use_scanner(monkeypatch, "find")
    monkeypatch.setattr(usage_find, "WORKERS", finds)
    spawned = _Spawned(monkeypatch)
    reports: list[UsageProgress] = []
    scan = scan_usage(tmp_path / "odd", progress=reports.append, interval_s=0)
    assert scan.scanner == "find" and scan.complete
    assert figures(scan.tree) == figures(walked.tree)
    assert reports and reports[-1].files == scan.files
    assert all(a.files <= b.files for a, b in itertools.pairwise(reports))
    assert len(spawned.children) == (1 if finds == 1 else 1 + min(2 * finds, len(ODD_NAMES) + 1))
    assert all(child.returncode == 0 for child in spawned.children), "every find ended, and was reaped"


@needs_find
def test_the_opened_folder_is_scanned_even_when_its_path_is_swapped(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    outside = tmp_path / "outside"
    make_tree(outside, dirs=2, files=50)
    volume = tmp_path / "volume"
    make_tree(volume, dirs=1, files=2)
    expected = both(monkeypatch, volume)["find"]
    fd = os.open(volume, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        volume.rename(tmp_path / "moved")
        volume.symlink_to(outside)  # the volume's path now leads outside
        for scan in both(monkeypatch, fd).values():
            assert figures(scan.tree) == figures(expected.tree)
    finally:
        os.close(fd)


@needs_find
def test_a_folder_swapped_for_a_symlink_mid_scan_is_never_followed(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    with open(outside / "huge", "wb") as handle:
        handle.truncate(1 << 40)  # sparse: 1 TiB apparent, nothing allocated
    (outside / "escaped").mkdir()
    volume = tmp_path / "volume"
    make_tree(volume, dirs=20, files=30)
    victim, parked = volume / "d7", volume / "d7.parked"
    stop = threading.Event()

    def swap() -> None:
        while not stop.is_set():
            victim.rename(parked)
            victim.symlink_to(outside)
            time.sleep(0.0005)
            victim.unlink()
            parked.rename(victim)

    swapper = threading.Thread(target=swap)
    swapper.start()
    try:
        for _ in range(15):
            for scan in both(monkeypatch, volume).values():
                assert scan.apparent_bytes < 1 << 40
                assert scan.tree is not None
                assert all("escaped" not in path and "huge" not in path for path, _ in scan.tree.walk())
    finally:
        stop.set()
        swapper.join()


MOUNT_SCRIPT = r"""
import json, os, subprocess, sys
from backend.volumes import usage, usage_find
from backend.volumes.usage import scan_usage
from tests.backend.usage_support import du, figures
folder = sys.argv[1]
subprocess.run(["mount", "-t", "tmpfs", "tmpfs", os.path.join(folder, "mnt")], check=True)
with open(os.path.join(folder, "mnt", "big"), "wb") as handle:
    handle.write(b"m" * 1_000_000)
out = {"du_b": du(["-sxb"], folder), "du_B1": du(["-sx", "-B1"], folder)}
for name in ("find", "python"):
    usage.PYTHON_UP_TO = 0 if name == "find" else usage.PYTHON_UP_TO
    usage_find.FIND = "find" if name == "find" else "msb-test-no-such-find"
    scan = scan_usage(folder)
    out[name] = [scan.scanner, scan.apparent_bytes, scan.allocated_bytes, scan.files, scan.dirs,
                 figures(scan.tree)]
print(json.dumps(out))
"""


@needs_find
@needs_du
def test_a_mount_point_inside_is_left_out_as_du_x_does(tmp_path: Path) -> None:
    make_tree(tmp_path / "t", dirs=2, files=3)
    (tmp_path / "t" / "mnt").mkdir()
    if shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.skip("needs root and unshare to mount a file system in a private namespace")
    command = ["unshare", "--mount", "--propagation", "private", sys.executable, "-c", MOUNT_SCRIPT,
               str(tmp_path / "t")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    if done.returncode != 0 and ("unshare" in done.stderr or "mount" in done.stderr):
        pytest.skip(f"cannot mount in a private namespace here: {done.stderr.strip()[-200:]}")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["find"][0] == "find" and result["python"][0] == "python"
    assert result["find"][1:] == result["python"][1:]
    assert result["find"][1] == result["du_b"] and result["find"][2] == result["du_B1"]
    assert result["find"][1] < 1_000_000


@needs_find
def test_folders_deeper_than_the_limit_are_errors_in_both_walks(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(usage_types.MAX_DEPTH + 3):
            os.mkdir("d", dir_fd=fd)
            child = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = child
            os.close(os.open("f", os.O_WRONLY | os.O_CREAT, dir_fd=fd))
    finally:
        os.close(fd)
    scans = both(monkeypatch, tmp_path / "d")
    found, walked = scans["find"], scans["python"]
    assert found.errors == walked.errors == 1
    assert found.error_samples == walked.error_samples
    assert found.error_samples[0].endswith(f"deeper than {usage_types.MAX_DEPTH} levels, not scanned")
    assert figures(found.tree) == figures(walked.tree)


def _fake_find(tmp_path: Path, body: str) -> str:
    script = tmp_path / "fake-find"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    return str(script)


VERSION_4_9 = '[ "$1" = --version ] && { echo "find (GNU findutils) 4.9.0"; exit 0; }\n'


@pytest.mark.parametrize(("body", "reason"), [
    (None, "is not installed"),
    ('echo "find (GNU findutils) 4.4.2"\n', "older than 4.6"),
    ('echo "BusyBox v1.36.1 multi-call binary."\n', "is not GNU find"),
    (VERSION_4_9 + 'printf "\\0D0 1 1 4096 8 \\0"\n', "walked another folder"),
    (VERSION_4_9 + 'echo "find: no" >&2; exit 1\n', "find printed nothing: find: no"),
])
def test_without_a_usable_find_the_python_walk_counts_and_says_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        body: str | None, reason: str) -> None:
    make_tree(tmp_path / "t", dirs=2, files=3)
    command = "msb-test-no-such-find" if body is None else _fake_find(tmp_path, body)
    monkeypatch.setattr(usage_find, "FIND", command)
    monkeypatch.setattr(usage, "PYTHON_UP_TO", 0)
    monkeypatch.setattr(usage, "_fallbacks_logged", set())
    with caplog.at_level(logging.WARNING, logger="backend.volumes.usage"):
        scan = scan_usage(tmp_path / "t")
        again = scan_usage(tmp_path / "t")
    assert scan.scanner == again.scanner == "python"
    assert scan.complete and scan.files == 2 * 4 and scan.apparent_bytes == again.apparent_bytes
    warnings = [r.getMessage() for r in caplog.records if "slower Python walk" in r.getMessage()]
    assert len(warnings) == 1 and reason in warnings[0], warnings


@needs_find
def test_small_folders_are_walked_in_python_and_large_ones_in_find(tmp_path: Path) -> None:
    make_tree(tmp_path / "small", dirs=2, files=3)
    make_tree(tmp_path / "large", dirs=5, files=usage.PYTHON_UP_TO // 5 + 1)
    assert scan_usage(tmp_path / "small").scanner == "python"
    large = scan_usage(tmp_path / "large")
    assert large.scanner == "find" and large.files == 5 * (usage.PYTHON_UP_TO // 5 + 2)
