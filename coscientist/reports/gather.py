"""Read a session from the store once and build the report model every format renders."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from coscientist import __version__
from coscientist.knowledge.names import hypothesis_key
from coscientist.reports.analysis import (
    BOOTSTRAP_RESAMPLES,
    LEVEL,
    bradley_terry_estimates,
    lineage,
    parent_refs,
    tournament_stats,
)
from coscientist.reports.knowledge import knowledge_part, load_graph
from coscientist.reports.model import (
    BradleyTerrySummary,
    CallStats,
    LeaderboardRow,
    Report,
    SessionPart,
    TopHypothesis,
)
from coscientist.schemas import Review, SessionInfo, utcnow
from coscientist.store import Store

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
    resamples: int = BOOTSTRAP_RESAMPLES,
    now: datetime | None = None,
) -> Report:
    """Everything a report shows. `top` hypotheses are given in full, with their reviews."""
    info = store.get_session(session_id)
    sid = info.id
    # Leaderboard first, then hypotheses, then matches: a session still running may add
    # rows meanwhile, and in this order every id read earlier is known to what is read later.
    entries = store.leaderboard(sid)
    hypotheses = store.list_hypotheses(sid)
    by_id = {h.id: h for h in hypotheses}
    matches = store.list_matches(sid)
    estimates = bradley_terry_estimates(
        matches, [h.id for h in hypotheses], seed=info.seed, resamples=resamples
    )
    by_strength = sorted(entries, key=lambda e: (-estimates[e.id].strength, e.rank))
    bt_rank = {entry.id: place for place, entry in enumerate(by_strength, start=1)}
    board = [
        LeaderboardRow(
            **entry.model_dump(exclude={"statement"}),
            bradley_terry=estimates[entry.id],
            bradley_terry_rank=bt_rank[entry.id],
        )
        for entry in entries
    ]
    reviews: dict[str, list[Review]] = defaultdict(list)
    for review in store.list_reviews(sid):
        reviews[review.hypothesis_id].append(review)
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
        for row in board[: max(top, 0)]
    ]
    meta_reviews = store.list_meta_reviews(sid)
    return Report(
        generator=f"coscientist {__version__}",
        generated_at=now or utcnow(),
        session=session_part(info),
        leaderboard=board,
        bradley_terry=BradleyTerrySummary(
            matches=len(matches),
            hypotheses=len(estimates),
            resamples=resamples,
            level=LEVEL,
            seed=info.seed,
        ),
        top=leaders,
        meta_review=meta_reviews[0] if meta_reviews else None,
        meta_reviews=len(meta_reviews),
        tournament=tournament_stats(hypotheses, matches, store.ratings(sid)),
        lineage=lineage(hypotheses, {row.id: row.rank for row in board}),
        calls=call_stats(store.call_stats(sid)),
        knowledge=knowledge_part(store, sid, info.seed),
    )
