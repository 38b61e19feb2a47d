"""Issue 19: an owned volume's folders are opened without following symlinks all the way down from the
sandboxes folder, even when one is swapped for a symlink after the volume was found."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from backend import LocalBackend
from backend.errors import FsError
from tests.backend.test_home_0_7 import add_0_7_sandbox, home07

__all__ = ["home07"]


@pytest.mark.parametrize("swapped", ["sandbox", "owned-volumes", "volume"])
async def test_a_folder_swapped_for_a_symlink_after_the_check_is_not_followed(
        home07: LocalBackend, tmp_path: Path, swapped: str) -> None:
    add_0_7_sandbox(home07.config.db_path(), "web-0")
    sandbox = home07.sandboxes_dir() / "web-0"
    data = sandbox / "owned-volumes" / "scratch_ad861404" / "data"
    data.mkdir(parents=True)
    (data / "mine.txt").write_text("mine")
    volumes = home07.volumes()
    scratch = [v for v in await volumes.owned() if v.id == "scratch_ad861404"][0]
    root = await volumes.owned_root(scratch)
    assert [e.name for e in root.list("")] == ["mine.txt"]
    # The guest swaps a folder on the way for a symlink to a copy holding someone else's files.
    folder = {"sandbox": sandbox, "owned-volumes": sandbox / "owned-volumes",
              "volume": sandbox / "owned-volumes" / "scratch_ad861404"}[swapped]
    outside = tmp_path / "outside"
    shutil.copytree(folder, outside)
    for path in outside.rglob("mine.txt"):
        path.rename(path.with_name("secret.txt"))
    shutil.rmtree(folder)
    folder.symlink_to(outside)
    with pytest.raises(FsError, match="symlink"):
        root.list("")
    with pytest.raises((FsError, OSError)):
        await volumes.owned_usage(scratch)
