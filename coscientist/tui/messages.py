"""Typed messages: how workers hand results to screens and widgets talk upward."""

from __future__ import annotations

from textual.message import Message

from coscientist.schemas import Event
from coscientist.tui.data import Detail, MethodView, SessionRow, Snapshot


class SnapshotLoaded(Message):
    """A worker read the session's header, leaderboard and counters (and titles it learned)."""

    def __init__(
        self, snapshot: Snapshot, titles: dict[str, str] | None = None, seconds: float = 0.0
    ) -> None:
        super().__init__()
        self.snapshot = snapshot
        self.titles = titles or {}
        self.seconds = seconds  # how long the read took


class SessionEvent(Message):
    """Something happened in the session (from the live event bus or a store poll)."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event


class DetailLoaded(Message):
    def __init__(self, detail: Detail) -> None:
        super().__init__()
        self.detail = detail


class MethodLoaded(Message):
    def __init__(self, view: MethodView) -> None:
        super().__init__()
        self.view = view


class SessionsLoaded(Message):
    def __init__(self, rows: list[SessionRow]) -> None:
        super().__init__()
        self.rows = rows


class LoadFailed(Message):
    """A store read failed with an error worth showing (the store is gone, the session deleted)."""

    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class HypothesisChosen(Message):
    """The user picked a hypothesis in a leaderboard."""

    def __init__(self, hypothesis_id: str) -> None:
        super().__init__()
        self.hypothesis_id = hypothesis_id


class SessionChosen(Message):
    """The user picked a session in the sessions list."""

    def __init__(self, session_id: str) -> None:
        super().__init__()
        self.session_id = session_id
