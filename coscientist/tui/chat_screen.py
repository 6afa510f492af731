"""Talk to the session: every question asked and its answer; `n` asks, `f` applies a follow-up.

The screen never calls a model itself: it hands the question to a
`Conversation` (a Session underneath, coscientist.session.Session.ask) in a
worker and shows what the store then holds. A model that fails is one line in
a notification, and nothing is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar, Protocol

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Input, Static

from coscientist.errors import CoscientistError
from coscientist.safe_text import printable
from coscientist.schemas import Answer
from coscientist.store.repository import Store
from coscientist.tui.messages import LoadFailed
from coscientist.tui.session_views import ChatView, chat_view, load_chat, next_follow_up

if TYPE_CHECKING:
    from coscientist.session import Session


class Conversation(Protocol):
    """How the chat reaches a session: ask a question, apply an answer's follow-up."""

    async def ask(self, session_id: str, question: str) -> Answer: ...

    def apply(self, session_id: str, answer_id: str) -> Answer: ...


class SessionConversation:
    """Through coscientist.session.Session: the session of this run, or one opened by id."""

    def __init__(self, session_of: Callable[[str], Session]) -> None:
        self._session_of = session_of

    async def ask(self, session_id: str, question: str) -> Answer:
        return await self._session_of(session_id).ask(question)

    def apply(self, session_id: str, answer_id: str) -> Answer:
        return self._session_of(session_id).apply_follow_up(answer_id)


class ChatLoaded(Message):
    def __init__(self, view: ChatView) -> None:
        super().__init__()
        self.view = view


class AskScreen(ModalScreen[str | None]):
    """A question about the session; dismissed with its text, or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(id="ask-box"):
            yield Static(Text("Ask the session", style="bold"), markup=False)
            yield Input(
                placeholder="e.g. why is the first one ranked first? what did its debates say?",
                id="ask-text",
            )
            yield Static(
                Text("enter asks · escape cancels", style="dim"),
                markup=False,
            )

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ChatScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("n", "ask", "Ask a question"),
        Binding("f", "apply", "Apply follow-up"),
        Binding("r", "reload", "Reload"),
    ]

    def __init__(self, store: Store, session_id: str, conversation: Conversation | None) -> None:
        super().__init__()
        self.store = store
        self.session_id = session_id
        self.conversation = conversation
        self.view: ChatView | None = None
        self.pending: str | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="chat"):
            yield Static(Text("loading…", style="dim"), id="chat-body", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self._load()

    def action_reload(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, group="chat-load")
    def _load(self) -> None:
        try:
            view = load_chat(self.store, self.session_id, can_ask=self.conversation is not None)
        except CoscientistError as exc:
            self.post_message(LoadFailed(str(exc)))
            return
        self.post_message(ChatLoaded(view))

    def on_chat_loaded(self, message: ChatLoaded) -> None:
        self._show(message.view)

    def on_load_failed(self, message: LoadFailed) -> None:
        self._failed(message.error)

    def _show(self, view: ChatView) -> None:
        self.view = view
        self.query_one("#chat-body", Static).update(chat_view(view, pending=self.pending))
        self.query_one("#chat", VerticalScroll).scroll_end(animate=False)

    def _failed(self, error: str) -> None:
        self.notify(printable(error), severity="error", markup=False)

    # --- asking ----------------------------------------------------------------------------

    def action_ask(self) -> None:
        if self.conversation is None:
            self.notify("this window has no model to ask", severity="warning")
        elif self.pending is not None:
            self.notify("still answering the last question", severity="warning")
        else:
            self.app.push_screen(AskScreen(), self._asked)

    def _asked(self, question: str | None) -> None:
        if question is None or not question.strip() or self.conversation is None:
            return
        self.pending = " ".join(question.split())
        if self.view is not None:
            self._show(self.view)
        self._ask(self.conversation, self.pending)

    @work(exclusive=True, group="chat-ask", exit_on_error=False)
    async def _ask(self, conversation: Conversation, question: str) -> None:
        try:
            answer = await conversation.ask(self.session_id, question)
        except CoscientistError as exc:
            self._failed(f"no answer: {exc}")
        except Exception as exc:  # a bug: said in one line rather than lost in the worker
            self._failed(f"no answer (unexpected error): {type(exc).__name__}: {exc}")
        else:
            self.notify(f"answer {answer.id} stored")
        finally:
            self.pending = None
            self._load()

    # --- follow-ups --------------------------------------------------------------------------

    def action_apply(self) -> None:
        answer = next_follow_up(self.view.answers) if self.view is not None else None
        if self.conversation is None or answer is None:
            self.notify("no follow-up to apply", severity="warning")
            return
        try:
            done = self.conversation.apply(self.session_id, answer.id)
        except CoscientistError as exc:
            self._failed(str(exc))
            return
        self.notify(printable(done.applied or "applied"), markup=False)
        self._load()
