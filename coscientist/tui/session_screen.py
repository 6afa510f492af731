"""A session's leaderboard, activity log and counters, refreshed from the store by a worker thread.

`SessionScreen` is the common part; `live.py` adds running and steering a
session in this process, `StoredSessionScreen` watches one from the store
(possibly being run by another process).
"""

from __future__ import annotations

import time
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer

from coscientist.errors import CoscientistError
from coscientist.run_status import ProgressMeter, RunProgress
from coscientist.safe_text import printable
from coscientist.schemas import Event, SessionInfo, SessionStatus
from coscientist.store.repository import Store
from coscientist.tui import render
from coscientist.tui.chat_screen import ChatScreen, Conversation
from coscientist.tui.data import (
    Snapshot,
    StoreFeed,
    add_plan_item,
    load_snapshot,
    stored_progress,
)
from coscientist.tui.data import (
    add_observation as store_observation,
)
from coscientist.tui.detail import HypothesisScreen
from coscientist.tui.graph_screen import GraphScreen
from coscientist.tui.messages import HypothesisChosen, LoadFailed, SessionEvent, SnapshotLoaded
from coscientist.tui.meta_review_screen import MetaReviewScreen
from coscientist.tui.method_screen import MethodScreen
from coscientist.tui.widgets import EventLog, LeaderboardTable, SessionHeader, StatsLine

STORE_POLL_SECONDS = 2.0
# The reloads may take about this share of a core. A reload ranks the whole pool (a judge fit:
# 0.3-0.5 s at 300 hypotheses), and a live run's events ask for one every half second: without
# a bound the reader thread took a core beside the run it shows, on its GIL.
RELOAD_SHARE = 0.25


def reload_pause(load_seconds: float) -> float:
    """Seconds to wait after a reload that took `load_seconds` before the next (events asking
    for one meanwhile are served then); the screen's own tick is the floor."""
    return load_seconds * (1.0 / RELOAD_SHARE - 1.0)


class SessionScreen(Screen[None]):
    """Shows one session. Subclasses say when to reload and what else a reload reports."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("g", "graph", "Graph"),
        Binding("m", "meta_review", "Meta-review"),
        Binding("c", "chat", "Chat"),
    ]

    def __init__(self, store: Store, session_id: str, *, poll_seconds: float) -> None:
        super().__init__()
        self.store = store
        self.session_id = session_id
        self.poll_seconds = poll_seconds
        self.info: SessionInfo | None = None
        self.titles: dict[str, str] = {}
        self._loading = False
        self._dirty = True
        self._next_load_at = 0.0  # time.monotonic() before which a tick does not reload
        self.meter = ProgressMeter()

    def compose(self) -> ComposeResult:
        yield SessionHeader(id="header")
        yield LeaderboardTable(id="board")
        yield EventLog(id="log")
        yield StatsLine(id="stats")
        yield Footer()

    def on_mount(self) -> None:
        self.set_interval(self.poll_seconds, self._tick)
        self._tick()
        self.begin()

    # --- hooks ---------------------------------------------------------------------------

    def begin(self) -> None:
        """Called once the screen is mounted."""

    def status_note(self) -> str:
        """A transient status shown instead of the stored one (e.g. `stopping…`)."""
        return ""

    def poll(self, snapshot: Snapshot) -> tuple[list[Event], dict[str, str]]:
        """Runs in the worker thread after each load: extra events and titles to report."""
        return [], {}

    def wants_reload(self) -> bool:
        return self._dirty

    def observe(self, event: Event) -> None:
        """Every event, before it is logged."""

    def progress_of(self, snapshot: Snapshot) -> RunProgress | None:
        """The run's progress after a load; the store's counters unless a subclass knows better."""
        return stored_progress(snapshot)

    def on_tick(self) -> None:
        """Every poll interval, whether or not the store is read."""

    def run_is_live(self) -> bool:
        return self.info is not None and self.info.status == SessionStatus.RUNNING

    def show_progress(self, progress: RunProgress | None) -> None:
        view = self.meter.update(progress) if progress is not None else None
        self.query_one(StatsLine).show_progress(view, running=self.run_is_live())

    # --- loading -------------------------------------------------------------------------

    def request_reload(self, now: bool = False) -> None:
        """Reload at the next tick (or later, see RELOAD_SHARE), or right away (after the
        user's own commands)."""
        self._dirty = True
        if now:
            self._next_load_at = 0.0
            self._tick()

    def _tick(self) -> None:
        self.on_tick()
        if self.wants_reload() and not self._loading and time.monotonic() >= self._next_load_at:
            self._dirty = False
            self._loading = True
            self._load()

    @work(thread=True, group="snapshot")
    def _load(self) -> None:
        started = time.perf_counter()
        try:
            snapshot = load_snapshot(self.store, self.session_id)
            events, titles = self.poll(snapshot)
        except CoscientistError as exc:
            self.post_message(LoadFailed(str(exc)))
            return
        self.post_message(SnapshotLoaded(snapshot, titles, time.perf_counter() - started))
        for event in events:
            self.post_message(SessionEvent(event))

    def on_snapshot_loaded(self, message: SnapshotLoaded) -> None:
        self._loading = False
        self._next_load_at = time.monotonic() + reload_pause(message.seconds)
        snap = message.snapshot
        self.info = snap.info
        self.titles.update(message.titles)
        self.titles.update({e.id: e.title for e in snap.board})
        self.show_header()
        self.query_one(LeaderboardTable).show(snap.board)
        self.query_one(StatsLine).show(snap.stats)
        self.show_progress(self.progress_of(snap))

    def on_load_failed(self, message: LoadFailed) -> None:
        self._loading = False
        self.notify(
            printable(message.error), title="cannot read the store", severity="error", markup=False
        )

    def show_header(self) -> None:
        if self.info is not None:
            self.query_one(SessionHeader).show(self.info, self.status_note())

    # --- events and navigation -------------------------------------------------------------

    def on_session_event(self, message: SessionEvent) -> None:
        event = message.event
        self.observe(event)
        if event.kind == "hypothesis" and event.data.get("id"):
            self.titles[str(event.data["id"])] = event.message
        line = render.event_line(event, self.titles)
        if line is not None:
            self.query_one(EventLog).add(line)
        self.request_reload()

    def action_graph(self) -> None:
        """The knowledge graph, with the concepts of the hypothesis under the cursor."""
        selected = self.query_one(LeaderboardTable).selected_key
        self.app.push_screen(GraphScreen(self.store, self.session_id, selected))

    def action_meta_review(self) -> None:
        self.app.push_screen(MetaReviewScreen(self.store, self.session_id))

    def action_chat(self) -> None:
        """Questions about the session and their answers; asked through the app's Conversation."""
        conversation: Conversation | None = getattr(self.app, "conversation", None)
        self.app.push_screen(ChatScreen(self.store, self.session_id, conversation))

    def on_hypothesis_chosen(self, message: HypothesisChosen) -> None:
        self.app.push_screen(HypothesisScreen(self.store, self.session_id, message.hypothesis_id))

    def action_method(self) -> None:
        """The research plan, safety, Specific Aims, statuses and reviews, on their own page."""
        self.app.push_screen(
            MethodScreen(
                self.store,
                self.session_id,
                edit_plan=self.add_plan_item,
                observe=self.add_observation,
            )
        )

    def add_plan_item(self, kind: str, text: str) -> None:
        add_plan_item(self.store, self.session_id, kind, text)

    def add_observation(self, text: str) -> None:
        store_observation(self.store, self.session_id, text)


class StoredSessionScreen(SessionScreen):
    """Reloads from the store every few seconds, so a run in another process shows live.

    The scientist may add to the research plan and give observations (`v`, then `e` or `o`):
    both go to the store, where a run in another process picks them up.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("v", "method", "Plan, aims"),
    ]

    def __init__(
        self, store: Store, session_id: str, *, poll_seconds: float = STORE_POLL_SECONDS
    ) -> None:
        super().__init__(store, session_id, poll_seconds=poll_seconds)
        self._feed = StoreFeed(store, session_id)

    def wants_reload(self) -> bool:
        return True

    def poll(self, snapshot: Snapshot) -> tuple[list[Event], dict[str, str]]:
        events = self._feed.poll(snapshot.info)
        return events, dict(self._feed.titles)
