"""What `coscientist show --json` adds to the leaderboard: the method's parts, read in one go.

The same functions build these parts of the full reports (gather.py); withheld
hypotheses are counted, never listed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from coscientist.reports import method
from coscientist.reports.analysis import tournament_stats
from coscientist.reports.judging import judge_audit
from coscientist.reports.literature import contacts_of
from coscientist.schemas import LeaderboardEntry
from coscientist.store import Store
from coscientist.store.ranked import ranked
from coscientist.tournament.confidence import TopConfidence


def method_summary(
    store: Store,
    session_id: str,
    ranking: tuple[Sequence[LeaderboardEntry], TopConfidence] | None = None,
) -> dict[str, Any]:
    """Plan, safety, overview, reviews by kind, statuses with reasons, tournament modes, debates.
    `ranking`: the session's ranked board and confidence when the caller has them (a judge fit
    costs more than the rest of this together)."""
    info = store.get_session(session_id)
    sid = info.id
    hypotheses = store.list_hypotheses(sid)
    hidden = method.withheld_ids(hypotheses)
    shown = method.visible(hypotheses)
    matches = store.list_matches(sid)
    stats = tournament_stats(hypotheses, matches, store.ratings(sid))
    meta = store.latest_meta_review(sid)
    entries, found = ranking if ranking is not None else ranked(store, sid, seed=info.seed)
    audit = judge_audit(matches, entries, found.k, store.list_second_opinions(sid))
    titles = {h.id: h.title for h in shown}
    return {
        "plan": info.plan.model_dump(mode="json") if info.plan else None,
        "safety": method.safety_summary(hypotheses, info.goal_safety).model_dump(mode="json"),
        "overview": (
            meta.research_overview.model_dump(mode="json")
            if meta is not None and meta.research_overview is not None
            else None
        ),
        "reviews_by_kind": method.reviews_by_kind(store.list_reviews(sid), hidden),
        "out_of_tournament": [n.model_dump(mode="json") for n in method.out_of_tournament(shown)],
        "observations": [o.model_dump(mode="json") for o in store.list_observations(sid)],
        "tournament": {
            "matches": stats.matches,
            "debates": stats.debates,
            "debate_share": stats.debates / stats.matches if stats.matches else None,
            "by_mode": {k: v.model_dump(mode="json") for k, v in stats.by_mode.items()},
            "by_status": stats.by_status,
        },
        "debates": [
            d.model_dump(mode="json")
            for d in method.top_debates(matches, [e.id for e in entries], titles)
        ],
        # Verdicts that flipped with the order, and a second judge's agreement (judging.py)
        "judge_audit": audit.model_dump(mode="json"),
        # Authors recurring across the citations of the leaders (coscientist/literature/contacts.py)
        "contacts": [
            c.model_dump(mode="json") for c in contacts_of(shown, [e.id for e in entries])
        ],
    }
