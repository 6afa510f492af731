"""One applier of committed results to the session's memory, whoever ran the task.

A result reaches memory only after the store has committed it, by one path:
`from_result` turns this process's own committed result into `Effects`;
`read_since` reads what tasks of other processes committed (a worker's, or a
`coscientist add` from another terminal) into the same `Effects`; `apply` is
the only code that changes `SessionState` for a result. Applying is idempotent
(known hypotheses, reviews and matches are skipped, and a rating never goes back
to an older one), so the two paths may see the same row without bookkeeping.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from coscientist.events import EventBus
from coscientist.proximity import Vector, from_bytes
from coscientist.scheduler.state import SessionState
from coscientist.schemas import (
    Citation,
    GraphEdge,
    GraphMerge,
    GraphNode,
    Hypothesis,
    HypothesisStatus,
    Match,
    MetaReview,
    Rating,
    Review,
    Task,
    TaskResult,
)
from coscientist.store import Applied as Committed
from coscientist.store import Store
from coscientist.store.graph import GraphMarks


@dataclass
class RatedMatch:
    match: Match
    winner: Rating  # the ratings the match left its two hypotheses with
    loser: Rating
    pair_recorded: bool  # the pairing policy counted the pair when it was planned


@dataclass
class Effects:
    """What committed tasks changed, in the form memory takes it."""

    hypotheses: list[Hypothesis] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)  # oldest first
    matches: list[RatedMatch] = field(default_factory=list)  # by seq
    meta_review: MetaReview | None = None
    graph_nodes: list[GraphNode] = field(default_factory=list)
    graph_edges: list[GraphEdge] = field(default_factory=list)
    graph_merges: list[GraphMerge] = field(default_factory=list)
    graph_question: str = ""
    graph_marks: GraphMarks | None = None  # row ids read up to, when read from the store
    statuses: dict[str, tuple[HypothesisStatus, str | None]] = field(default_factory=dict)
    reasons: dict[str, str | None] = field(default_factory=dict)  # why a status changed
    citations: dict[str, list[Citation]] = field(default_factory=dict)  # checked, by hypothesis
    vectors: dict[str, Vector] = field(default_factory=dict)  # of new hypotheses, if made
    embedder: str = ""  # the key of the embedder that made `vectors`

    @property
    def touches_graph(self) -> bool:
        return bool(self.graph_nodes or self.graph_edges or self.graph_merges)


def from_result(task: Task, result: TaskResult, applied: Committed, *, planned: bool) -> Effects:
    """This process's own result, as the store committed it (`applied` holds the new ids)."""
    sid = task.session_id
    out = Effects(
        hypotheses=list(result.hypotheses),
        graph_nodes=list(result.graph_nodes),
        graph_edges=list(result.graph_edges),
        graph_merges=list(result.graph_merges),
        graph_question=result.graph_question,
        vectors={hid: from_bytes(data) for hid, data in result.vectors.items()},
        embedder=result.embedder,
    )
    for draft, review_id in zip(result.reviews, applied.review_ids, strict=True):
        out.reviews.append(Review(**draft.model_dump(), id=review_id, session_id=sid))
    for verdict, done in zip(result.matches, applied.matches, strict=True):
        match = Match(
            **verdict.model_dump(), id=done.id, session_id=sid, seq=done.seq, task_id=task.id
        )
        out.matches.append(RatedMatch(match, done.winner, done.loser, pair_recorded=planned))
    if result.meta_review is not None and applied.meta_review_id is not None:
        out.meta_review = MetaReview(
            **result.meta_review.model_dump(), id=applied.meta_review_id, session_id=sid
        )
    out.citations = dict(result.citations)
    for hid, status in result.status_changes.items():
        out.statuses[hid] = (status, None)
        out.reasons[hid] = result.status_reasons.get(hid)
    return out


def read_since(
    store: Store,
    session_id: str,
    since_seq: int | None,
    planned_tasks: Collection[str] = (),
    reviewed: Collection[str] = (),
    meta_review: bool = False,
    graph: GraphMarks | None = None,
    known_hypotheses: int | None = None,
) -> Effects:
    """What other processes committed, read in one go (call it in a worker thread).

    `since_seq`: matches after this seq (None: none). `planned_tasks`: ids of tasks whose pairs this
    process's policy recorded when it planned them. `reviewed`: hypotheses whose reviews
    (and so perhaps status) changed. `known_hypotheses`: how many hypotheses memory holds;
    hypotheses are read only when the store holds more. `graph`: read the graph rows added
    after these row ids (every task may add to the graph); the new marks are in the result.
    """
    out = Effects()
    if known_hypotheses is None or store.count_hypotheses(session_id) > known_hypotheses:
        out.hypotheses = store.list_hypotheses(session_id)
    matches = [] if since_seq is None else store.list_matches(session_id, since_seq=since_seq)
    if matches:
        ratings = store.ratings(session_id)
        for m in matches:
            loser_id = m.second_id if m.winner_id == m.first_id else m.first_id
            winner, loser = ratings.get(m.winner_id), ratings.get(loser_id)
            if winner is not None and loser is not None:
                recorded = m.task_id in planned_tasks
                out.matches.append(RatedMatch(m, winner, loser, pair_recorded=recorded))
    for hid in sorted(reviewed):
        out.reviews.extend(reversed(store.list_reviews(session_id, hypothesis_id=hid)))
        h = store.get_hypothesis(hid, session_id=session_id)
        out.statuses[h.id] = (h.status, h.duplicate_of)  # the stored status has the last word
        out.reasons[h.id] = h.status_reason
    if meta_review:
        out.meta_review = store.latest_meta_review(session_id)
    if graph is not None:
        out.graph_nodes, out.graph_edges, out.graph_merges, out.graph_marks = store.graph_since(
            session_id, graph
        )
    return out


@dataclass
class Applied:
    """What applying changed in memory: the loop's counters follow from it."""

    matches: list[Match] = field(default_factory=list)
    new_graph_keys: list[str] = field(default_factory=list)
    graph_changed: bool = False


def apply(state: SessionState, bus: EventBus, effects: Effects) -> Applied:
    """Apply committed effects to memory and tell the displays."""
    sid = state.session_id
    own = effects.embedder == state.embedding.key  # else the run's embedder changed meanwhile
    for h in effects.hypotheses:
        if h.id not in state.hypotheses:
            state.add_hypothesis(h, vector=effects.vectors.get(h.id) if own else None)
            bus.emit("hypothesis", sid, h.title, id=h.id, origin=h.origin, status=h.status.value)
    for review in effects.reviews:
        if state.add_review(review):
            bus.emit(
                "review",
                sid,
                f"{review.kind.value} review",
                id=review.hypothesis_id,
                passed=review.passed,
            )
    for hid, citations in effects.citations.items():
        cited = state.hypotheses.get(hid)
        if cited is not None:  # only its citations changed: indexes keyed by id still hold
            state.hypotheses[hid] = cited.model_copy(update={"citations": citations})
    out = Applied()
    for rated in effects.matches:
        m = rated.match
        if m.id in state.match_ids or m.first_id not in state.hypotheses:
            continue
        if m.second_id not in state.hypotheses:
            continue
        if not rated.pair_recorded:
            state.policy.record(m.first_id, m.second_id)
        state.add_match(m, rated.winner, rated.loser)
        out.matches.append(m)
        bus.emit(
            "match",
            sid,
            f"{m.winner_id} won",
            id=m.id,
            winner=m.winner_id,
            first=m.first_id,
            second=m.second_id,
            mode=m.mode.value,
        )
    meta = effects.meta_review
    if meta is not None and (state.meta_review is None or state.meta_review.id != meta.id):
        state.meta_review = meta
        state.matches_at_meta = state.matches_done
        bus.emit("meta_review", sid, "meta-review written")
    for hid, (status, duplicate_of) in effects.statuses.items():
        known = state.hypotheses.get(hid)
        reason = effects.reasons.get(hid)
        if known is not None and (known.status, known.duplicate_of) != (status, duplicate_of):
            state.set_status(hid, status, duplicate_of, reason)
            bus.emit(
                "hypothesis_status",
                sid,
                f"{status.value}: {reason or ''}",
                id=hid,
                status=status.value,
            )
    if effects.touches_graph:
        kg = state.kg
        before = (kg.nodes, kg.edges, len(kg.merges))
        out.new_graph_keys = [n.key for n in effects.graph_nodes if n.key not in kg]
        state.add_graph(
            effects.graph_nodes, effects.graph_edges, effects.graph_merges, effects.graph_question
        )
        out.graph_changed = (kg.nodes, kg.edges, len(kg.merges)) != before
        if out.graph_changed:
            # "graph" for a graph-reasoning step (progress displays count those), "graph_growth"
            # for what a hypothesis, review or verdict added.
            step = bool(effects.graph_question) or any(
                e.origin.startswith("graph:") for e in effects.graph_edges
            )
            bus.emit(
                "graph" if step else "graph_growth",
                sid,
                f"+{kg.nodes - before[0]} nodes, +{kg.edges - before[1]} edges",
                nodes=kg.nodes,
                edges=kg.edges,
                concepts=kg.concepts,
            )
    return out
