"""The session's method on one page: research plan, safety, Specific Aims, statuses, reviews.

Read from the store in a worker thread; `e` adds to the plan and `o` adds an
observation, through the hooks the session screen that opened it provides.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from coscientist.errors import CoscientistError
from coscientist.store.repository import Store
from coscientist.tui import render
from coscientist.tui.data import load_method
from coscientist.tui.edit_dialogs import ObservationScreen, PlanItemScreen
from coscientist.tui.messages import LoadFailed, MethodLoaded

PlanEdit = Callable[[str, str], None]  # (plan field, text)
Observe = Callable[[str], None]


class MethodScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("r", "reload", "Reload"),
        Binding("e", "edit_plan", "Add to plan"),
        Binding("o", "observe", "Add observation"),
    ]

    def __init__(
        self, store: Store, session_id: str, *, edit_plan: PlanEdit, observe: Observe
    ) -> None:
        super().__init__()
        self.store = store
        self.session_id = session_id
        self._edit_plan = edit_plan
        self._observe = observe

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="method"):
            yield Static(Text("loading…", style="dim"), id="method-body", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self._load()

    def action_reload(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, group="method")
    def _load(self) -> None:
        try:
            view = load_method(self.store, self.session_id)
        except CoscientistError as exc:
            self.post_message(LoadFailed(str(exc)))
            return
        self.post_message(MethodLoaded(view))

    def on_method_loaded(self, message: MethodLoaded) -> None:
        self.query_one("#method-body", Static).update(render.method_view(message.view))

    def on_load_failed(self, message: LoadFailed) -> None:
        self.query_one("#method-body", Static).update(Text(message.error, style="red"))

    def action_edit_plan(self) -> None:
        self.app.push_screen(PlanItemScreen(), self._plan_item)

    def action_observe(self) -> None:
        self.app.push_screen(ObservationScreen(), self._observation)

    def _plan_item(self, given: tuple[str, str] | None) -> None:
        if given is None or not given[1].strip():
            return
        try:
            self._edit_plan(*given)
        except CoscientistError as exc:
            self.notify(str(exc), severity="error")
            return
        self.notify(f"{given[0]} added: tasks that start now use the new plan")
        self._load()

    def _observation(self, text: str | None) -> None:
        if text is None or not text.strip():
            return
        try:
            self._observe(text)
        except CoscientistError as exc:
            self.notify(str(exc), severity="error")
            return
        self.notify("observation added")
        self._load()
