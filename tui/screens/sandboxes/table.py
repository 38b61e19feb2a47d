"""``SandboxTable``: the virtual table's columns and cell formatting for sandbox rows."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text

from backend.sandboxes.models import SandboxRow
from tui import clock
from tui.format import age, memory, status_kind, status_label
from tui.widgets.virtual_table import Column, VirtualTable

SANDBOX_COLUMNS: tuple[Column, ...] = (
    Column("name", "NAME", weight=3, min_width=10, sort_key="name"),
    Column("status", "STATUS", width=11, sort_key="status"),
    Column("image", "IMAGE", weight=2, min_width=8),
    Column("cpus", "CPU", width=3, align="right"),
    Column("memory", "MEM", width=5, align="right"),
    Column("mounts", "MNT", width=3, align="right"),
    Column("created", "AGE", width=5, align="right", sort_key="created"),
    Column("note", "NOTE", weight=2, min_width=4),
)


def sandbox_key(row: SandboxRow) -> str:
    """Rows are identified by name (unique in the catalog)."""
    return row.name


class SandboxTable(VirtualTable[SandboxRow]):
    """The sandbox list: status with symbol and colour, age from the UI clock, derived notes."""

    DEFAULT_CSS = """
    SandboxTable {
        & > .sandbox-table--running { color: $success; text-style: bold; }
        & > .sandbox-table--transition { color: $warning; text-style: bold; }
        & > .sandbox-table--idle { color: $text-muted; }
        & > .sandbox-table--crashed { color: $error; text-style: bold; }
        & > .sandbox-table--unknown { color: $secondary; text-style: italic; }
        & > .sandbox-table--note { color: $warning; }
        & > .sandbox-table--problem { color: $error; }
    }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = VirtualTable.COMPONENT_CLASSES | {
        "sandbox-table--running",
        "sandbox-table--transition",
        "sandbox-table--idle",
        "sandbox-table--crashed",
        "sandbox-table--unknown",
        "sandbox-table--note",
        "sandbox-table--problem",
    }

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(SANDBOX_COLUMNS, sandbox_key, id=id)

    def render_cell(self, row: SandboxRow, column: Column) -> Text:
        key = column.key
        if key == "name":
            return Text(row.name + (" ⌁" if row.ephemeral else ""))
        if key == "status":
            style = self.get_component_rich_style(f"sandbox-table--{status_kind(row.status)}")
            return Text(status_label(row.status), style=style)
        if key == "image":
            return Text(row.image)
        if key == "cpus":
            return Text("-" if row.cpus is None else str(row.cpus))
        if key == "memory":
            return Text(memory(row.memory_mib))
        if key == "mounts":
            return Text(str(len(row.mounts)))
        if key == "created":
            return Text(age(row.created_at, clock.now()))
        if key == "note":
            if row.problems:
                style = self.get_component_rich_style("sandbox-table--problem")
                return Text(f"⚠ {row.problems[0]}", style=style)
            if row.note:
                return Text(row.note, style=self.get_component_rich_style("sandbox-table--note"))
            return Text("")
        return Text("")
