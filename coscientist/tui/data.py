"""What the screens show, read from the store in one go.

Every function here blocks on the database, so screens call them from worker
threads, never from a message handler. Nothing here imports textual.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from coscientist.config import Limits
from coscientist.errors import ConfigError, NotFoundError
from coscientist.reports.curve import compute_curve
from coscientist.reports.summary import method_summary
from coscientist.run_status import RunProgress
from coscientist.schemas import (
    Event,
    Hypothesis,
    HypothesisStatus,
    LeaderboardEntry,
    Match,
    ResearchPlan,
    Review,
    SessionInfo,
    SessionStatus,
)
from coscientist.store.ranked import ranked
from coscientist.store.repository import Store

BOARD_ROWS = 200  # a terminal shows far fewer; the rest is reachable by scrolling
REVIEW_WINDOW = 200  # newest reviews looked at per poll
CURVE_MAX_MATCHES = 20_000  # above this the sparkline of the best Elo is left out


@dataclass(frozen=True)
class Stats:
    calls: int
    tokens: int
    hypotheses: int
    matches: int
    in_flight: int
    top_k: int = 0  # what the confidence speaks of
    expected_recall: float | None = None  # tournament/confidence.py; None before any match
    gain_ahead: float | None = None  # what another round of matches would add to it
    best_elo: tuple[float, ...] = ()  # the best hypothesis' Elo along the session (a sparkline)


@dataclass(frozen=True)
class Snapshot:
    """One consistent-enough look at a session: header, leaderboard and counters."""

    info: SessionInfo
    board: list[LeaderboardEntry]
    stats: Stats


@dataclass(frozen=True)
class Detail:
    hypothesis: Hypothesis
    entry: LeaderboardEntry | None  # None when the leaderboard does not list it
    reviews: list[Review]
    parents: list[Hypothesis]
    matches: list[Match] = field(default_factory=list)  # its matches, newest first
    titles: dict[str, str] = field(default_factory=dict)  # of its opponents


@dataclass(frozen=True)
class MatchView:
    """One match in full: both hypotheses' titles, the turns of a debate and the verdict."""

    match: Match
    titles: dict[str, str]


@dataclass(frozen=True)
class MethodView:
    """The session's method: research plan, safety, overview, statuses, reviews, observations."""

    info: SessionInfo
    summary: dict[str, Any]


@dataclass(frozen=True)
class SessionRow:
    info: SessionInfo
    hypotheses: int


def load_stats(store: Store, session_id: str) -> Stats:
    calls = store.call_stats(session_id)
    running = sum(states.get("running", 0) for states in store.task_counts(session_id).values())
    return Stats(
        calls=int(calls.get("calls", 0)),
        tokens=int(calls.get("tokens_in", 0)) + int(calls.get("tokens_out", 0)),
        hypotheses=store.count_hypotheses(session_id),
        matches=store.count_matches(session_id),
        in_flight=running,
    )


def load_snapshot(store: Store, session_id: str, top: int = BOARD_ROWS) -> Snapshot:
    info = store.get_session(session_id)
    board, found = ranked(store, session_id, seed=info.seed)
    stats = load_stats(store, session_id)
    if stats.matches:
        curve: tuple[float, ...] = ()
        if stats.matches <= CURVE_MAX_MATCHES:  # the history is read whole: only while small
            points = compute_curve(store.rating_history(session_id), [], found.k).points
            curve = tuple(p.best_elo for p in points)
        stats = replace(
            stats,
            top_k=found.k,
            expected_recall=found.expected_recall,
            gain_ahead=None if found.ahead is None else found.ahead.gain,
            best_elo=curve,
        )
    return Snapshot(info=info, board=board[:top], stats=stats)


def stored_progress(snapshot: Snapshot) -> RunProgress:
    """Progress as the store tells it: counters and the stored limits, but no run's clock."""
    stats, best = snapshot.stats, (snapshot.board[0] if snapshot.board else None)
    return RunProgress(
        calls=stats.calls,
        tokens=stats.tokens,
        hypotheses=stats.hypotheses,
        limits=Limits(**snapshot.info.limits),
        best_title=best.title if best is not None else None,
        best_elo=best.elo if best is not None else None,
    )


def load_detail(store: Store, session_id: str, hypothesis_id: str) -> Detail:
    h = store.get_hypothesis(hypothesis_id, session_id=session_id)
    info = store.get_session(session_id)  # P(top) is among active ones, as the board says
    active, _ = ranked(store, session_id, seed=info.seed)
    entry = next((e for e in active if e.id == h.id), None)
    if entry is None:
        everyone = store.leaderboard(session_id, include_inactive=True)
        entry = next((e for e in everyone if e.id == h.id), None)
    parents: list[Hypothesis] = []
    for pid in h.parent_ids:
        try:
            parents.append(store.get_hypothesis(pid, session_id=session_id))
        except NotFoundError:
            continue  # a parent id the store no longer knows: show the others
    matches = [m for m in store.list_matches(session_id) if h.id in (m.first_id, m.second_id)]
    opponents = {m.first_id for m in matches} | {m.second_id for m in matches}
    titles = {
        o.id: o.title
        for o in store.list_hypotheses(session_id)
        if o.id in opponents and o.status != HypothesisStatus.UNSAFE
    }
    return Detail(
        hypothesis=h,
        entry=entry,
        reviews=store.list_reviews(session_id, h.id),
        parents=parents,
        matches=list(reversed(matches)),
        titles=titles,
    )


def load_method(store: Store, session_id: str) -> MethodView:
    return MethodView(store.get_session(session_id), method_summary(store, session_id))


def load_sessions(store: Store) -> list[SessionRow]:
    return [SessionRow(info, store.count_hypotheses(info.id)) for info in store.list_sessions()]


def plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


class StoreFeed:
    """What changed in a session since the last poll, told as the events a live run would publish.

    A session running in another process has no event bus here; comparing what
    the store holds now with what was seen before gives the same activity log.
    """

    def __init__(self, store: Store, session_id: str) -> None:
        self._store = store
        self._sid = session_id
        self._hypotheses: set[str] = set()
        self._reviews: set[str] = set()
        self._match_seq = 0
        self._matches = 0
        self._meta_review: str | None = None
        self._status: SessionStatus | None = None
        self.titles: dict[str, str] = {}

    def poll(self, info: SessionInfo) -> list[Event]:
        """New activity since the previous poll; the first poll sums up what is already there."""
        first = self._status is None
        events = self._hypothesis_events() + self._review_events() + self._match_events()
        events += self._meta_review_events()
        status_events = self._status_events(info)
        if first:
            counts = [
                plural(len(self._hypotheses), "hypothesis", "hypotheses"),
                plural(self._matches, "match", "matches"),
                plural(len(self._reviews), "review", "reviews"),
            ]
            summary = ", ".join(counts) + " so far"
            return [self._event("loaded", summary)]
        return events + status_events

    def _event(self, kind: str, message: str, **data: object) -> Event:
        return Event(kind=kind, session_id=self._sid, message=message, data=data)

    def _hypothesis_events(self) -> list[Event]:
        if self._store.count_hypotheses(self._sid) == len(self._hypotheses):
            return []
        out = []
        for h in self._store.list_hypotheses(self._sid):
            self.titles[h.id] = h.title
            if h.id not in self._hypotheses:
                self._hypotheses.add(h.id)
                out.append(
                    self._event(
                        "hypothesis", h.title, id=h.id, origin=h.origin, status=h.status.value
                    )
                )
        return out

    def _review_events(self) -> list[Event]:
        out = []
        for r in reversed(self._store.list_reviews(self._sid, limit=REVIEW_WINDOW)):
            if r.id not in self._reviews:
                self._reviews.add(r.id)
                out.append(
                    self._event(
                        "review", f"{r.kind.value} review", id=r.hypothesis_id, passed=r.passed
                    )
                )
        return out

    def _match_events(self) -> list[Event]:
        out = []
        for m in self._store.list_matches(self._sid, since_seq=self._match_seq):
            self._match_seq = max(self._match_seq, m.seq)
            self._matches += 1
            out.append(
                self._event(
                    "match",
                    f"{m.winner_id} won",
                    id=m.id,
                    winner=m.winner_id,
                    first=m.first_id,
                    second=m.second_id,
                    mode=m.mode.value,
                )
            )
        return out

    def _meta_review_events(self) -> list[Event]:
        latest = self._store.latest_meta_review(self._sid)
        if latest is None or latest.id == self._meta_review:
            return []
        self._meta_review = latest.id
        return [self._event("meta_review", "meta-review written")]

    def _status_events(self, info: SessionInfo) -> list[Event]:
        before, self._status = self._status, info.status
        if before is None or before == info.status:
            return []
        if info.status == SessionStatus.PAUSED:
            return [self._event("paused", "paused")]
        if info.status == SessionStatus.RUNNING:
            return [
                self._event(
                    "resumed" if before == SessionStatus.PAUSED else "run_started", "running"
                )
            ]
        if info.status in (SessionStatus.STOPPED, SessionStatus.DONE):
            reason = info.stop_reason or info.status.value
            return [self._event("stop", f"stopped: {reason}", reason=reason)]
        return []


PLAN_LISTS = {
    "preference": "preferences",
    "constraint": "constraints",
    "attribute": "attributes",
    "out of scope": "out_of_scope",
}


def add_plan_item(store: Store, session_id: str, kind: str, text: str) -> None:
    """Add one item to a stored session's plan (a run in another process follows the store)."""
    info = store.get_session(session_id)
    plan = (info.plan or ResearchPlan()).edited({PLAN_LISTS[kind]: [text]})
    store.update_session(session_id, plan=plan)


def add_observation(store: Store, session_id: str, text: str) -> None:
    text = " ".join(text.split())
    if not text:
        raise ConfigError("the observation is empty")
    store.add_observation(session_id, text)
