"""The sandbox list's actions on the selected row: copy its name or JSON, and the guarded remove."""

from __future__ import annotations

from textual import on, work

from backend.errors import BackendError
from backend.sandboxes.models import ACTIVE_STATUSES, SandboxDetail, SandboxRow
from tui.guard import mutating
from tui.modals.confirm import ConfirmModal
from tui.screens.mode import ModeScreen
from tui.screens.sandboxes.detail import SandboxDetailPanel
from tui.screens.sandboxes.messages import SandboxRemoved
from tui.screens.sandboxes.support import inspect_json
from tui.screens.sandboxes.table import SandboxTable


class SandboxActions(ModeScreen):
    """Copy and remove for :class:`~tui.screens.sandboxes.screen.SandboxListScreen` (its base)."""

    @property
    def table(self) -> SandboxTable:
        """The virtual table."""
        return self.query_one(SandboxTable)

    def load_list(self, keep_position: bool = False) -> object:
        """Count and show the rows again (the list screen's worker)."""
        raise NotImplementedError

    # -- copy and remove ------------------------------------------------------------------------

    def _selected(self) -> SandboxRow | None:
        row = self.table.selected_row
        if row is None:
            self.notify("No sandbox selected.", timeout=2)
        return row

    def action_copy_name(self) -> None:
        """Copy the selected sandbox's name."""
        row = self._selected()
        if row is not None:
            self.app.copy_to_clipboard_text(row.name, f"name {row.name!r}")

    def action_copy_json(self) -> None:
        """Copy the selected sandbox as ``msb inspect`` JSON."""
        row = self._selected()
        if row is None:
            return
        panel = self.query_one(SandboxDetailPanel)
        detail = panel.detail if panel.detail is not None and panel.detail.row.name == row.name else None
        self.app.copy_to_clipboard_text(inspect_json(row, detail), f"{row.name} as JSON")

    @mutating("remove sandbox")
    def action_remove(self) -> None:
        """Remove the selected sandbox after the operator types its name."""
        row = self._selected()
        if row is None:
            return
        if row.status in ACTIVE_STATUSES:
            self.notify(
                f"cannot remove sandbox '{row.name}': it is {row.status.lower()}. Stop it first "
                f"(msb stop {row.name}).",
                title="Sandbox running",
                severity="warning",
            )
            return
        panel = self.query_one(SandboxDetailPanel)
        detail = panel.detail if panel.detail is not None and panel.detail.row.name == row.name else None
        self.app.push_screen(
            ConfirmModal(
                f"Remove sandbox {row.name}?",
                self._removal_lines(row, detail),
                "Remove",
                typed_name=row.name,
            ),
            lambda confirmed: self._remove_confirmed(row.name, confirmed),
        )

    def _removal_lines(self, row: SandboxRow, detail: SandboxDetail | None) -> list[str]:
        runs = f"{len(detail.runs)} run record(s), " if detail is not None else "its run records, "
        folder = f"sandboxes/{row.name}/"
        lines = [
            f"• delete the catalog row of '{row.name}' (status {row.status.lower()}) with {runs}its rootfs pin",
            f"• delete its folder {folder} (logs, scripts, writable layer)",
        ]
        named = sorted({m.source for m in row.mounts if m.kind == "Named"})
        if named:
            lines.append(f"• keep the volumes it mounts: {', '.join(named)}")
        lines.append("This cannot be undone.")
        return lines

    def _remove_confirmed(self, name: str, confirmed: bool | None) -> None:
        if confirmed:
            self.remove_sandbox(name)

    @work(exclusive=True, group="sandbox-remove", exit_on_error=False)
    async def remove_sandbox(self, name: str) -> None:
        """Remove ``name`` through the backend (which re-checks status and read-only)."""
        try:
            await self.backend.sandboxes().remove(name)
        except BackendError as exc:
            self.post_message(SandboxRemoved(name, exc))
            return
        self.post_message(SandboxRemoved(name, None))

    @on(SandboxRemoved)
    def _sandbox_removed(self, event: SandboxRemoved) -> None:
        if event.error is not None:
            self.notify(event.error.message, title=event.error.title, severity="error")
            return
        self.notify(f"Removed sandbox {event.name}", timeout=3)
        self.load_list(keep_position=True)
