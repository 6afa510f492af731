"""Where a session's model calls went, and how deep its evolution reached.

Read from the session's store after a run (calls by role, hypotheses by origin,
each evolved hypothesis' parents) and scored against the simulator's hidden
table: the true quality at each lineage depth (0 = generated, d = a child of a
depth d-1 parent), what evolution gained over the parents it was shown (mean and
best of them), and the depth of the reported top 8. This is what the planner's
split is chosen from (README "The planner's split").
"""

from __future__ import annotations

import statistics
from collections import Counter
from typing import Any

from hidden_quality import title_tag


def describe(session: Any) -> dict[str, Any]:
    """Calls by role and every hypothesis as (tag, origin, parent tags), in creation order."""
    stats = session.store.call_stats(session.id)
    hypotheses = sorted(session.hypotheses(), key=lambda h: h.created_at)
    tags = {h.id: title_tag(h.title) for h in hypotheses}
    times = session.store.call_times(session.id)
    last = hypotheses[-1].created_at if hypotheses else None
    return {
        "calls_by_role": {role: v["calls"] for role, v in sorted(stats["by_role"].items())},
        # how far into the budget the pool stopped growing (the cap, or the run's end)
        "calls_before_last_hypothesis": sum(t <= last for t in times) if last else 0,
        "lineage": [
            (tags[h.id], h.origin, [tags.get(p) for p in h.parent_ids]) for h in hypotheses
        ],
    }


def score(split: dict[str, Any], quality: dict[str, float], top: list[str]) -> dict[str, Any]:
    """The lineage against the hidden qualities; `top` is the reported top, best first."""
    depth: dict[str, int] = {}
    gains_mean: list[float] = []
    gains_best: list[float] = []
    by_strategy: dict[str, list[float]] = {}
    for tag, origin, parents in split.pop("lineage"):
        if tag is None:
            continue
        known = [p for p in parents if p is not None and p in quality]
        depth[tag] = 1 + max((depth.get(p, 0) for p in known), default=-1) if known else 0
        if known and tag in quality:
            shown = [quality[p] for p in known]
            gains_mean.append(quality[tag] - statistics.fmean(shown))
            gains_best.append(quality[tag] - max(shown))
            by_strategy.setdefault(origin, []).append(quality[tag] - max(shown))
    levels: dict[int, list[float]] = {}
    for tag, d in depth.items():
        if tag in quality:
            levels.setdefault(d, []).append(quality[tag])

    def mean(values: list[float]) -> float | None:
        return round(statistics.fmean(values), 3) if values else None

    return {
        **split,
        "hypotheses_by_depth": {str(d): len(v) for d, v in sorted(levels.items())},
        "true_quality_by_depth": {str(d): mean(v) for d, v in sorted(levels.items())},
        "child_minus_parents_mean": mean(gains_mean),
        "child_minus_best_parent": mean(gains_best),
        "child_minus_best_parent_by_strategy": {o: mean(v) for o, v in sorted(by_strategy.items())},
        "top8_depths": dict(sorted(Counter(depth.get(t, 0) for t in top[:8]).items())),
        "max_depth": max(depth.values(), default=0),
    }


def summarise(splits: list[dict[str, Any]]) -> dict[str, Any]:
    """Means over seeds: calls by role, hypotheses by depth, the deepest lineage, the gain."""
    n = len(splits)
    roles = sorted({r for s in splits for r in s["calls_by_role"]})
    depths = sorted({d for s in splits for d in s["hypotheses_by_depth"]}, key=int)
    gains = [
        s["child_minus_best_parent"] for s in splits if s["child_minus_best_parent"] is not None
    ]
    return {
        "calls_by_role": {
            r: round(sum(s["calls_by_role"].get(r, 0) for s in splits) / n, 1) for r in roles
        },
        "hypotheses_by_depth": {
            d: round(sum(s["hypotheses_by_depth"].get(d, 0) for s in splits) / n, 1) for d in depths
        },
        "max_depth": round(statistics.fmean(s["max_depth"] for s in splits), 2),
        "calls_before_last_hypothesis": round(
            statistics.fmean(s["calls_before_last_hypothesis"] for s in splits), 1
        ),
        "evolved_in_top8": round(
            statistics.fmean(sum(c for d, c in s["top8_depths"].items() if d > 0) for s in splits),
            2,
        ),
        "child_minus_best_parent": round(statistics.fmean(gains), 3) if gains else None,
    }
