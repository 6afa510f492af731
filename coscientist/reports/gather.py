"""Read a session from the store once and build the report model every format renders."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from coscientist import __version__
from coscientist.knowledge.names import hypothesis_key
from coscientist.reports import method
from coscientist.reports.analysis import (
    lineage,
    parent_refs,
    tournament_stats,
)
from coscientist.reports.curve import compute_curve
from coscientist.reports.judging import judge_audit
from coscientist.reports.knowledge import knowledge_part, load_graph
from coscientist.reports.literature import contacts_of
from coscientist.reports.model import (
    CallStats,
    Interval,
    LeaderboardRow,
    RankingConfidence,
    Report,
    SessionPart,
    TopHypothesis,
)
from coscientist.reports.role_models import model_use
from coscientist.schemas import Review, SessionInfo, utcnow
from coscientist.store import Store
from coscientist.store.ranked import ranked
from coscientist.tournament.confidence import TopConfidence
from coscientist.tournament.convergence import DEFAULT_CONFIDENCE, DEFAULT_MIN_GAIN
from coscientist.tournament.display import position_bias, rank_rule

DEFAULT_TOP = 10


def session_part(info: SessionInfo) -> SessionPart:
    """Named fields only: whatever else a session may carry never reaches a report."""
    return SessionPart(
        id=info.id,
        goal=info.goal,
        status=info.status,
        model_spec=info.model_spec,
        base_url=info.base_url,
        seed=info.seed,
        limits=dict(sorted(info.limits.items())),
        preferences=info.preferences,
        stop_reason=info.stop_reason,
        created_at=info.created_at,
        updated_at=info.updated_at,
    )


def _min_gain(info: SessionInfo) -> float:
    gain = info.limits.get("stop_min_gain")
    return DEFAULT_MIN_GAIN if gain is None else float(gain)


def ranking_confidence(info: SessionInfo, found: TopConfidence) -> RankingConfidence:
    rate, low, high = position_bias(info)
    target = info.limits.get("stop_confidence") or DEFAULT_CONFIDENCE
    return RankingConfidence(
        k=found.k,
        expected_recall=found.expected_recall,
        expected_outsiders=found.expected_outsiders,
        stop_confidence=float(target),
        lookahead=None if found.ahead is None else found.ahead.matches_per_hypothesis,
        gain_ahead=None if found.ahead is None else found.ahead.gain,
        min_gain=_min_gain(info),
        rank_rule=rank_rule(found.model),
        first_position_win_rate=rate,
        first_position_interval=Interval(low=low, high=high),
    )


def call_stats(raw: dict[str, Any]) -> CallStats:
    """The store's call statistics with their keys sorted, so exports compare line by line."""
    stats = CallStats.model_validate(raw)
    stats.by_role = dict(sorted(stats.by_role.items()))
    stats.by_outcome = dict(sorted(stats.by_outcome.items()))
    return stats


def gather(
    store: Store,
    session_id: str,
    *,
    top: int = DEFAULT_TOP,
    now: datetime | None = None,
) -> Report:
    """Everything a report shows. `top` hypotheses are given in full, with their reviews."""
    info = store.get_session(session_id)
    sid = info.id
    # Leaderboard first, then hypotheses, then matches: a session still running may add
    # rows meanwhile, and in this order every id read earlier is known to what is read later.
    entries, found = ranked(store, sid, seed=info.seed)
    hypotheses = store.list_hypotheses(sid)
    hidden = method.withheld_ids(hypotheses)  # the safety gate's: counted, never shown
    shown = method.visible(hypotheses)
    by_id = {h.id: h for h in shown}
    matches = store.list_matches(sid)
    board = [LeaderboardRow(**entry.model_dump(exclude={"statement"})) for entry in entries]
    reviews: dict[str, list[Review]] = defaultdict(list)
    all_reviews = store.list_reviews(sid)
    for review in all_reviews:
        reviews[review.hypothesis_id].append(review)
    leaders_rows = board[: max(top, 0)]
    kg = load_graph(store, sid)
    leaders = [
        TopHypothesis(
            rank=row.rank,
            hypothesis=by_id[row.id],
            rating=row,
            parents=parent_refs(by_id[row.id].parent_ids, by_id),
            reviews=reviews.get(row.id, []),
            concepts=[kg.label(key) for key in kg.concepts_of(hypothesis_key(row.id))],
        )
        for row in leaders_rows
    ]
    meta_reviews = store.list_meta_reviews(sid)
    latest = meta_reviews[0] if meta_reviews else None
    titles = {h.id: h.title for h in shown}
    return Report(
        generator=f"coscientist {__version__}",
        generated_at=now or utcnow(),
        session=session_part(info),
        leaderboard=board,
        top=leaders,
        meta_review=latest,
        meta_reviews=len(meta_reviews),
        tournament=tournament_stats(hypotheses, matches, store.ratings(sid)),
        confidence=ranking_confidence(info, found),
        judge_audit=judge_audit(matches, board, found.k, store.list_second_opinions(sid)),
        compute_curve=compute_curve(store.rating_history(sid), store.call_times(sid), found.k),
        lineage=lineage(shown, {row.id: row.rank for row in board}),
        calls=call_stats(store.call_stats(sid)),
        knowledge=knowledge_part(store, sid, info.seed),
        plan=info.plan,
        safety=method.safety_summary(hypotheses, info.goal_safety),
        overview=latest.research_overview if latest else None,
        out_of_tournament=method.out_of_tournament(shown),
        reviews_by_kind=method.reviews_by_kind(all_reviews, hidden),
        debates=method.top_debates(matches, [row.id for row in board], titles),
        observations=store.list_observations(sid),
        contacts=contacts_of(shown, [row.id for row in board]),
        models=model_use(store, info),
        answers=store.list_answers(sid),
    )
