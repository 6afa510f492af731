"""Mirror a committed task result in the supervisor's memory and tell the displays."""

from __future__ import annotations

from dataclasses import dataclass, field

from coscientist.events import EventBus
from coscientist.schemas import Match, MetaReview, Review, Task, TaskResult
from coscientist.state import SessionState
from coscientist.store import Applied


@dataclass
class Mirrored:
    """What the supervisor's own counters need from an applied result."""

    matches: list[Match] = field(default_factory=list)


def mirror_result(
    state: SessionState, bus: EventBus, task: Task, result: TaskResult, applied: Applied
) -> Mirrored:
    sid = task.session_id
    out = Mirrored()
    for h in result.hypotheses:
        state.add_hypothesis(h)
        bus.emit("hypothesis", sid, h.title, id=h.id, origin=h.origin, status=h.status.value)
    for draft, review_id in zip(result.reviews, applied.review_ids, strict=True):
        state.add_review(Review(**draft.model_dump(), id=review_id, session_id=sid))
        bus.emit(
            "review",
            sid,
            f"{draft.kind.value} review",
            id=draft.hypothesis_id,
            passed=draft.passed,
        )
    for verdict, done in zip(result.matches, applied.matches, strict=True):
        match = Match(
            **verdict.model_dump(), id=done.id, session_id=sid, seq=done.seq, task_id=task.id
        )
        state.add_match(match, done.winner, done.loser)
        out.matches.append(match)
        bus.emit(
            "match",
            sid,
            f"{match.winner_id} won",
            id=match.id,
            winner=match.winner_id,
            first=match.first_id,
            second=match.second_id,
            mode=match.mode.value,
        )
    if result.meta_review is not None and applied.meta_review_id is not None:
        state.meta_review = MetaReview(
            **result.meta_review.model_dump(), id=applied.meta_review_id, session_id=sid
        )
        state.matches_at_meta = state.matches_done
        bus.emit("meta_review", sid, "meta-review written")
    for hid, status in result.status_changes.items():
        state.set_status(hid, status)
    if result.graph_nodes or result.graph_edges:
        bus.emit(
            "graph",
            sid,
            f"+{len(result.graph_nodes)} nodes, +{len(result.graph_edges)} edges",
            nodes=state.kg.nodes,
            edges=state.kg.edges,
        )
    return out
