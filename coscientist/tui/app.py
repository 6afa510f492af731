"""The two applications: watch and steer a run (`RunApp`), browse a store (`BrowseApp`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType

from coscientist.store.repository import Store
from coscientist.tui.chat_screen import Conversation, SessionConversation
from coscientist.tui.live import LiveSessionScreen
from coscientist.tui.session_screen import STORE_POLL_SECONDS, StoredSessionScreen
from coscientist.tui.sessions_screen import SessionsScreen

if TYPE_CHECKING:
    from coscientist.config import Limits
    from coscientist.session import Session


class CoscientistApp(App[None]):
    CSS_PATH = "coscientist.tcss"  # beside this module, shipped as package data
    TITLE = "coscientist"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("q", "quit", "Quit")]
    conversation: Conversation | None = None  # how the chat asks questions; None: it cannot


class RunApp(CoscientistApp):
    """Runs one session live; quitting stops the run cleanly first."""

    def __init__(self, session: Session, limits: Limits) -> None:
        super().__init__()
        self.live = LiveSessionScreen(session, limits)
        self.conversation = SessionConversation(lambda _id: session)

    def on_mount(self) -> None:
        self.push_screen(self.live)

    async def action_quit(self) -> None:
        self.live.request_quit()


class BrowseApp(CoscientistApp):
    """Sessions in a store; a session opened here is read-only and refreshed from the store."""

    def __init__(
        self,
        store: Store,
        session_id: str | None = None,
        *,
        poll_seconds: float = STORE_POLL_SECONDS,
        conversation: Conversation | None = None,
    ) -> None:
        super().__init__()
        self.conversation = conversation
        self.store = store
        self.open_session = session_id
        self.poll_seconds = poll_seconds

    def on_mount(self) -> None:
        self.push_screen(SessionsScreen(self.store, poll_seconds=self.poll_seconds))
        if self.open_session is not None:
            self.push_screen(
                StoredSessionScreen(self.store, self.open_session, poll_seconds=self.poll_seconds)
            )
