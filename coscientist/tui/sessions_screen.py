"""The sessions in a store, newest first; enter opens one read-only."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Static

from coscientist.errors import CoscientistError
from coscientist.safe_text import printable
from coscientist.store.repository import Store
from coscientist.tui.data import load_sessions
from coscientist.tui.messages import LoadFailed, SessionChosen, SessionsLoaded
from coscientist.tui.session_screen import STORE_POLL_SECONDS, StoredSessionScreen
from coscientist.tui.widgets import SessionsTable


class SessionsScreen(Screen[None]):
    def __init__(self, store: Store, *, poll_seconds: float = STORE_POLL_SECONDS) -> None:
        super().__init__()
        self.store = store
        self.poll_seconds = poll_seconds
        self._loading = False

    def compose(self) -> ComposeResult:
        title = Text("Sessions in ", style="bold")
        title.append(self.store.url_display, style="")
        yield Static(title, id="sessions-title", markup=False)
        yield SessionsTable(id="sessions")
        yield Static(
            Text("no sessions yet: start one with `coscientist run GOAL`", style="dim"),
            id="sessions-empty",
            markup=False,
        )
        yield Footer()

    def on_mount(self) -> None:
        self.set_interval(self.poll_seconds, self._tick)
        self._tick()

    def _tick(self) -> None:
        if not self._loading:
            self._loading = True
            self._load()

    @work(thread=True, group="sessions")
    def _load(self) -> None:
        try:
            rows = load_sessions(self.store)
        except CoscientistError as exc:
            self.post_message(LoadFailed(str(exc)))
            return
        self.post_message(SessionsLoaded(rows))

    def on_sessions_loaded(self, message: SessionsLoaded) -> None:
        self._loading = False
        self.query_one(SessionsTable).show(message.rows)
        self.query_one("#sessions-empty").display = not message.rows

    def on_load_failed(self, message: LoadFailed) -> None:
        self._loading = False
        self.notify(
            printable(message.error), title="cannot read the store", severity="error", markup=False
        )

    def on_session_chosen(self, message: SessionChosen) -> None:
        self.app.push_screen(
            StoredSessionScreen(self.store, message.session_id, poll_seconds=self.poll_seconds)
        )
