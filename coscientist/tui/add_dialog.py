"""A modal asking for the scientist's own hypothesis; dismissed with the text, or None if cancelled."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class AddHypothesisScreen(ModalScreen[str | None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(id="add-box"):
            yield Static(Text("Your hypothesis", style="bold"), markup=False)
            yield Input(
                placeholder="one or more sentences; the first becomes its title", id="add-text"
            )
            yield Static(
                Text("enter adds it to the tournament · escape cancels", style="dim"), markup=False
            )

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
