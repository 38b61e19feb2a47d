"""``get(name)``: the parsed config with secrets masked, mounts, ports, rootfs and the run history."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from backend import LocalBackend
from backend.errors import InvalidSandboxNameError, SandboxNotFoundError
from backend.sandboxes.parse import MASK
from backend.sandboxes.service import Sandboxes
from tests.backend.sandbox_helpers import add_run, add_sandbox, db_file, make_config


@pytest.fixture
def sandboxes(backend: LocalBackend) -> Sandboxes:
    return backend.sandboxes()


@pytest.fixture
def db(backend: LocalBackend) -> Path:
    return db_file(backend)


async def test_detail_masks_secret_env_values(sandboxes: Sandboxes, db: Path) -> None:
    env = [{"key": "PATH", "value": "/bin"}, {"key": "API_TOKEN", "value": "t0k3n"},
           {"key": "db_password", "value": "hunter2"}, {"key": "AWS_SECRET_ACCESS_KEY", "value": "s3"},
           {"key": "EMPTY_KEY", "value": ""}]
    network = {"enabled": True, "ports": [{"host_port": 2222, "guest_port": 22, "protocol": "tcp",
                                           "host_bind": "127.0.0.1"}],
               "secrets": {"entries": [{"env": "GH", "value": "ghp_x"}]}}
    add_sandbox(db, "dev", config=make_config("dev", env=env, network=network))
    detail = await sandboxes.get("dev")
    assert detail.env == (("PATH", "/bin"), ("API_TOKEN", MASK), ("db_password", MASK),
                          ("AWS_SECRET_ACCESS_KEY", MASK), ("EMPTY_KEY", ""))
    assert detail.config is not None
    assert detail.config["network"]["secrets"] == {"entries": [{"env": MASK, "value": MASK}]}
    for secret in ("t0k3n", "hunter2", "s3", "ghp_x"):
        assert secret not in detail.config_text
    assert json.loads(detail.config_text)["env"][0] == {"key": "PATH", "value": "/bin"}
    assert set(detail.masked_keys) == {"env.API_TOKEN", "env.db_password", "env.AWS_SECRET_ACCESS_KEY",
                                       "network.secrets"}
    assert [str(p) for p in detail.ports] == ["127.0.0.1:2222->22/tcp"]


async def test_detail_keeps_the_stored_text_when_nothing_is_secret(sandboxes: Sandboxes, db: Path) -> None:
    text = json.dumps(make_config("plain"), separators=(",", ":"))
    add_sandbox(db, "plain", config=text)
    detail = await sandboxes.get("plain")
    assert detail.config_text == text and detail.masked_keys == ()
    assert detail.security_profile == "default" and detail.workdir is None
    assert [(m.kind, m.source, m.guest) for m in detail.mounts] == [("Tmpfs", "tmpfs", "/tmp"),
                                                                    ("Named", "data", "/data")]
    assert detail.rootfs.kind == "Oci" and detail.rootfs.source == "python"
    assert detail.rootfs.upper_size_mib == 4096
    assert detail.rootfs.manifest_digest == "sha256:" + "ab" * 32
    assert detail.rootfs.pin_mode is None


async def test_detail_run_history_newest_first_and_rootfs_pin(sandboxes: Sandboxes, db: Path) -> None:
    sid = add_sandbox(db, "hist")
    add_run(db, sid, pid=1, exit_code=0, reason="Completed", started="2026-01-01 10:00:00",
            terminated="2026-01-01 10:00:05")
    add_run(db, sid, pid=2, exit_code=137, reason="Signal", started="2026-01-03 10:00:00.123",
            terminated="2026-01-03 10:01:00")
    add_run(db, sid, pid=3, exit_code=1, reason="Failed", started="2026-01-02 10:00:00.123456")
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO manifest (digest, created_at) VALUES ('sha256:pinned', '2026-01-01 00:00:00')")
        conn.execute("INSERT INTO sandbox_rootfs (sandbox_id, manifest_id, mode, upper_fstype, created_at) "
                     "VALUES (?, 1, 'erofs', 'ext4', '2026-01-01 10:00:00')", (sid,))
    detail = await sandboxes.get("hist")
    assert [(r.pid, r.exit_code, r.termination_reason) for r in detail.runs] == [
        (2, 137, "Signal"), (3, 1, "Failed"), (1, 0, "Completed")]
    assert detail.row.latest_run is not None and detail.row.latest_run.pid == 2
    assert (detail.rootfs.pin_mode, detail.rootfs.pin_upper_fstype, detail.rootfs.pin_manifest_id) == (
        "erofs", "ext4", 1)


async def test_detail_of_a_malformed_row(sandboxes: Sandboxes, db: Path, backend: LocalBackend) -> None:
    add_sandbox(db, "broken", config="{oops")
    (backend.sandboxes_dir() / "broken").mkdir(parents=True)
    detail = await sandboxes.get("broken")
    assert detail.config is None and detail.config_text == "{oops" and detail.env == ()
    assert detail.row.image == "-" and detail.rootfs.kind == "-"
    assert detail.sandbox_dir_exists is True
    assert any("not valid JSON" in p for p in detail.row.problems)


async def test_get_missing_and_bad_names(sandboxes: Sandboxes) -> None:
    with pytest.raises(SandboxNotFoundError, match="sandbox not found: nope"):
        await sandboxes.get("nope")
    with pytest.raises(InvalidSandboxNameError, match="must not be empty"):
        await sandboxes.get("")
    with pytest.raises(InvalidSandboxNameError, match="must be text"):
        await sandboxes.get(None)  # type: ignore[arg-type]
    with pytest.raises(InvalidSandboxNameError, match="NUL"):
        await sandboxes.get("a\x00b")


async def test_get_on_read_only_home_without_catalog(home: Path) -> None:
    backend = LocalBackend.lazy(read_only=True)
    try:
        with pytest.raises(SandboxNotFoundError):
            await backend.sandboxes().get("any")
    finally:
        await backend.close()


def test_sandbox_dir_refuses_names_that_leave_the_folder(backend: LocalBackend) -> None:
    sandboxes = backend.sandboxes()
    assert sandboxes.sandbox_dir("web.1_a-b") == backend.sandboxes_dir() / "web.1_a-b"
    for bad in ("../etc", "a/b", ".hidden", "", "x" * 129):
        with pytest.raises(InvalidSandboxNameError):
            sandboxes.sandbox_dir(bad)
    with pytest.raises(InvalidSandboxNameError, match="at most 128 characters: got 129"):
        sandboxes.sandbox_dir("x" * 129)
