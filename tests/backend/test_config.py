"""config.json models, loading and saving: the reference's cases (section 8.1) plus bad input."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.config.file import (
    dumps_config,
    load_persisted_config_or_default,
    parse_config_text,
    read_config_file,
    save_persisted_config,
    write_config_text,
)
from backend.config.model import LocalConfig, RegistryAuthEntry
from backend.errors import ConfigConflictError, ConfigParseError, ConfigReadError
from backend.paths import config_path, resolve_home
from tests.data import DATA

REFERENCE = DATA


def parse(text: str) -> LocalConfig:
    return parse_config_text(text, Path("config.json"))[1]


def test_home_resolution_respects_env_verbatim(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MSB_HOME", "/tmp/msb-home-resolve-test-12345")
    assert resolve_home() == Path("/tmp/msb-home-resolve-test-12345")
    assert config_path() == Path("/tmp/msb-home-resolve-test-12345/config.json")
    monkeypatch.setenv("MSB_CONFIG_PATH", "/elsewhere/c.json")
    assert config_path() == Path("/elsewhere/c.json")


def test_home_defaults_to_dot_microsandbox() -> None:
    assert resolve_home() == Path(os.environ["HOME"]) / ".microsandbox"


def test_home_key_moves_data_not_the_config_file(home: Path) -> None:
    config = parse('{"home": "/custom/home", "paths": {"sandboxes": "/custom/sandboxes"}}')
    assert config.home_dir() == Path("/custom/home")
    assert config.db_path() == Path("/custom/home/db/msb.db")
    assert config.volumes_dir() == Path("/custom/home/volumes")
    assert config.sandboxes_dir() == Path("/custom/sandboxes")
    assert config_path() == home / "config.json"


def test_defaults_match_the_reference_document() -> None:
    config = LocalConfig()
    expected = (REFERENCE / "default-config.json").read_text()
    assert dumps_config(config.to_document()) == expected
    assert (config.sandbox_defaults.cpus, config.sandbox_defaults.memory_mib) == (1, 512)
    assert config.sandbox_defaults.oci.upper_size_mib is None
    assert config.sandbox_defaults.shell == "/bin/sh"
    assert config.sandbox_defaults.metrics_interval == 1000
    assert (config.database.max_connections, config.database.connect_timeout_secs) == (5, 30)
    assert config.database.busy_timeout_secs == 5
    assert config.log_level is None


@pytest.mark.parametrize(
    ("text", "check"),
    [
        ("{}", lambda c: c.sandbox_defaults.cpus == 1 and c.home is None),
        ('{"sandbox_defaults":{"cpus":4}}', lambda c: c.sandbox_defaults.cpus == 4
         and c.sandbox_defaults.memory_mib == 512),
        ('{"sandbox_defaults":{}}', lambda c: c.sandbox_defaults.metrics_interval == 1000),
        ('{"sandbox_defaults":{"metrics_sample_interval_ms":0}}', lambda c: c.sandbox_defaults.metrics_interval
         is None),
        ('{"sandbox_defaults":{"metrics_sample_interval_ms":2500}}',
         lambda c: c.sandbox_defaults.metrics_interval == 2500),
        ('{"metrics":{"capacity":0}}', lambda c: c.metrics.capacity == 0 and c.metrics_registry_capacity() == 1024),
        ('{"metrics":{"capacity":2048}}', lambda c: c.metrics_registry_capacity() == 2048),
        ('{"sandbox_defaults":{"disable_metrics_sample":true}}',
         lambda c: c.sandbox_defaults.disable_metrics_sample),
        ('{"log_level":"debug"}', lambda c: c.log_level == "debug"),
        ('{"database":{"max_connections":9,"connect_timeout_secs":7,"busy_timeout_secs":12}}',
         lambda c: (c.database.max_connections, c.database.connect_timeout_secs, c.database.busy_timeout_secs)
         == (9, 7, 12)),
        ('{"registries":{"hosts":{"localhost:5050":{"insecure":true}}}}',
         lambda c: c.insecure_registries() == ["localhost:5050"]
         and c.registries.hosts["localhost:5050"].auth is None),
        ('{"registries":{}}', lambda c: c.registries.hosts == {} and c.registries.ca_certs is None),
        ('{"registries":{"ca_certs":"/path/to/ca.pem"}}', lambda c: c.registries.ca_certs == "/path/to/ca.pem"),
        ('{"unknown_key": [1, 2], "profiles": {"p": {"backend": "local"}}}', lambda c: c == LocalConfig()),
    ],
)
def test_reference_parse_cases(text: str, check: object) -> None:
    assert callable(check) and check(parse(text))


def test_disabled_interval_serializes_as_zero_and_round_trips() -> None:
    config = parse('{"sandbox_defaults":{"metrics_sample_interval_ms":0}}')
    document = config.to_document()
    assert document["sandbox_defaults"]["metrics_sample_interval_ms"] == 0
    assert parse(json.dumps(document)).sandbox_defaults.metrics_interval is None


def test_registry_keyring_entry_round_trips(home: Path) -> None:
    config = parse('{"registries":{"hosts":{"ghcr.io":{"auth":{"username":"octocat","store":"keyring"}}}}}')
    auth = config.registries.hosts["ghcr.io"].auth
    assert auth is not None and auth.store == "keyring"
    assert auth.password_env is None and auth.secret_name is None
    save_persisted_config(config)
    written = json.loads((home / "config.json").read_text())
    assert written["registries"]["hosts"]["ghcr.io"] == {
        "auth": {"username": "octocat", "store": "keyring", "password_env": None, "secret_name": None}
    }
    assert load_persisted_config_or_default() == config


def test_registry_auth_source_rules() -> None:
    assert RegistryAuthEntry(username="u").source_problem() is not None
    assert "multiple" in (RegistryAuthEntry(username="u", store="keyring", password_env="P").source_problem() or "")
    assert RegistryAuthEntry(username="u", secret_name="s").source_problem() is None


@pytest.mark.parametrize(
    ("text", "key_path", "words"),
    [
        ('{"sandbox_defaults":{"cpus":300}}', "sandbox_defaults.cpus", "255"),
        ('{"sandbox_defaults":{"cpus":-1}}', "sandbox_defaults.cpus", "greater than or equal"),
        ('{"sandbox_defaults":{"cpus":"4"}}', "sandbox_defaults.cpus", "integer"),
        ('{"sandbox_defaults":{"metrics_sample_interval_ms":null}}', "sandbox_defaults.metrics_sample_interval_ms",
         "integer"),
        ('{"log_level":"DEBUG"}', "log_level", "'error'"),
        ('{"registries":{"hosts":{"h":{"auth":{"store":"keyring"}}}}}', "registries.hosts.h.auth.username",
         "required"),
        ('{"registries":{"hosts":{"h":{"auth":{"username":"u","store":"vault"}}}}}',
         "registries.hosts.h.auth.store", "keyring"),
        ('{"database":{"busy_timeout_secs":true}}', "database.busy_timeout_secs", "integer"),
    ],
)
def test_wrong_values_name_the_key(text: str, key_path: str, words: str) -> None:
    with pytest.raises(ConfigParseError) as info:
        parse(text)
    assert info.value.key_path == key_path
    assert key_path in str(info.value) and words in str(info.value)
    assert "config.json" in str(info.value)


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [("", 1, 1), ("   \n", 2, 1), ('{\n  "home": ,\n}', 2, 11), ('{"a": 1', 1, 8)],
)
def test_malformed_json_gives_line_and_column(text: str, line: int, column: int) -> None:
    with pytest.raises(ConfigParseError) as info:
        parse(text)
    assert (info.value.line, info.value.column) == (line, column)
    assert f"line {line} column {column}" in str(info.value)


@pytest.mark.parametrize("text", ["null", "[]", "3", '"x"'])
def test_top_level_must_be_an_object(text: str) -> None:
    with pytest.raises(ConfigParseError, match="top level must be a JSON object"):
        parse(text)


def test_missing_file_gives_defaults_and_broken_symlink_counts_as_missing(home: Path) -> None:
    assert load_persisted_config_or_default() == LocalConfig()
    (home / "config.json").symlink_to(home / "nowhere.json")
    assert load_persisted_config_or_default() == LocalConfig()


def test_unreadable_config_is_a_read_error_and_unchanged(home: Path) -> None:
    (home / "config.json").mkdir()
    with pytest.raises(ConfigReadError, match="failed to read config"):
        load_persisted_config_or_default()
    assert (home / "config.json").is_dir()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_permission_denied_is_a_read_error(home: Path) -> None:
    target = home / "config.json"
    target.write_text("{}")
    target.chmod(0)
    with pytest.raises(ConfigReadError):
        load_persisted_config_or_default()


def test_invalid_utf8_is_a_parse_error(home: Path) -> None:
    (home / "config.json").write_bytes(b'{"home": "\xff"}')
    loaded = read_config_file(home / "config.json")
    assert isinstance(loaded.error, ConfigParseError) and "UTF-8" in str(loaded.error)
    assert loaded.config == LocalConfig()


def test_save_keeps_unknown_keys_order_and_mode(home: Path) -> None:
    path = home / "config.json"
    original = {
        "profiles": {"prod": {"backend": "cloud", "url": "https://x", "api_key_ref": "env:K"}},
        "sandbox_defaults": {"cpus": 2, "future_knob": True},
        "active_profile": "prod",
        "registries": {"hosts": {"ghcr.io": {"auth": None, "insecure": True, "mirror": "m"}}},
        "from_newer_msb": {"x": 1},
    }
    path.write_text(json.dumps(original, indent=2))
    path.chmod(0o640)
    config = load_persisted_config_or_default().model_copy(
        update={"log_level": "warn"}
    )
    save_persisted_config(config)
    text = path.read_text()
    written = json.loads(text)
    assert text.endswith("}\n") and text.startswith('{\n  "profiles"')
    assert list(written)[:5] == ["profiles", "sandbox_defaults", "active_profile", "registries", "from_newer_msb"]
    assert written["profiles"] == original["profiles"] and written["active_profile"] == "prod"
    assert written["sandbox_defaults"]["future_knob"] is True
    assert written["sandbox_defaults"]["cpus"] == 2
    assert written["registries"]["hosts"]["ghcr.io"] == {"auth": None, "insecure": True, "mirror": "m"}
    assert written["log_level"] == "warn"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert not list(home.glob(".config.json.tmp*"))


def test_save_drops_insecure_false_and_removed_hosts(home: Path) -> None:
    path = home / "config.json"
    path.write_text('{"registries": {"hosts": {"a": {"insecure": true}, "b": {"auth": null}}}}')
    config = load_persisted_config_or_default()
    hosts = dict(config.registries.hosts)
    hosts["a"] = hosts["a"].model_copy(update={"insecure": False})
    del hosts["b"]
    registries = config.registries.model_copy(update={"hosts": hosts})
    save_persisted_config(config.model_copy(update={"registries": registries}))
    assert json.loads(path.read_text())["registries"]["hosts"] == {"a": {"auth": None}}


def test_conflicting_write_is_refused_and_nothing_changes(home: Path) -> None:
    path = home / "config.json"
    path.write_text("{}\n")
    loaded = read_config_file(path)
    path.write_text('{"log_level": "info"}\n')
    with pytest.raises(ConfigConflictError) as info:
        write_config_text(path, '{"home": null}\n', expected_fingerprint=loaded.fingerprint)
    assert info.value.current_text == '{"log_level": "info"}\n'
    assert path.read_text() == '{"log_level": "info"}\n'


def test_write_keeps_a_backup(home: Path) -> None:
    path = home / "config.json"
    path.write_text("{}\n")
    loaded = read_config_file(path)
    after = write_config_text(path, '{"log_level": "info"}\n', expected_fingerprint=loaded.fingerprint, backup=True)
    assert (home / "config.json.bak").read_text() == "{}\n"
    assert after.config.log_level == "info"


def test_failed_rename_leaves_the_old_file(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import backend.fileio as fileio
    from backend.errors import ConfigWriteError

    path = home / "config.json"
    path.write_text('{"log_level": "info"}\n')

    def broken_replace(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fileio, "_replace", broken_replace)
    with pytest.raises(ConfigWriteError, match="previous file is unchanged"):
        write_config_text(path, "{}\n")
    assert path.read_text() == '{"log_level": "info"}\n'
    assert sorted(p.name for p in home.iterdir()) == ["config.json"]


@settings(max_examples=60, deadline=None)
@given(
    cpus=st.integers(0, 255),
    memory=st.integers(0, 2**32 - 1),
    shell=st.text(max_size=20),
    level=st.sampled_from([None, "error", "warn", "info", "debug", "trace"]),
)
def test_serialization_round_trips(cpus: int, memory: int, shell: str, level: str | None) -> None:
    config = LocalConfig.model_validate(
        {"log_level": level, "sandbox_defaults": {"cpus": cpus, "memory_mib": memory, "shell": shell}}
    )
    assert parse(dumps_config(config.to_document())) == config


def test_temp_files_of_dead_writers_are_cleaned_up(home: Path) -> None:
    path = home / "config.json"
    stale = home / ".config.json.tmp-999999999"
    stale.write_text("half a file")
    other = home / ".unrelated.tmp-999999999"
    other.write_text("not ours")
    write_config_text(path, "{}\n")
    assert not stale.exists() and other.exists()
    assert path.read_text() == "{}\n"


def test_reload_config_sees_a_saved_file(home: Path) -> None:
    from backend import LocalBackend

    (home / "config.json").write_text("{ broken")
    backend = LocalBackend.lazy()
    assert backend.config_error is not None
    (home / "config.json").write_text('{"log_level": "info"}')
    assert backend.reload_config().log_level == "info"
    assert backend.config_error is None
