"""One hypothesis in full: statement, rationale, predictions, experiment, reviews, parents."""

from __future__ import annotations

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
from coscientist.tui.data import load_detail
from coscientist.tui.messages import DetailLoaded, LoadFailed


class HypothesisScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("r", "reload", "Reload"),
    ]

    def __init__(self, store: Store, session_id: str, hypothesis_id: str) -> None:
        super().__init__()
        self.store = store
        self.session_id = session_id
        self.hypothesis_id = hypothesis_id

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="detail"):
            yield Static(Text("loading…", style="dim"), id="detail-body", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self._load()

    def action_reload(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, group="detail")
    def _load(self) -> None:
        try:
            detail = load_detail(self.store, self.session_id, self.hypothesis_id)
        except CoscientistError as exc:
            self.post_message(LoadFailed(str(exc)))
            return
        self.post_message(DetailLoaded(detail))

    def on_detail_loaded(self, message: DetailLoaded) -> None:
        self.query_one("#detail-body", Static).update(render.detail(message.detail))

    def on_load_failed(self, message: LoadFailed) -> None:
        self.query_one("#detail-body", Static).update(Text(message.error, style="red"))
