"""Config editor, form flows: edit a number and save, invalid values, reset, registry hosts."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, Switch

from tests.tui.config_editor_helpers import SAMPLE, editor, make_app, read_json, row, settle, type_into
from tui.screens.config.hosts import ConfigHostsPane
from tui.screens.config.modals import ConfigDiffModal, HostNameModal


async def test_change_a_number_and_save_keeps_unknown_keys_in_order(home: Path) -> None:
    config = home / "config.json"
    config.write_text(SAMPLE)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await editor(pilot)
        assert screen.view == "form"
        await type_into(pilot, screen, ("sandbox_defaults", "cpus"), "4")
        cpus = row(screen, "sandbox_defaults", "cpus")
        assert "-invalid" not in cpus.classes
        assert screen.doc is not None and screen.doc.get(("sandbox_defaults", "cpus")) == 4
        await pilot.press("ctrl+s")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, ConfigDiffModal)
        assert any(c.path == ("sandbox_defaults", "cpus") for c in modal.changes)
        assert "microsandbox 0.5.x does not read this" in [n.note for n in modal.notes]
        assert '+    "cpus": 4,' in modal.diff
        await pilot.click("#confirm")
        await settle(pilot)
        assert app.screen is screen
    saved = read_json(config)
    assert list(saved) == ["active_profile", "sandbox_defaults", "x-custom", "registries", "profiles"]
    assert list(saved["sandbox_defaults"]) == ["cpus", "memory_mib", "oci"]
    assert saved["sandbox_defaults"]["cpus"] == 4
    assert saved["x-custom"] == {"keep": True} and saved["profiles"] == {"dev": {"backend": "local"}}
    assert list(saved["registries"]["hosts"]) == ["ghcr.io", "localhost:5000"]
    assert (home / "config.json.bak").read_text() == SAMPLE


async def test_cancel_in_the_diff_writes_nothing(home: Path) -> None:
    config = home / "config.json"
    config.write_text(SAMPLE)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await editor(pilot)
        await type_into(pilot, screen, ("metrics", "capacity"), "2048")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ConfigDiffModal)
        assert any("stop every sandbox" in note.note for note in app.screen.notes)
        await pilot.press("escape")
        await settle(pilot)
        assert screen.unsaved
    assert config.read_text() == SAMPLE
    assert not (home / "config.json.bak").exists()


async def test_an_invalid_value_shows_on_the_field_and_blocks_saving(home: Path) -> None:
    config = home / "config.json"
    config.write_text(SAMPLE)
    app = make_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        screen = await editor(pilot)
        await type_into(pilot, screen, ("sandbox_defaults", "cpus"), "300")
        cpus = row(screen, "sandbox_defaults", "cpus")
        assert "-invalid" in cpus.classes
        assert "less than or equal to 255" in str(cpus.query_one(".cfg-issue").render())
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen, "no diff dialog while a field is invalid"
        assert any("Not saved" in (n.title or "") for n in app._notifications)
        await type_into(pilot, screen, ("sandbox_defaults", "cpus"), "abc")
        assert "valid integer" in str(cpus.query_one(".cfg-issue").render())
        await type_into(pilot, screen, ("sandbox_defaults", "cpus"), "2")
        assert "-invalid" not in cpus.classes and screen.unsaved
        await type_into(pilot, screen, ("sandbox_defaults", "cpus"), "1")
        assert screen.doc is not None and not screen.doc.is_set(("sandbox_defaults", "cpus"))
        assert not screen.unsaved, "typing the default into a key the file lacks leaves the file alone"
    assert config.read_text() == SAMPLE


async def test_reset_removes_the_key_instead_of_writing_the_default(home: Path) -> None:
    config = home / "config.json"
    config.write_text(SAMPLE)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await editor(pilot)
        memory = row(screen, "sandbox_defaults", "memory_mib")
        assert str(memory.query_one(".cfg-marker").render()) == "set"
        screen.query_one("#cfg-form").show_path(("sandbox_defaults", "memory_mib"))  # type: ignore[attr-defined]
        await pilot.pause()
        await pilot.click(f"#{memory.id} .cfg-reset")
        await settle(pilot)
        assert str(memory.query_one(".cfg-marker").render()) == "default"
        editor_input = memory.editor
        assert isinstance(editor_input, Input) and editor_input.value == "512"
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.click("#confirm")
        await settle(pilot)
    saved = read_json(config)
    assert "memory_mib" not in saved["sandbox_defaults"]
    assert saved["sandbox_defaults"] == {"oci": {"upper_size_mib": 2048}}


async def test_add_a_host_with_auth_and_remove_another(home: Path) -> None:
    config = home / "config.json"
    config.write_text(SAMPLE)
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await editor(pilot)
        screen.query_one("#cfg-tabs").active = "cfg-pane-registries"  # type: ignore[attr-defined]
        await pilot.pause()
        pane = screen.query_one(ConfigHostsPane)
        await pilot.click("#cfg-host-add")
        await settle(pilot)
        assert isinstance(app.screen, HostNameModal)
        name = app.screen.query_one(Input)
        name.value = "ghcr.io"
        await pilot.pause()
        assert app.screen.query_one("#confirm").disabled, "a duplicate name is refused"
        assert "already" in str(app.screen.query_one("#cfg-host-error").render())
        name.value = "quay.io"
        await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)
        assert pane.selected_host == "quay.io"
        auth = row(screen, "registries", "hosts", "quay.io", "auth")
        switch = auth.editor
        assert isinstance(switch, Switch)
        switch.value = True
        await settle(pilot)
        errors = {issue.where for issue in screen.issues.values() if issue.severity == "error"}
        assert 'registries.hosts["quay.io"].auth' in errors
        assert "exactly one" in str(auth.query_one(".cfg-issue").render())
        await type_into(pilot, screen, ("registries", "hosts", "quay.io", "auth", "username"), "bot")
        await type_into(pilot, screen, ("registries", "hosts", "quay.io", "auth", "password_env"), "TOK")
        assert not [i for i in screen.issues.values() if i.severity == "error"]
        pane.selected_host = "ghcr.io"
        await pilot.click("#cfg-host-remove")
        await settle(pilot)
        assert screen.doc is not None and screen.doc.hosts() == ["localhost:5000", "quay.io"]
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.click("#confirm")
        await settle(pilot)
    hosts = read_json(config)["registries"]["hosts"]
    assert list(hosts) == ["localhost:5000", "quay.io"]
    assert hosts["quay.io"] == {"auth": {"username": "bot", "password_env": "TOK"}}
    assert hosts["localhost:5000"] == {"auth": None, "insecure": True}


async def test_rename_a_host_keeps_its_place_and_settings(home: Path) -> None:
    config = home / "config.json"
    config.write_text(SAMPLE)
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await editor(pilot)
        screen.query_one("#cfg-tabs").active = "cfg-pane-registries"  # type: ignore[attr-defined]
        await pilot.pause()
        await pilot.click("#cfg-host-rename")
        await settle(pilot)
        assert isinstance(app.screen, HostNameModal)
        app.screen.query_one(Input).value = "ghcr.example.com"
        await pilot.press("enter")
        await settle(pilot)
        assert screen.doc is not None
        assert screen.doc.hosts() == ["ghcr.example.com", "localhost:5000"]
        assert screen.doc.get(("registries", "hosts", "ghcr.example.com", "auth", "username")) == "octo"


async def test_a_missing_file_is_created_with_only_the_edited_key(home: Path) -> None:
    config = home / "config.json"
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await editor(pilot)
        assert screen.view == "form"
        await type_into(pilot, screen, ("sandbox_defaults", "oci", "upper_size_mib"), "8192")
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.click("#confirm")
        await settle(pilot)
    assert read_json(config) == {"sandbox_defaults": {"oci": {"upper_size_mib": 8192}}}
