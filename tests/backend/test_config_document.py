"""The config editor's backend: sparse edits, validation, changes and notes, diff, save, conflict, undo."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend import LocalBackend
from backend.config.changes import (
    check_text,
    document_changes,
    expected_fingerprint_of,
    impact_note,
    impact_notes,
    locate_key,
    mask_secrets,
    save_config,
    save_config_text,
    undo_config_save,
    unified_diff,
)
from backend.config.document import (
    MISSING,
    ConfigDocument,
    display_path,
    document_issues,
    form_sections,
    host_field_specs,
    spec_for,
)
from backend.config.file import read_config_file
from backend.errors import ConfigConflictError, ConfigParseError, InvalidConfigError, ReadOnlyError

SAMPLE: dict[str, Any] = {
    "active_profile": "dev",
    "sandbox_defaults": {"memory_mib": 1024},
    "x-custom": {"keep": True},
    "registries": {"hosts": {"ghcr.io": {"auth": {"username": "octo", "store": "keyring"}}}},
    "profiles": {"dev": {"backend": "local"}},
}


def doc_of(data: dict[str, Any]) -> ConfigDocument:
    return ConfigDocument(data, json.dumps(data, indent=2) + "\n")


# -- schema ----------------------------------------------------------------------------------------


def test_form_covers_every_scalar_field_of_the_models_with_its_docs() -> None:
    specs = {spec.path: spec for section in form_sections() for spec in section.fields}
    assert [s.key for s in form_sections()] == [
        "general", "database", "paths", "sandbox_defaults", "registries", "metrics"]
    assert len(specs) == 2 + 4 + 8 + 7 + 1 + 1
    cpus = specs[("sandbox_defaults", "cpus")]
    assert (cpus.kind, cpus.minimum, cpus.maximum, cpus.default) == ("number", 0, 255, 1)
    assert not cpus.read_by_microsandbox
    assert cpus.help == "Virtual CPUs (0-255). Not read by microsandbox 0.5.x (it uses a built-in 1)."
    assert all(spec.help for spec in specs.values()), [p for p, s in specs.items() if not s.help]
    assert all(spec.help for spec in host_field_specs("ghcr.io"))
    upper = specs[("sandbox_defaults", "oci", "upper_size_mib")]
    assert upper.read_by_microsandbox and upper.nullable and upper.name == "oci.upper_size_mib"
    assert specs[("log_level",)].choices == ("error", "warn", "info", "debug", "trace")
    assert specs[("paths", "cache")].kind == "path"
    assert specs[("sandbox_defaults", "disable_metrics_sample")].kind == "switch"
    hosts = {spec.path[3:]: spec for spec in host_field_specs("ghcr.io")}
    assert hosts[("auth",)].kind == "toggle" and hosts[("insecure",)].kind == "switch"
    assert hosts[("auth", "store")].choices == ("keyring",)


def test_without_module_sources_the_form_has_no_help_but_still_works(monkeypatch: pytest.MonkeyPatch) -> None:
    import backend.config.schema as schema

    def no_source(obj: object) -> str:
        raise OSError("could not get source code")

    monkeypatch.setattr(inspect, "getsource", no_source)  # the module backend.config.schema reads
    schema._attribute_docs.cache_clear()
    schema.spec_for.cache_clear()
    try:
        spec = spec_for(("sandbox_defaults", "cpus"))
        assert spec is not None and spec.help == "" and (spec.minimum, spec.maximum) == (0, 255)
    finally:
        schema._attribute_docs.cache_clear()
        schema.spec_for.cache_clear()


def test_display_path_quotes_host_names() -> None:
    assert display_path(("registries", "hosts", "ghcr.io", "auth")) == 'registries.hosts["ghcr.io"].auth'
    assert display_path(("sandbox_defaults", "cpus")) == "sandbox_defaults.cpus"


# -- sparse edits ----------------------------------------------------------------------------------


def test_effective_value_and_set_in_file() -> None:
    doc = doc_of(SAMPLE)
    assert doc.is_set(("sandbox_defaults", "memory_mib")) and doc.effective(("sandbox_defaults", "memory_mib")) == 1024
    assert not doc.is_set(("sandbox_defaults", "cpus")) and doc.effective(("sandbox_defaults", "cpus")) == 1
    assert doc.get(("database", "url")) is MISSING and doc.effective(("database", "url")) is None


def test_set_inserts_new_keys_in_model_order_and_keeps_unknown_keys_in_place() -> None:
    doc = doc_of(SAMPLE)
    doc.set(("sandbox_defaults", "cpus"), 2)
    doc.set(("home",), "/srv/msb")
    doc.set(("metrics", "capacity"), 64)
    doc.set(("database", "busy_timeout_secs"), 9)
    # a new key goes right after the known key before it in model order; unknown keys do not move
    assert list(doc.data) == ["active_profile", "home", "database", "sandbox_defaults", "x-custom",
                              "registries", "metrics", "profiles"]
    assert list(doc.data["sandbox_defaults"]) == ["cpus", "memory_mib"]
    assert doc.data["x-custom"] == {"keep": True} and doc.data["profiles"] == SAMPLE["profiles"]
    assert doc.dirty


def test_unset_removes_the_key_and_only_sections_it_created() -> None:
    doc = doc_of(SAMPLE)
    doc.unset(("sandbox_defaults", "memory_mib"))
    assert doc.data["sandbox_defaults"] == {}, "a section the file had stays"
    doc.set(("sandbox_defaults", "oci", "upper_size_mib"), 100)
    doc.set(("metrics", "capacity"), 5)
    doc.unset(("sandbox_defaults", "oci", "upper_size_mib"))
    doc.unset(("metrics", "capacity"))
    assert "oci" not in doc.data["sandbox_defaults"] and "metrics" not in doc.data
    doc.unset(("paths", "cache"))  # not there: nothing happens
    assert "paths" not in doc.data


def test_undoing_an_edit_by_hand_makes_the_document_clean_again() -> None:
    doc = doc_of(SAMPLE)
    doc.set(("metrics", "capacity"), 5)
    doc.unset(("metrics", "capacity"))
    assert not doc.dirty
    assert doc.render() == json.dumps(SAMPLE, indent=2) + "\n"


def test_hosts_add_rename_remove() -> None:
    doc = doc_of(SAMPLE)
    doc.add_host("quay.io")
    doc.set(("registries", "hosts", "quay.io", "insecure"), True)
    doc.rename_host("ghcr.io", "ghcr.example.com")
    assert doc.hosts() == ["ghcr.example.com", "quay.io"]
    assert doc.get(("registries", "hosts", "ghcr.example.com", "auth", "username")) == "octo"
    with pytest.raises(InvalidConfigError, match="already exists"):
        doc.rename_host("quay.io", "ghcr.example.com")
    with pytest.raises(InvalidConfigError, match="non-empty"):
        doc.add_host(" ")
    doc.remove_host("ghcr.example.com")
    assert doc.data["registries"]["hosts"] == {"quay.io": {"insecure": True}}


def test_render_keeps_the_files_indent() -> None:
    text = '{\n    "metrics": {\n        "capacity": 1\n    }\n}\n'
    doc = ConfigDocument(json.loads(text), text)
    doc.set(("metrics", "capacity"), 2)
    assert doc.render() == text.replace("1", "2")


# -- validation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "path", "words"), [
    ({"sandbox_defaults": {"cpus": 300}}, ("sandbox_defaults", "cpus"), "less than or equal to 255"),
    ({"sandbox_defaults": {"cpus": "2"}}, ("sandbox_defaults", "cpus"), "valid integer"),
    ({"sandbox_defaults": {"metrics_sample_interval_ms": None}},
     ("sandbox_defaults", "metrics_sample_interval_ms"), "valid integer"),
    ({"log_level": "loud"}, ("log_level",), "'error'"),
    ({"database": []}, ("database",), "dictionary"),
    ({"registries": {"hosts": {"h": {"auth": {"store": "keyring"}}}}},
     ("registries", "hosts", "h", "auth", "username"), "required"),
    ({"registries": {"hosts": {"h": {"auth": {"username": "u"}}}}},
     ("registries", "hosts", "h", "auth"), "no credential source"),
    ({"registries": {"hosts": {"h": {"auth": {"username": "u", "store": "keyring", "secret_name": "s"}}}}},
     ("registries", "hosts", "h", "auth"), "several credential sources (store, secret_name)"),
    ({"registries": {"hosts": {"h": {"auth": {"username": "", "password_env": "E"}}}}},
     ("registries", "hosts", "h", "auth", "username"), "username is required"),
])
def test_errors_name_the_key(data: dict[str, Any], path: tuple[str, ...], words: str) -> None:
    errors = {issue.path: issue for issue in document_issues(data) if issue.severity == "error"}
    assert path in errors
    assert words in errors[path].message


def test_one_credential_source_is_valid_and_unknown_keys_only_warn() -> None:
    data = {"registries": {"auth": {}, "hosts": {"h": {"auth": {"username": "u", "password_env": "E"}}}},
            "sandbox_defaults": {"memroy_mib": 1}, "profiles": {}, "active_profile": None, "extra": 1}
    issues = document_issues(data)
    assert all(issue.severity == "warning" for issue in issues)
    by_path = {issue.path: issue.message for issue in issues}
    assert set(by_path) == {("registries", "auth"), ("sandbox_defaults", "memroy_mib"), ("extra",)}
    assert "memory_mib" in by_path[("sandbox_defaults", "memroy_mib")]
    assert "registries.hosts.<host>.auth" in by_path[("registries", "auth")]


# -- text checks, positions, changes, notes, diff ---------------------------------------------------


def test_check_text_points_at_syntax_and_schema_errors() -> None:
    bad_json = check_text('{\n  "a": 1,,\n}')
    assert not bad_json.ok and (bad_json.line, bad_json.column) == (2, 10)
    assert not check_text("").ok and "empty" in (check_text("").syntax_error or "")
    assert not check_text("[]").ok
    schema = check_text('{\n  "x": 1,\n  "sandbox_defaults": {\n    "cpus": 300\n  }\n}')
    assert not schema.ok and (schema.line, schema.column) == (4, 5)
    assert check_text('{"metrics": {"capacity": 3}}').ok


def test_locate_key_handles_escapes_arrays_and_missing_keys() -> None:
    text = '{"a\\"b": [1, {"c": true}], "registries": {"hosts": {"x.y": {"auth": null}}}}'
    auth_column = text.index('"auth"') + 1
    assert locate_key(text, ("registries", "hosts", "x.y", "auth")) == (1, auth_column)
    assert locate_key(text, ("registries", "hosts", "x.y", "auth", "username")) == (1, auth_column)
    assert locate_key('{\n  "a": {\n    "b": 1}}', ("a", "b")) == (3, 5)
    assert locate_key(text, ("nothing",)) is None
    assert locate_key("{not json", ("a",)) is None


def test_changes_and_impact_notes() -> None:
    old = {"sandbox_defaults": {"cpus": 1, "oci": {"upper_size_mib": 10}}, "x": 1,
           "registries": {"hosts": {"a": {}}}}
    new = {"sandbox_defaults": {"cpus": 2, "oci": {}}, "metrics": {"capacity": 8},
           "registries": {"hosts": {"b": {"insecure": True}}}, "home": "/h"}
    changes = document_changes(old, new)
    described = [change.describe() for change in changes]
    assert described == [
        "sandbox_defaults.cpus: 1 -> 2",
        "sandbox_defaults.oci.upper_size_mib: removed (default null applies)",
        "metrics.capacity: set to 8",
        'registries.hosts["b"]: set to {"insecure": true}',
        'registries.hosts["a"]: removed',
        'home: set to "/h"',
        "x: removed",
    ]
    notes = {note.note: note.paths for note in impact_notes(changes)}
    assert ("sandbox_defaults", "cpus") in notes["microsandbox 0.5.x does not read this"]
    assert notes["affects only sandboxes created later"] == (("sandbox_defaults", "oci", "upper_size_mib"),)
    assert any(note.startswith("stop every sandbox") for note in notes)
    assert impact_note(("paths", "volumes")).startswith("moves where data is looked for")
    assert impact_note(("paths", "logs")) == "microsandbox 0.5.x does not read this"
    assert impact_note(("database", "busy_timeout_secs")).startswith("applies on the next start")
    assert impact_note(("database", "url")) == "microsandbox 0.5.x does not read this"
    assert impact_note(("log_level",)) == "microsandbox 0.5.x does not read this"
    assert impact_note(("registries", "ca_certs")) == "used at the next image pull"
    assert document_changes(old, json.loads(json.dumps(old))) == []


def test_unified_diff_and_masking() -> None:
    old = '{\n  "profiles": {"c": {"backend": "cloud", "api_key_ref": "inline:s3cret"}}\n}\n'
    new = old.replace("}\n}", '},\n  "home": "/h"\n}').replace("}}", "}}")
    diff = unified_diff(old, new)
    assert diff.startswith("--- config.json (on disk)\n+++ config.json (after save)\n")
    assert "s3cret" not in diff and "inline:********" in diff
    assert '+  "home": "/h"' in diff
    assert unified_diff(None, "{}\n").startswith("--- config.json (no file)")
    assert mask_secrets('"api_key_ref": "env:X"') == '"api_key_ref": "env:X"'


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([("sandbox_defaults", "cpus"), ("metrics", "capacity"),
                                           ("home",), ("paths", "cache"), ("sandbox_defaults", "oci",
                                                                               "upper_size_mib")]),
                          st.one_of(st.none(), st.integers(0, 200), st.just("text"))), max_size=12))
def test_any_edit_sequence_keeps_unknown_keys_and_their_order(edits: list[tuple[tuple[str, ...], Any]]) -> None:
    doc = doc_of(SAMPLE)
    for path, value in edits:
        if value is None:
            doc.unset(path)
        else:
            doc.set(path, value)
    rendered = json.loads(doc.render())
    unknown = [key for key in rendered if key in ("active_profile", "x-custom", "profiles")]
    assert unknown == ["active_profile", "x-custom", "profiles"]
    assert rendered["x-custom"] == SAMPLE["x-custom"] and rendered["profiles"] == SAMPLE["profiles"]
    assert rendered["registries"] == SAMPLE["registries"]
    for path, _ in edits:
        spec = spec_for(path)
        assert spec is not None


# -- saving ----------------------------------------------------------------------------------------


async def test_save_writes_atomically_with_backup_and_undo_restores(home: Path) -> None:
    backend = LocalBackend.lazy()
    path = backend.config_path
    original = json.dumps(SAMPLE, indent=2) + "\n"
    path.write_text(original)
    loaded = read_config_file(path)
    doc = ConfigDocument(loaded.document, loaded.text)
    doc.set(("sandbox_defaults", "cpus"), 3)
    saved = await save_config(backend, doc.render(), expected_fingerprint=expected_fingerprint_of(loaded))
    assert json.loads(path.read_text())["sandbox_defaults"] == {"cpus": 3, "memory_mib": 1024}
    assert (home / "config.json.bak").read_text() == original
    assert saved.previous_text == original and saved.file.fingerprint == read_config_file(path).fingerprint
    restored = await undo_config_save(backend, saved)
    assert path.read_text() == original and restored.text == original
    assert json.loads((home / "config.json.bak").read_text())["sandbox_defaults"]["cpus"] == 3


async def test_save_refuses_a_changed_file_an_invalid_text_and_read_only(home: Path) -> None:
    backend = LocalBackend.lazy()
    path = backend.config_path
    path.write_text("{}\n")
    loaded = read_config_file(path)
    path.write_text('{"metrics": {"capacity": 1}}\n')
    with pytest.raises(ConfigConflictError) as conflict:
        save_config_text(backend, '{"home": "/x"}\n', expected_fingerprint=expected_fingerprint_of(loaded))
    assert conflict.value.current_text == '{"metrics": {"capacity": 1}}\n'
    with pytest.raises(ConfigParseError) as invalid:
        save_config_text(backend, '{"sandbox_defaults": {"cpus": -1}}', expected_fingerprint=None)
    assert invalid.value.key_path == "sandbox_defaults.cpus" and invalid.value.line == 1
    with pytest.raises(ConfigParseError, match="no credential source"):
        save_config_text(backend, '{"registries": {"hosts": {"h": {"auth": {"username": "u"}}}}}',
                         expected_fingerprint=None)
    with pytest.raises(ReadOnlyError, match="save config"):
        save_config_text(LocalBackend.lazy(read_only=True), "{}\n", expected_fingerprint=None)
    assert path.read_text() == '{"metrics": {"capacity": 1}}\n'
    assert not (home / "config.json.bak").exists()


async def test_save_expecting_no_file_conflicts_when_one_appeared(home: Path) -> None:
    backend = LocalBackend.lazy()
    loaded = read_config_file(backend.config_path)
    assert expected_fingerprint_of(loaded) == ""
    backend.config_path.write_text("{}\n")
    with pytest.raises(ConfigConflictError):
        save_config_text(backend, '{"home": "/x"}\n', expected_fingerprint=expected_fingerprint_of(loaded))


async def test_undo_refuses_when_the_file_changed_after_the_save(home: Path) -> None:
    backend = LocalBackend.lazy()
    saved = save_config_text(backend, '{"metrics": {"capacity": 2}}\n', expected_fingerprint="")
    backend.config_path.write_text('{"metrics": {"capacity": 7}}\n')
    with pytest.raises(ConfigConflictError, match="not undone"):
        await undo_config_save(backend, saved)
    assert backend.config_path.read_text() == '{"metrics": {"capacity": 7}}\n'


async def test_msb_config_path_is_honoured(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "etc" / "msb.json"
    monkeypatch.setenv("MSB_CONFIG_PATH", str(elsewhere))
    backend = LocalBackend.lazy()
    save_config_text(backend, '{"home": "/data"}\n', expected_fingerprint="")
    assert json.loads(elsewhere.read_text()) == {"home": "/data"}
    assert not (home / "config.json").exists()


# -- format-preserving rendering -------------------------------------------------------------------

HAND_FORMATTED = """{
  "active_profile": "dev",
  "sandbox_defaults": {"memory_mib": 1024, "oci": {"upper_size_mib": 2048}},
  "registries": {"hosts": {"ghcr.io": {"auth": {"username": "octo", "store": "keyring"}}}},
  "x-list": [1, {"a": "é\\u00e9"}],
  "profiles": {"dev": {"backend": "local"}}
}"""


def test_an_untouched_file_renders_byte_for_byte() -> None:
    doc = ConfigDocument(json.loads(HAND_FORMATTED), HAND_FORMATTED)
    assert doc.render() == HAND_FORMATTED + "\n"


def test_an_edit_changes_only_the_lines_it_touches() -> None:
    doc = ConfigDocument(json.loads(HAND_FORMATTED), HAND_FORMATTED)
    doc.set(("metrics", "capacity"), 64)
    diff = unified_diff(HAND_FORMATTED + "\n", doc.render())
    changed = [line for line in diff.splitlines()[2:] if line[:1] in "+-"]
    assert changed == ['+  "metrics": {', '+    "capacity": 64', '+  },']
    assert '"sandbox_defaults": {"memory_mib": 1024, "oci": {"upper_size_mib": 2048}}' in doc.render()
    assert '"x-list": [1, {"a": "é\\u00e9"}]' in doc.render(), "unchanged values keep their escapes"
    doc.set(("sandbox_defaults", "cpus"), 2)
    rendered = doc.render()
    assert '    "oci": {"upper_size_mib": 2048}' in rendered, "an unchanged child keeps its text"
    assert json.loads(rendered) == doc.data


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([("sandbox_defaults", "cpus"), ("sandbox_defaults", "memory_mib"),
                                           ("metrics", "capacity"), ("registries", "hosts", "ghcr.io", "auth",
                                                                     "store"), ("home",)]),
                          st.one_of(st.none(), st.integers(0, 9), st.text(max_size=3))), max_size=8))
def test_preserving_render_always_parses_back_to_the_document(edits: list[tuple[tuple[str, ...], Any]]) -> None:
    doc = ConfigDocument(json.loads(HAND_FORMATTED), HAND_FORMATTED)
    for path, value in edits:
        if value is None:
            doc.unset(path)
        else:
            doc.set(path, value)
    rendered = doc.render()
    assert json.loads(rendered) == doc.data
    assert list(json.loads(rendered)) == list(doc.data)
    assert rendered.endswith("\n")
