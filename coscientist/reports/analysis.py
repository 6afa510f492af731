"""Numbers a report derives from the stored tournament: position bias, lineage.

Pure functions over pydantic objects, so they are tested without a store.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

from coscientist.reports.model import (
    Interval,
    LineageEntry,
    ModeCount,
    ParentRef,
    TournamentStats,
)
from coscientist.schemas import Hypothesis, HypothesisStatus, Match, MatchMode, Rating

Z_95 = 1.959963984540054


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> Interval | None:
    """Wilson score interval of a proportion: sensible even at 0 or all successes."""
    if trials <= 0:
        return None
    p = successes / trials
    denominator = 1.0 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1.0 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return Interval(low=max(0.0, centre - half), high=min(1.0, centre + half))


def tournament_stats(
    hypotheses: Iterable[Hypothesis], matches: Sequence[Match], ratings: Mapping[str, Rating]
) -> TournamentStats:
    by_status = {status.value: 0 for status in HypothesisStatus}
    total = 0
    for h in hypotheses:
        by_status[h.status.value] += 1
        total += 1
    by_mode = {mode.value: ModeCount() for mode in MatchMode}
    for m in matches:
        count = by_mode[m.mode.value]
        count.matches += 1
        count.first_position_wins += m.winner_id == m.first_id
    first_wins = sum(c.first_position_wins for c in by_mode.values())
    return TournamentStats(
        hypotheses=total,
        by_status=by_status,
        rated=sum(1 for r in ratings.values() if r.matches > 0),
        matches=len(matches),
        debates=by_mode[MatchMode.DEBATE.value].matches,
        single=by_mode[MatchMode.SINGLE.value].matches,
        by_mode=by_mode,
        first_position_wins=first_wins,
        first_position_win_rate=first_wins / len(matches) if matches else None,
        first_position_interval=wilson_interval(first_wins, len(matches)),
    )


def parent_refs(parent_ids: Iterable[str], by_id: Mapping[str, Hypothesis]) -> list[ParentRef]:
    return [ParentRef(id=pid, title=by_id[pid].title if pid in by_id else "") for pid in parent_ids]


def generations(hypotheses: Sequence[Hypothesis]) -> dict[str, int]:
    """0 for a hypothesis without parents, else one more than its deepest parent in the session.

    Relaxed to a fixed point instead of recursing, so a long evolution chain
    cannot hit the recursion limit; the pass bound stops a (corrupt) cycle.
    """
    by_id = {h.id: h for h in hypotheses}
    depth = dict.fromkeys(by_id, 0)
    for _ in range(len(by_id) + 1):
        changed = False
        for h in hypotheses:
            if not h.parent_ids:
                continue
            value = 1 + max((depth[p] for p in h.parent_ids if p in by_id), default=0)
            if value != depth[h.id] and value <= len(by_id):
                depth[h.id] = value
                changed = True
        if not changed:
            break
    return depth


def lineage(hypotheses: Sequence[Hypothesis], ranks: Mapping[str, int]) -> list[LineageEntry]:
    """Every hypothesis that has parents, in the order given (creation order), with its generation."""
    by_id = {h.id: h for h in hypotheses}
    depth = generations(hypotheses)
    return [
        LineageEntry(
            id=h.id,
            title=h.title,
            origin=h.origin,
            status=h.status,
            rank=ranks.get(h.id),
            generation=depth[h.id],
            parents=parent_refs(h.parent_ids, by_id),
        )
        for h in hypotheses
        if h.parent_ids
    ]
