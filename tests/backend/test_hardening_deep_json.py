"""Issue 19: JSON nested too deep is that row's problem or that file's error, never a list's failure."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from backend import LocalBackend
from backend.config.changes import check_text
from backend.config.file import read_config_file
from backend.errors import ConfigParseError
from backend.sandboxes.models import SandboxQuery
from backend.volumes.models import VolumeConfig
from tests.backend.sandbox_helpers import add_sandbox, db_file, make_config

DEPTHS = [200, 5_000, 200_000]


def deep(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", DEPTHS)
async def test_a_deep_sandbox_config_is_its_rows_problem(backend: LocalBackend, depth: int) -> None:
    db = db_file(backend)
    add_sandbox(db, "fine")
    add_sandbox(db, "deep-config", config='{"name": "deep-config", "x": ' + deep(depth) + "}")
    mounts = make_config("deep-mount")
    mounts["mounts"] = [{"type": "Named", "name": "vol", "guest": "/data", "x": json.loads(deep(100))}]
    text = json.dumps(mounts).replace(json.dumps(json.loads(deep(100))), deep(depth))
    add_sandbox(db, "deep-mount", config=text, status="Running")
    sandboxes = backend.sandboxes()
    page = await sandboxes.list(SandboxQuery())
    rows = {row.name: row for row in page.rows}
    assert set(rows) == {"fine", "deep-config", "deep-mount"}
    assert not any("JSON" in p for p in rows["fine"].problems)
    for name in ("deep-config", "deep-mount"):
        assert any("nested deeper than" in p for p in rows[name].problems), rows[name].problems
        detail = await sandboxes.get(name)
        assert detail.config is None
    assert len(await sandboxes.window(SandboxQuery(), 0, 10)) == 3
    assert await sandboxes.count() == 3
    await backend.volumes().create(VolumeConfig("vol"))
    refs = await backend.volumes().cross_refs()
    assert refs.for_volume("vol") is not None


@pytest.mark.parametrize("depth", DEPTHS)
async def test_deep_volume_labels_are_that_volumes_problem(backend: LocalBackend, depth: int) -> None:
    volumes = backend.volumes()
    await volumes.create(VolumeConfig("fine", labels=(("team", "ml"),)))
    await volumes.create(VolumeConfig("deep"))
    with sqlite3.connect(db_file(backend)) as conn:
        conn.execute("UPDATE volume SET labels = ? WHERE name = 'deep'", (deep(depth),))
    infos = {info.name: info for info in await volumes.list()}
    assert infos["fine"].labels == (("team", "ml"),) and infos["deep"].labels == ()
    assert (await volumes.get("deep")).labels == ()
    await volumes.cross_refs()


@pytest.mark.parametrize("depth", DEPTHS)
def test_a_deep_config_file_is_the_files_error(home: Path, depth: int) -> None:
    text = '{"x": ' + deep(depth) + "}"
    (home / "config.json").write_text(text)
    loaded = read_config_file(home / "config.json")
    assert isinstance(loaded.error, ConfigParseError) and "nested deeper than 128" in loaded.error.message
    assert not check_text(text).ok


def test_brackets_inside_strings_neither_hide_nor_fake_depth() -> None:
    from backend.jsonio import JsonError, loads_row

    hidden = '["' + "]" * 500 + '\\"]", ' + deep(200) + "]"
    for text in (hidden, hidden.encode()):
        with pytest.raises(JsonError, match="nested deeper than 128"):
            loads_row(text)
    assert loads_row('["' + "[" * 500 + '\\"["]') == ["[" * 500 + '"[']
    many = json.dumps([{"k": i} for i in range(1000)])  # many brackets, shallow
    assert len(loads_row(many)) == 1000


async def test_a_deep_page_cursor_is_an_invalid_cursor(backend: LocalBackend) -> None:
    import base64

    from backend.errors import InvalidCursorError

    cursor = base64.urlsafe_b64encode(deep(1500).encode()).decode().rstrip("=")
    with pytest.raises(InvalidCursorError):
        await backend.sandboxes().list(SandboxQuery(), after=cursor)
