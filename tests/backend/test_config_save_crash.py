"""A process killed (SIGKILL) at random moments while saving config.json never leaves a broken file.

A forked child saves the versions in a loop through the editor's save path (validation, ``.bak``,
atomic replace); the parent kills it after a random delay, then checks that config.json and
config.json.bak are each exactly one of the versions written. Forking (not a fresh interpreter) keeps
each round short (the child inherits the texts), so the test makes over a hundred kills in seconds.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import signal
import time
from pathlib import Path

from backend import LocalBackend
from backend.config.changes import save_config_text

VERSIONS = 7
MIN_ROUNDS = 100
MAX_ROUNDS = 400
TIME_BUDGET_S = 6.0


def version_text(index: int) -> str:
    """A valid config.json of a few hundred KiB, so a write takes long enough to be interrupted."""
    document = {
        "active_profile": "dev",
        "metrics": {"capacity": index},
        "x-padding": [f"{index:03d}-{n:06d}-" + "x" * 40 for n in range(4000 + 700 * index)],
        "profiles": {"dev": {"backend": "local"}},
    }
    return json.dumps(document, indent=2) + "\n"


def _save_forever(texts: list[str], first: int, ready: multiprocessing.synchronize.Event) -> None:
    backend = LocalBackend.lazy()
    index = first
    ready.set()
    while True:
        index = (index + 1) % VERSIONS
        save_config_text(backend, texts[index], expected_fingerprint=None)


def _which_version(path: Path, texts: dict[str, int]) -> int:
    text = path.read_text()
    json.loads(text)  # valid JSON, not a torn write
    assert text in texts, f"{path.name} holds text that was never written"
    return texts[text]


def test_sigkill_while_saving_never_leaves_a_broken_file(home: Path) -> None:
    config = home / "config.json"
    versions = [version_text(i) for i in range(VERSIONS)]
    texts = {text: index for index, text in enumerate(versions)}
    config.write_text(versions[0])
    context = multiprocessing.get_context("fork")
    rng = random.Random(20240611)
    seen: set[int] = set()
    rounds = 0
    started = time.monotonic()
    while rounds < MAX_ROUNDS and (rounds < MIN_ROUNDS or time.monotonic() - started < TIME_BUDGET_S):
        ready = context.Event()
        child = context.Process(target=_save_forever, args=(versions, rounds % VERSIONS, ready), daemon=True)
        child.start()
        assert ready.wait(10), "the saving child did not start"
        time.sleep(rng.uniform(0, 0.04))
        assert child.pid is not None
        os.kill(child.pid, signal.SIGKILL)
        child.join(10)
        assert child.exitcode == -signal.SIGKILL, "the child must die mid-loop, not exit on its own"
        seen.add(_which_version(config, texts))
        backup = home / "config.json.bak"
        if backup.exists():
            _which_version(backup, texts)
        rounds += 1
    assert rounds >= MIN_ROUNDS
    assert len(seen) >= 3, f"kills landed on too few versions to mean anything: {sorted(seen)}"
