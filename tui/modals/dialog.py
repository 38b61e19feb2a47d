"""``Dialog[T]``: the base of every dialog: the centred frame and the Esc/Cancel behaviour.

A dialog composes its frame as a container with the ``dialog-frame`` class (sized and coloured by
its own ``DEFAULT_CSS`` where it differs from the default here) and a Cancel button with id
``cancel``. Esc and that button dismiss with the dialog's ``cancel_result``; destructive dialogs
focus Cancel first, so the default is always to do nothing.
"""

from __future__ import annotations

from typing import ClassVar, TypeVar

from textual import on
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import Button

T = TypeVar("T")


class Dialog(ModalScreen[T]):
    """A modal dialog that dismisses with ``cancel_result`` on Esc or its Cancel button."""

    DEFAULT_CSS = """
    Dialog {
        align: center middle;
        & > .dialog-frame {
            width: 72;
            max-width: 100%;
            height: auto;
            max-height: 100%;
            border: thick $primary;
            background: $surface;
            padding: 0 1;
        }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="dialog.cancel", tooltip="Close without doing anything"),
    ]

    def __init__(self, cancel_result: T) -> None:
        super().__init__()
        #: What the dialog dismisses with when cancelled.
        self.cancel_result = cancel_result

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_cancel()

    def action_cancel(self) -> None:
        """Close without doing anything."""
        self.dismiss(self.cancel_result)
