"""The latest meta-review: recurring critique, strengths and gaps, and the research overview."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static

from coscientist.errors import CoscientistError
from coscientist.store.repository import Store
from coscientist.tui.messages import LoadFailed
from coscientist.tui.session_views import MetaReviewView, load_meta_review, meta_review_view


class MetaReviewLoaded(Message):
    def __init__(self, view: MetaReviewView) -> None:
        super().__init__()
        self.view = view


class MetaReviewScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("r", "reload", "Reload"),
    ]

    def __init__(self, store: Store, session_id: str) -> None:
        super().__init__()
        self.store = store
        self.session_id = session_id

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="meta-review"):
            yield Static(Text("loading…", style="dim"), id="meta-review-body", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self._load()

    def action_reload(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, group="meta-review")
    def _load(self) -> None:
        try:
            view = load_meta_review(self.store, self.session_id)
        except CoscientistError as exc:
            self.post_message(LoadFailed(str(exc)))
            return
        self.post_message(MetaReviewLoaded(view))

    def on_meta_review_loaded(self, message: MetaReviewLoaded) -> None:
        self.query_one("#meta-review-body", Static).update(meta_review_view(message.view))

    def on_load_failed(self, message: LoadFailed) -> None:
        self.query_one("#meta-review-body", Static).update(Text(message.error, style="red"))
