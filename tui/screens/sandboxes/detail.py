"""``SandboxDetailPanel``: tabs with everything about the selected sandbox.

Overview (status, image, resources, ports, labels, env), Config (the stored JSON, highlighted), Mounts
(enter on a named volume opens it in the volume browser), Runs (boot history) and Logs (a tail that
follows). The panel only displays what it is given; the screen loads the detail in a worker.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

from rich.console import RenderableType
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, OptionList, Static, TabbedContent, TabPane, Tabs
from textual.widgets.option_list import Option

from backend.sandboxes.models import MountInfo, SandboxDetail
from tui import clock
from tui.format import age, memory, printable, status_label, timestamp
from tui.screens.sandboxes.log_tail import LogTail


def _relative_to(path: str, base: Path | None) -> str:
    if base is None:
        return path
    try:
        return str(Path(path).relative_to(base))
    except ValueError:
        return path


def overview_renderable(detail: SandboxDetail, home: Path | None = None) -> RenderableType:
    """The Overview tab: a two-column grid of facts."""
    row = detail.row
    now = clock.now()
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")

    def add(label: str, value: str | Text) -> None:
        # Every value may come from a row another tool wrote: no control sequence reaches the terminal,
        # and no bracket is read as markup (a str cell would be).
        if isinstance(value, Text):
            value.plain = printable(value.plain)
            grid.add_row(label, value)
        else:
            grid.add_row(label, Text(printable(value)))

    status = Text(status_label(row.status))
    if row.effective_status and row.effective_status != row.status:
        status.append(f"  (msb would show {row.effective_status.lower()})", style="italic")
    add("Status", status)
    if row.note:
        add("Note", Text(row.note, style="italic"))
    for problem in row.problems:
        add("Problem", Text(f"⚠ {problem}", style="bold"))
    add("Image", f"{row.image}" + (f"  [{row.image_kind}]" if row.image_kind else ""))
    cpus = "-" if row.cpus is None else str(row.cpus)
    add("Resources", f"{cpus} CPU · {memory(row.memory_mib)} memory")
    add("Created", f"{timestamp(row.created_at)} ({age(row.created_at, now)} ago)")
    add("Updated", f"{timestamp(row.updated_at)} ({age(row.updated_at, now)} ago)")
    add("Process", "-" if row.live_pid is None else f"pid {row.live_pid}")
    add("Ephemeral", "yes" if row.ephemeral else "no")
    if row.command:
        add("Command", row.command)
    if detail.workdir:
        add("Workdir", detail.workdir)
    add("Ports", ", ".join(str(p) for p in detail.ports) or "-")
    labels = ", ".join(f"{k}={v}" for k, v in sorted(row.labels.items()))
    add("Labels", labels or "-")
    env = ", ".join(f"{k}={v}" for k, v in detail.env)
    add("Env", env or "-")
    if detail.security_profile:
        add("Security", detail.security_profile)
    folder = _relative_to(detail.sandbox_dir, home)
    add("Folder", folder + ("" if detail.sandbox_dir_exists else "  (missing)"))
    return grid


def config_renderable(detail: SandboxDetail) -> RenderableType:
    """The stored config, pretty-printed and highlighted with the terminal's own colours."""
    if detail.config is None:
        return Text(f"The stored config is not a JSON object; raw text:\n\n{printable(detail.config_text)}")
    text = printable(json.dumps(detail.config, indent=2, ensure_ascii=False))
    return Syntax(text, "json", theme="ansi_dark", background_color="default", word_wrap=False)


def mount_label(mount: MountInfo) -> Text:
    """``volume:data → /data (rw)`` with a hint for named volumes."""
    text = Text(no_wrap=True)
    text.append(mount.display or mount.source, style="bold" if mount.kind == "Named" else "")
    text.append(f" → {mount.guest} ({mount.flags or ('ro' if mount.readonly else 'rw')})")
    if mount.kind == "Named":
        text.append("  ⏎ browse", style="dim")
    text.plain = printable(text.plain)
    return text


RUN_COLUMNS = ("#", "STATUS", "PID", "STARTED", "ENDED", "EXIT", "REASON")


class SandboxDetailPanel(Vertical):
    """The tabs; :meth:`show_detail` fills them, :meth:`show_message` replaces them with a line."""

    DEFAULT_CSS = """
    SandboxDetailPanel {
        height: 1fr;
        border-top: solid $primary;
        & > #detail-message { padding: 0 1; color: $text-muted; height: auto; }
        & TabbedContent { height: 1fr; }
        & TabPane { padding: 0 1; height: 1fr; }
        & #detail-overview, & #detail-config { height: 1fr; }
        & OptionList { height: 1fr; border: none; }
        & DataTable { height: 1fr; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "leave", "Back to list", show=False, id="detail.back"),
    ]

    class VolumeRequested(Message):
        """Enter on a named-volume mount."""

        def __init__(self, volume: str) -> None:
            super().__init__()
            self.volume = volume

    class LeaveRequested(Message):
        """Esc inside the panel: the screen moves focus back to the list."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.detail: SandboxDetail | None = None
        self.home: Path | None = None
        self._tabs_ready = self._tabs_mounting = False
        self._pending: SandboxDetail | None = None

    def compose(self) -> ComposeResult:
        yield Static("Select a sandbox to see its details.", id="detail-message", markup=False)

    def show_message(self, message: str) -> None:
        """Hide the tabs and show one line (loading, gone, error)."""
        self.detail = None
        self._pending = None
        label = self.query_one("#detail-message", Static)
        label.update(message)
        label.display = True
        if self._tabs_ready:
            self.query_one("#detail-tabs").display = False
            self.query_one(LogTail).show(None)

    def show_detail(self, detail: SandboxDetail) -> None:
        """Fill every tab from ``detail``. The active tab, the log tail and (for the same sandbox) the
        highlighted mount and run stay where they are; an unchanged detail changes nothing."""
        if not self._tabs_ready:
            # The tabs cost ~0.2 s to mount, so they are built when first needed: the list draws first.
            if not self._tabs_mounting:
                self._tabs_mounting = True
                self.call_later(self._mount_tabs)
            self._pending = detail
            return
        self._fill(detail)

    async def _mount_tabs(self) -> None:
        tabs = TabbedContent(id="detail-tabs")
        for pane in (
            TabPane("Overview", VerticalScroll(Static(id="overview-body"), id="detail-overview"), id="tab-overview"),
            TabPane("Config", VerticalScroll(Static(id="config-body"), id="detail-config"), id="tab-config"),
            TabPane("Mounts", OptionList(id="mount-list"), id="tab-mounts"),
            TabPane("Runs", DataTable(id="run-table", cursor_type="row", zebra_stripes=False), id="tab-runs"),
            TabPane("Logs", LogTail(id="log-tail"), id="tab-logs"),
        ):
            tabs.compose_add_child(pane)  # what ``with TabbedContent():`` does in a compose method
        tabs.display = False
        await self.mount(tabs)
        self.query_one("#run-table", DataTable).add_columns(*RUN_COLUMNS)
        self._tabs_ready = True
        pending, self._pending = self._pending, None
        if pending is not None:
            self._fill(pending)

    def _fill(self, detail: SandboxDetail) -> None:
        same_sandbox = self.detail is not None and self.detail.row.name == detail.row.name
        if self.detail == detail:
            return
        self.detail = detail
        self.query_one("#detail-message").display = False
        self.query_one("#detail-tabs").display = True
        self.query_one("#overview-body", Static).update(overview_renderable(detail, self.home))
        self.query_one("#config-body", Static).update(config_renderable(detail))
        mounts = self.query_one("#mount-list", OptionList)
        highlighted = mounts.highlighted if same_sandbox else None
        mounts.clear_options()
        if detail.mounts:
            mounts.add_options([
                Option(mount_label(m), id=f"{i}:{m.kind}:{m.source}") for i, m in enumerate(detail.mounts)
            ])
            if highlighted is not None and highlighted < len(detail.mounts):
                mounts.highlighted = highlighted
        else:
            mounts.add_option(Option("No mounts.", disabled=True))
        runs = self.query_one("#run-table", DataTable)
        run_cursor = runs.cursor_row if same_sandbox else 0
        # Columns only ever widen to fit; another sandbox gets fresh ones, sized to its own runs.
        runs.clear(columns=not same_sandbox)
        if not same_sandbox:
            runs.add_columns(*RUN_COLUMNS)
        now = clock.now()
        for run in detail.runs:
            # Text cells: a str cell is read as markup, and the status and reason come from the row.
            runs.add_row(
                str(run.id),
                Text(printable(run.status.lower())),
                "-" if run.pid is None else str(run.pid) + ("" if run.pid_alive is not False else " ✝"),
                f"{age(run.started_at, now)} ago" if run.started_at else "-",
                f"{age(run.terminated_at, now)} ago" if run.terminated_at else "-",
                "-" if run.exit_code is None else str(run.exit_code),
                Text(printable(run.termination_reason or "-")),
            )
        if not detail.runs:
            runs.add_row("-", "no runs recorded", "", "", "", "", "")
        runs.move_cursor(row=min(run_cursor, runs.row_count - 1))
        self.query_one(LogTail).show(detail.row.name)

    def focus_tabs(self) -> None:
        """Move the focus into the panel (its tab strip), if details are shown."""
        if self._tabs_ready and self.query_one("#detail-tabs").display:
            self.query_one(Tabs).focus()

    @on(OptionList.OptionSelected, "#mount-list")
    def _mount_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if self.detail is None or event.option_id is None:
            return
        index = int(event.option_id.split(":", 1)[0])
        mount = self.detail.mounts[index]
        if mount.kind == "Named":
            self.post_message(self.VolumeRequested(mount.source))
        else:
            self.notify(f"{mount.display or mount.source} is not a named volume; only those can be browsed.",
                        timeout=3)

    def action_leave(self) -> None:
        """Back to the list."""
        self.post_message(self.LeaveRequested())
