"""Modals for steering the method: an item for the research plan, an observation."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

PLAN_FIELDS = ("preference", "constraint", "attribute", "out of scope")


class PlanItemScreen(ModalScreen[tuple[str, str] | None]):
    """One input per kind of plan item; enter in one adds its text as that kind."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(id="edit-box"):
            yield Static(Text("Add to the research plan", style="bold"), markup=False)
            for name in PLAN_FIELDS:
                yield Input(placeholder=f"a {name}", id=f"plan-{name.replace(' ', '-')}")
            yield Static(
                Text("enter adds the line you typed in · escape cancels", style="dim"),
                markup=False,
            )

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        field = (event.input.id or "").removeprefix("plan-").replace("-", " ")
        self.dismiss((field, event.value))

    def action_cancel(self) -> None:
        self.dismiss(None)


class ObservationScreen(ModalScreen[str | None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(id="edit-box"):
            yield Static(Text("An observation", style="bold"), markup=False)
            yield Input(placeholder="a finding the hypotheses should explain", id="observation")
            yield Static(
                Text("enter adds it for observation reviews · escape cancels", style="dim"),
                markup=False,
            )

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
