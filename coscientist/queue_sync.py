"""What a planning run learns from the tasks it queued once workers have finished them.

A worker commits its results to the store only; the planner's in-memory mirror
(state.py) would go stale without this. Reading happens in a thread (`read`),
applying in the event loop (`mirror`), so the store is never touched from the loop.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from coscientist.schemas import (
    GraphEdge,
    GraphNode,
    Hypothesis,
    Match,
    MetaReview,
    Rating,
    Review,
    TaskKind,
)
from coscientist.state import SessionState
from coscientist.store import Store

Finished = dict[str, tuple[TaskKind, dict[str, Any]]]  # task id -> (kind, payload)


@dataclass
class Effects:
    matches: list[Match] = field(default_factory=list)  # by seq
    ratings: dict[str, Rating] = field(default_factory=dict)
    reviews: list[Review] = field(default_factory=list)  # oldest first
    reviewed: list[Hypothesis] = field(default_factory=list)  # their status may have changed
    meta_review: MetaReview | None = None
    graph: tuple[list[GraphNode], list[GraphEdge]] | None = None


def read(store: Store, session_id: str, since_seq: int, finished: Finished) -> Effects:
    """Everything the finished tasks may have changed, read in one go (call in a thread)."""
    kinds = {kind for kind, _ in finished.values()}
    out = Effects(matches=store.list_matches(session_id, since_seq=since_seq))
    if out.matches:
        out.ratings = store.ratings(session_id)
    reviewed = {
        str(payload["hypothesis_id"])
        for kind, payload in finished.values()
        if kind == TaskKind.REVIEW and payload.get("hypothesis_id")
    }
    for hid in sorted(reviewed):
        out.reviews.extend(reversed(store.list_reviews(session_id, hypothesis_id=hid)))
        out.reviewed.append(store.get_hypothesis(hid, session_id=session_id))
    if TaskKind.META_REVIEW in kinds:
        out.meta_review = store.latest_meta_review(session_id)
    if TaskKind.GRAPH in kinds:
        out.graph = store.graph(session_id)
    return out


def mirror(
    state: SessionState,
    effects: Effects,
    *,
    planned: Collection[str],
    skip_tasks: Collection[str],
    skip_matches: set[str],
) -> list[Match]:
    """Apply `effects` to `state`; the matches newly mirrored are returned.

    `planned`: ids of tasks whose pair the policy recorded when this run planned them.
    `skip_tasks`, `skip_matches`: this process's own, mirrored when it commits them.
    """
    applied = []
    for m in effects.matches:
        if m.id in skip_matches:
            skip_matches.discard(m.id)
            continue
        if m.task_id in skip_tasks:
            continue
        winner = effects.ratings.get(m.winner_id)
        loser_id = m.second_id if m.winner_id == m.first_id else m.first_id
        loser = effects.ratings.get(loser_id)
        if winner is None or loser is None or loser_id not in state.hypotheses:
            continue
        if m.task_id not in planned:
            state.policy.record(m.first_id, m.second_id)
        state.add_match(m, winner, loser)
        applied.append(m)
    for review in effects.reviews:
        known = {r.id for r in state.reviews.get(review.hypothesis_id, [])}
        if review.id not in known:
            state.add_review(review)
    for h in effects.reviewed:  # the stored status has the last word
        if h.id in state.hypotheses and state.hypotheses[h.id].status != h.status:
            state.set_status(h.id, h.status, h.duplicate_of)
    if effects.meta_review is not None and effects.meta_review != state.meta_review:
        state.meta_review = effects.meta_review
        state.matches_at_meta = state.matches_done
    if effects.graph is not None:
        state.set_graph(effects.graph)
    return applied
