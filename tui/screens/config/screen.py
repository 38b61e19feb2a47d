"""``ConfigEditorScreen``: edit config.json in a form, preview the diff, save atomically, undo.

The screen holds a :class:`~backend.config.document.ConfigDocument` (the sparse raw JSON being edited)
and shows it in a :class:`~tui.screens.config.form.ConfigForm`. A file that does not parse opens in
the repair view (:class:`~tui.screens.config.repair.ConfigRawEditor`). File I/O runs in workers;
their results come back as messages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Static

from backend.config.changes import (
    SavedConfig,
    document_changes,
    expected_fingerprint_of,
    impact_notes,
    load_config,
    save_config,
    undo_config_save,
    unified_diff,
)
from backend.config.document import MISSING, ConfigDocument, Issue, KeyPath, spec_for
from backend.config.file import ConfigFile
from backend.errors import BackendError, ConfigConflictError
from backend.jsonio import JsonError, loads_row
from tui.first_frame import first_data_shown
from tui.guard import mutating
from tui.header_state import BackendState
from tui.modals.confirm import ConfirmModal
from tui.screens.config.field import ConfigFieldRow
from tui.screens.config.form import ConfigForm
from tui.screens.config.hosts import ConfigHostsPane
from tui.screens.config.messages import ConfigFileChanged, ConfigLoaded, ConfigSaved
from tui.screens.config.modals import ConfigConflictModal, ConfigDiffModal
from tui.screens.config.repair import ConfigRawEditor
from tui.screens.config.status import ConfigStatusLine, ConfigTitleLine
from tui.screens.mode import ModeScreen

View = Literal["loading", "form", "raw", "repair", "error"]


class ConfigEditorScreen(ModeScreen):
    """The config.json editor: form, validation as you type, diff preview, atomic save and undo."""

    CSS_PATH = "screen.tcss"
    HELP_TITLE = "Help: config editor"
    HELP = (
        "Edit config.json section by section. 'set' marks keys in the file, 'default' keys that fall back "
        "to microsandbox's default; reset removes a key from the file. Errors show under the field and "
        "block saving. Saving shows the diff and its impact first, writes atomically, keeps unknown keys "
        "and their order, and keeps the previous file as config.json.bak (u undoes the last save)."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", id="config.save",
                tooltip="Preview the diff, then save config.json atomically"),
        Binding("u", "undo_save", "Undo save", id="config.undo",
                tooltip="Put back the file as it was before the last save"),
        Binding("ctrl+r", "reload", "Reload", id="config.reload", tooltip="Read config.json from disk again"),
        Binding("f2", "raw", "Raw JSON", id="config.raw", tooltip="Edit the whole file as JSON text"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.view: View = "loading"
        self.loaded: ConfigFile | None = None
        self.doc: ConfigDocument | None = None
        self.issues: dict[KeyPath, Issue] = {}
        self.last_save: SavedConfig | None = None
        self._auth_stash: dict[KeyPath, Any] = {}

    def compose(self) -> ComposeResult:
        yield ConfigTitleLine(id="cfg-title")
        yield Vertical(Static("Reading config.json…", id="cfg-loading"), id="cfg-body")
        yield ConfigStatusLine(id="cfg-status")

    def on_mount(self) -> None:
        self.load()
        self.follow_backend_state(init=False)

    def backend_state_changed(self, state: BackendState) -> None:
        # The catalog may turn out newer than this tool once opened: the home is then read-only.
        self.call_next(self._read_only_may_have_changed)

    async def _read_only_may_have_changed(self) -> None:
        form = self._form()
        if form is not None and form.read_only != self.read_only:
            await self._show_body("form", ConfigForm(read_only=self.read_only))
            await self._refresh_form()
        self._update_chrome()

    # -- state ------------------------------------------------------------------------------------

    @property
    def read_only(self) -> bool:
        """True when the home is read-only: everything shows, nothing saves."""
        return self.backend.read_only

    @property
    def path(self) -> Path:
        """The config file (``MSB_CONFIG_PATH`` or ``<home>/config.json``)."""
        return self.backend.config_path

    @property
    def unsaved(self) -> bool:
        """True when leaving now would lose edits."""
        raw = self._raw_editor()
        if raw is not None and raw.modified:
            return True
        return self.view in ("form", "raw") and self.doc is not None and self.doc.dirty

    def _raw_editor(self) -> ConfigRawEditor | None:
        found = self.query(ConfigRawEditor)
        return found.first() if found else None

    def _form(self) -> ConfigForm | None:
        found = self.query(ConfigForm)
        return found.first() if found else None

    # -- loading and showing ------------------------------------------------------------------------

    @work(exclusive=True, group="config-io", exit_on_error=False)
    async def load(self) -> None:
        """Read config.json in the background."""
        self.post_message(ConfigLoaded(await load_config(self.backend)))

    @on(ConfigLoaded)
    async def _loaded(self, message: ConfigLoaded) -> None:
        await self.show_file(message.file)
        first_data_shown(self)

    async def show_file(self, file: ConfigFile) -> None:
        """Show ``file``: the form when it is a JSON object, else the repair or error view."""
        self.loaded = file
        self._auth_stash.clear()
        parsed: Any = file.document
        if file.error is not None and file.text is not None:
            try:
                parsed = loads_row(file.text)  # bounded: a file too deep to load is no crash here
            except JsonError:
                parsed = None
        if file.error is not None and file.text is None:
            await self._show_body("error", Static(file.error.message, id="cfg-error", markup=False))
        elif file.exists and not isinstance(parsed, dict):
            assert file.text is not None
            self.doc = None
            intro = ("config.json does not parse, so microsandbox silently uses the defaults. Fix it "
                     "below: saving is possible once it parses and validates.")
            await self._show_body("repair", ConfigRawEditor(file.text, mode="repair", intro=intro,
                                                            read_only=self.read_only))
        else:
            self.doc = ConfigDocument(parsed, file.text)
            form = self._form() if self.view == "form" else None
            if form is None or form.read_only != self.read_only:
                # A fresh form only when needed: after a save or reload the tab and focus stay put.
                await self._show_body("form", ConfigForm(read_only=self.read_only))
                self.query_one("#cfg-tabs Tabs").focus()
            await self._refresh_form()
        self._update_chrome()

    async def _show_body(self, view: View, widget: Any) -> None:
        self.view = view
        body = self.query_one("#cfg-body", Vertical)
        await body.remove_children()
        await body.mount(widget)

    async def _refresh_form(self, *, skip: KeyPath | None = None, select_host: str | None = None) -> None:
        form = self._form()
        if self.doc is None or form is None:
            return
        self.issues = {issue.path: issue for issue in self.doc.issues()}
        await form.sync(self.doc, self.issues, skip=skip, select_host=select_host)
        self._update_chrome()

    def _update_chrome(self) -> None:
        loaded, doc = self.loaded, self.doc
        self.query_one(ConfigTitleLine).show(self.path, exists=loaded.exists if loaded else None,
                                             read_only=self.read_only)
        changes = []
        if self.view == "form" and doc is not None:
            changes = document_changes(doc.base if loaded and loaded.exists else None, doc.data)
        self.query_one(ConfigStatusLine).show(self.view, changes, list(self.issues.values()),
                                              can_undo=self.last_save is not None)
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "undo_save":
            return True if self.last_save is not None and not self.read_only else None
        if action == "raw":
            return True if self.view in ("form",) else None
        return True

    # -- editing --------------------------------------------------------------------------------------

    @on(ConfigFieldRow.ValueEdited)
    async def _value_edited(self, message: ConfigFieldRow.ValueEdited) -> None:
        doc, path, value = self.doc, message.path, message.value
        if doc is None or self.read_only:
            return
        spec = spec_for(path)
        if spec is not None and spec.kind == "toggle":
            current = doc.get(path)
            if value and not isinstance(current, dict):
                doc.set(path, self._auth_stash.pop(path, {"username": ""}))
            elif not value and isinstance(current, dict):
                self._auth_stash[path] = current
                doc.set(path, None)
            await self._refresh_form()
            return
        if spec is not None and value == spec.default and type(value) is type(spec.default) \
                and doc.get(path, source=doc.base) is MISSING:
            doc.unset(path)  # the default typed into a key the file did not have: leave the key out
        else:
            doc.set(path, value)
        await self._refresh_form(skip=path)

    @on(ConfigFieldRow.ResetRequested)
    async def _reset(self, message: ConfigFieldRow.ResetRequested) -> None:
        if self.doc is not None and not self.read_only:
            self.doc.unset(message.path)
            await self._refresh_form()

    @on(ConfigHostsPane.SelectionChanged)
    async def _host_selected(self, message: ConfigHostsPane.SelectionChanged) -> None:
        await self._refresh_form(select_host=message.host)

    @on(ConfigHostsPane.HostNamed)
    async def _host_named(self, message: ConfigHostsPane.HostNamed) -> None:
        if self.doc is None or self.read_only:
            return
        if message.old is None:
            self.doc.add_host(message.name)
        else:
            self.doc.rename_host(message.old, message.name)
        await self._refresh_form(select_host=message.name)

    @on(ConfigHostsPane.RemoveRequested)
    async def _remove_host(self, message: ConfigHostsPane.RemoveRequested) -> None:
        if self.doc is not None and not self.read_only:
            self.doc.remove_host(message.host)
            await self._refresh_form()
            self.notify(f"Removed {message.host} from the form; saving writes it.", timeout=4)

    # -- raw JSON --------------------------------------------------------------------------------------

    async def action_raw(self) -> None:
        """Edit the document as JSON text; Apply brings it back into the form."""
        if self.view != "form" or self.doc is None:
            return
        intro = "The whole file as JSON. Apply returns to the form; unknown keys stay as written."
        await self._show_body("raw", ConfigRawEditor(self.doc.render(), mode="raw", intro=intro,
                                                     read_only=self.read_only))
        self._update_chrome()

    @on(ConfigRawEditor.ApplyRequested)
    async def _apply_raw(self, message: ConfigRawEditor.ApplyRequested) -> None:
        if self.doc is None or message.check.document is None:
            return
        self.doc.data = message.check.document
        await self._show_body("form", ConfigForm(read_only=self.read_only))
        await self._refresh_form()

    @on(ConfigRawEditor.LeaveRequested)
    async def _leave_raw(self) -> None:
        if self.view == "raw" and self.doc is not None:
            await self._show_body("form", ConfigForm(read_only=self.read_only))
            await self._refresh_form()
        else:
            self.action_reload()

    @on(ConfigRawEditor.SaveRequested)
    def _save_repaired(self) -> None:
        self.action_save()

    # -- saving, undo, reload, leaving ---------------------------------------------------------------

    @mutating("save config")
    def action_save(self) -> None:
        """Check, show the diff and impact, and save atomically after confirmation."""
        if self.loaded is None or self.view in ("loading", "error"):
            return
        raw = self._raw_editor()
        if raw is not None:
            if not raw.check.ok:
                self.notify(f"Not saved: {raw.check.summary}", title="Fix the JSON first", severity="error")
                return
            text, after = raw.text, raw.check.document or {}
        else:
            assert self.doc is not None
            errors = self.doc.errors()
            if errors:
                self.notify(f"{errors[0].where}: {errors[0].message}", severity="error",
                            title=f"Not saved: {len(errors)} error{'s' if len(errors) != 1 else ''}")
                form = self._form()
                if form is not None:
                    form.show_path(errors[0].path)
                return
            text, after = self.doc.render(), self.doc.data
        before = self.doc.base if self.doc is not None and self.loaded.exists else None
        if text == self.loaded.text:
            self.notify("No changes to save.", timeout=3)
            return
        changes = document_changes(before, after)
        self._save_flow(text, changes, expected_fingerprint_of(self.loaded))

    @work(exclusive=True, group="config-save", exit_on_error=False)
    async def _save_flow(self, text: str, changes: list[Any], expected: str) -> None:
        loaded = self.loaded
        assert loaded is not None
        diff = unified_diff(loaded.text if loaded.exists else None, text)
        title = "Save config.json?" if self.view != "repair" else \
            "Save the repaired config.json? (changes are against the defaults microsandbox uses now)"
        if not await self.app.push_screen_wait(ConfigDiffModal(changes, impact_notes(changes), diff, title=title)):
            return
        while True:
            try:
                saved = await save_config(self.backend, text, expected_fingerprint=expected)
            except ConfigConflictError as exc:
                choice = await self.app.push_screen_wait(ConfigConflictModal(unified_diff(exc.current_text, text)))
                if choice == "overwrite":
                    expected = (await load_config(self.backend)).fingerprint or ""
                    continue
                if choice == "reload":
                    self.post_message(ConfigLoaded(await load_config(self.backend)))
                return
            except (BackendError, OSError) as exc:
                self.notify(str(exc), title=getattr(exc, "title", "Config not saved"), severity="error")
                return
            self.post_message(ConfigSaved(saved.file, saved))
            return

    @on(ConfigSaved)
    async def _saved(self, message: ConfigSaved) -> None:
        self.last_save = message.saved
        await self.show_file(message.file)
        name = self.path.name
        if message.undone:
            self.notify(f"Undid the save: {name} is back as it was; the undone version is {name}.bak.",
                        title="Undone", timeout=6)
        else:
            self.notify(f"Saved {name}; the previous version is {name}.bak. Press u to undo.",
                        title="Saved", timeout=6)
        self.post_message(ConfigFileChanged(self.path))
        tabs = self.query("#cfg-tabs Tabs")
        if tabs:
            tabs.first().focus()  # off the inputs, so that u (undo) is a key, not a letter

    @mutating("undo the config save")
    def action_undo_save(self) -> None:
        """Put back the file as it was before this session's last save."""
        if self.last_save is None:
            self.notify("Nothing to undo: no save in this session.", timeout=3)
            return
        self._undo_flow(self.last_save)

    @work(exclusive=True, group="config-save", exit_on_error=False)
    async def _undo_flow(self, saved: SavedConfig) -> None:
        lines = [f"{self.path.name} goes back to how it was before your last save;",
                 f"the version being undone is kept as {self.path.name}.bak."]
        if self.unsaved:
            lines.append("Your unsaved edits in the form are dropped.")
        if not await self.app.push_screen_wait(ConfirmModal("Undo the last save?", lines, "Undo save")):
            return
        try:
            file = await undo_config_save(self.backend, saved)
        except (BackendError, OSError) as exc:
            self.notify(str(exc), title=getattr(exc, "title", "Not undone"), severity="error")
            return
        message = ConfigSaved(file, None, undone=True)
        self.post_message(message)

    @work(exclusive=True, group="config-save", exit_on_error=False)
    async def action_reload(self) -> None:
        """Read config.json again (asks first when edits would be lost)."""
        if self.unsaved and not await self.app.push_screen_wait(ConfirmModal(
                "Reload config.json from disk?", ["Your unsaved edits are dropped."], "Reload")):
            return
        self.post_message(ConfigLoaded(await load_config(self.backend)))

    async def confirm_leave(self) -> bool:
        """Called by the app before switching away or quitting: ask when edits would be lost."""
        if not self.unsaved:
            return True
        lines = ["Leaving drops your unsaved edits to config.json."]
        if self.doc is not None and self.view == "form":
            lines += ["  " + change.describe() for change in document_changes(self.doc.base, self.doc.data)[:8]]
        discard: bool = await self.app.push_screen_wait(ConfirmModal("Discard unsaved changes?", lines, "Discard"))
        return discard


__all__ = ["ConfigEditorScreen", "ConfigFileChanged", "ConfigLoaded", "ConfigSaved"]
