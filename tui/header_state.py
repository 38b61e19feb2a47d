"""What the header shows: the catalog's state, the schema label and the status line fitted to a width."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from textual.content import Content

from backend.db.migrate import SchemaState, SchemaStatus


class BackendState(str, enum.Enum):
    """Where opening the home's catalog stands."""

    LOADING = "loading"
    BUSY = "busy"
    READY = "ready"
    ERROR = "error"


def schema_label(status: SchemaStatus) -> str:
    """A few words for the header: what the catalog's schema is and what that means here."""
    state = status.state
    if status.blocked is not None:
        return status.blocked.summary
    if state is SchemaState.TOO_NEW:
        return "schema newer than supported: read-only"
    if state is SchemaState.UNSUPPORTED:
        reason = status.info.verdict.reason
        return reason.summary if reason is not None else "schema not supported: read-only"
    if state is SchemaState.MISSING:
        return "no catalog yet"
    if state is SchemaState.OUTDATED:
        return "schema outdated (read-only, not migrated)"
    if state is SchemaState.CREATED:
        return "new catalog"
    if state is SchemaState.UPGRADED:
        return "schema upgraded"
    if state is SchemaState.CURRENT and not status.info.has_alembic_table:
        return "schema current (adopted from microsandbox)"
    if state is SchemaState.NOT_OPENED:
        return "opening catalog…"
    return f"schema {state.value}"


@dataclass(frozen=True)
class HeaderState:
    """Everything the header shows, as one immutable value the header watches."""

    home: str
    #: "2/3" when several homes were given (which one this is), else "".
    home_position: str = ""
    demo: bool = False
    read_only: bool = False
    backend_state: BackendState = BackendState.LOADING
    backend_message: str = ""
    #: The catalog error in a few words, with what to do (the message is in the tooltip).
    backend_summary: str = ""
    schema: str = ""
    schema_detail: str = ""
    config_error: str = ""
    config_summary: str = ""

    def status_text(self, width: int | None = None) -> Content:
        """The status line: home, then schema or loading state, then any config problem. Within
        ``width`` cells a catalog and a config problem both stay in sight: the home is shortened or
        left out first (the tooltip has it), then the problems are cut evenly."""
        home = Content.assemble(*(
            [(f"home {self.home_position} ", "$accent")] if self.home_position else []), (self.home, "bold"))
        parts: list[Content] = []
        if self.backend_state is BackendState.LOADING:
            parts.append(Content("opening catalog…"))
        elif self.backend_state is BackendState.BUSY:
            parts.append(Content.styled(f"⧗ {self.backend_message}", "bold $warning"))
        elif self.backend_state is BackendState.ERROR:
            parts.append(Content.styled(f"✖ {self.backend_summary or self.backend_message}", "bold $error"))
        elif self.schema:
            parts.append(Content.styled(self.schema, "bold $warning" if "read-only" in self.schema else ""))
        if self.config_error:
            parts.append(Content.styled(f"⚠ {self.config_summary or 'config.json: ' + self.config_error}",
                                        "bold $warning"))
        return fit_status(home, parts, width)

    def tooltip(self) -> str:
        """The full text behind the status line (it may be cut at 80 columns)."""
        parts = [f"home {self.home_position}: {self.home}" if self.home_position else f"home: {self.home}"]
        if self.backend_message:
            parts.append(self.backend_message)
        if self.schema_detail:
            parts.append(self.schema_detail)
        if self.config_error:
            parts.append(f"config.json: {self.config_error}")
        return "\n".join(parts)


SEPARATOR = Content(" · ")
#: A home shortened to fewer cells than this is left out instead.
MIN_HOME = 8


def _cut_start(content: Content, width: int) -> Content:
    """``content`` in ``width`` cells, keeping its end (a path's last folders say the most)."""
    if content.cell_length <= width:
        return content
    if width <= 1:
        return Content("…")
    kept = content
    while kept.cell_length > width - 1:
        kept = kept[1:]
    return Content.assemble("…", kept)


def fit_status(home: Content, parts: list[Content], width: int | None) -> Content:
    """``home · part · part`` within ``width`` cells (None: as long as it is)."""

    def joined(lead: Content | None, rest: list[Content]) -> Content:
        # Not SEPARATOR.join: Textual 8.2's join counts the separator's cells once too often.
        pieces: list[Content] = []
        for piece in ([lead] if lead is not None else []) + rest:
            pieces += [SEPARATOR, piece] if pieces else [piece]
        return Content.assemble(*pieces)

    line = joined(home, parts)
    if width is None or line.cell_length <= width:
        return line
    if not parts:
        return _cut_start(home, width)
    separators = SEPARATOR.cell_length * len(parts)
    room = width - sum(part.cell_length for part in parts) - separators
    if room >= MIN_HOME:
        return joined(_cut_start(home, room), parts)
    # The home is left out; parts that still do not fit share the width evenly (short ones keep all).
    budget = width - SEPARATOR.cell_length * (len(parts) - 1)
    shares: dict[int, int] = {}
    order = sorted(range(len(parts)), key=lambda i: parts[i].cell_length)
    for done, index in enumerate(order):
        share = min(parts[index].cell_length, budget // (len(parts) - done))
        shares[index] = share
        budget -= share
    return joined(None, [part.truncate(shares[i], ellipsis=True) for i, part in enumerate(parts)])
