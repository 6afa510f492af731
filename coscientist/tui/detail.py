"""One hypothesis in full (statement, reviews, parents) with its matches; enter opens a match."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from coscientist.errors import CoscientistError
from coscientist.store.repository import Store
from coscientist.tui import render
from coscientist.tui.data import Detail, MatchView, load_detail
from coscientist.tui.messages import DetailLoaded, LoadFailed
from coscientist.tui.widgets import KeyedTable


class MatchesTable(KeyedTable):
    """A hypothesis's matches, newest first; enter opens one (turns and verdict)."""

    COLUMNS = ("match", "result", "mode", "opponent")
    BORDER_TITLE = "Matches"

    def show(self, detail: Detail) -> None:
        hid = detail.hypothesis.id
        self.border_title = f"Matches ({len(detail.matches)}): enter opens one"
        self.replace_rows([(m.id, render.match_row(m, hid, detail.titles)) for m in detail.matches])


class MatchScreen(Screen[None]):
    """A match in full: the two hypotheses, the debate's turns, the judge's verdict."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "app.pop_screen", "Back")]

    def __init__(self, view: MatchView) -> None:
        super().__init__()
        self.view = view

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="match"):
            yield Static(render.match_view(self.view), id="match-body", markup=False)
        yield Footer()


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
        self.detail: Detail | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="detail"):
            yield Static(Text("loading…", style="dim"), id="detail-body", markup=False)
        yield MatchesTable(id="matches")
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
        self.detail = message.detail
        self.query_one("#detail-body", Static).update(render.detail(message.detail))
        self.query_one(MatchesTable).show(message.detail)

    def on_load_failed(self, message: LoadFailed) -> None:
        self.query_one("#detail-body", Static).update(Text(message.error, style="red"))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        detail = self.detail
        if detail is None or event.row_key.value is None:
            return
        match = next((m for m in detail.matches if m.id == event.row_key.value), None)
        if match is not None:
            titles = {**detail.titles, detail.hypothesis.id: detail.hypothesis.title}
            self.app.push_screen(MatchScreen(MatchView(match, titles)))
