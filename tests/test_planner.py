"""The planner: reviews first, a minimum pool, meta-reviews on schedule, weights that adapt."""

from __future__ import annotations

import random
from collections import Counter

from coscientist.planner import Planner, Snapshot
from coscientist.schemas import ReviewKind, TaskKind


def plan_many(snapshot: Snapshot, n: int = 2000, seed: int = 0) -> Counter[str]:
    planner = Planner(rng=random.Random(seed))
    counts: Counter[str] = Counter()
    for _ in range(n):
        spec = planner.next(snapshot)
        assert spec is not None
        label = spec.kind.value
        if spec.kind in (TaskKind.GENERATE, TaskKind.EVOLVE):
            label += ":" + str(spec.payload["strategy"])
        counts[label] += 1
    return counts


def test_unreviewed_hypotheses_are_reviewed_first() -> None:
    spec = Planner(rng=random.Random(0)).next(Snapshot(n_hypotheses=3, unreviewed=["h2", "h3"]))
    assert spec is not None and spec.kind == TaskKind.REVIEW
    assert spec.payload == {"hypothesis_id": "h2", "kind": ReviewKind.INITIAL.value}


def test_small_pool_generates_and_cap_stops_generation() -> None:
    spec = Planner(rng=random.Random(0)).next(Snapshot(n_hypotheses=1, n_rankable=1))
    assert spec is not None and spec.kind == TaskKind.GENERATE
    capped = Snapshot(n_hypotheses=20, n_rankable=20, max_hypotheses=20, matches_done=5)
    counts = plan_many(capped, n=300)
    assert set(counts) <= {"match", "meta_review", "graph"}


def test_meta_review_comes_due_after_enough_matches() -> None:
    s = Snapshot(
        n_hypotheses=10, n_rankable=10, matches_done=40, matches_since_meta=25, has_meta_review=True
    )
    spec = Planner(rng=random.Random(0)).next(s)
    assert spec is not None and spec.kind == TaskKind.META_REVIEW


def test_strategy_weights_follow_the_origins_of_the_top() -> None:
    base = dict(
        n_hypotheses=30,
        n_rankable=30,
        matches_done=400,
        has_meta_review=True,
        matches_since_meta=0,
        tasks_since_graph=0,
    )
    neutral = plan_many(Snapshot(**base, top_origins=[]))  # type: ignore[arg-type]
    evolved = plan_many(
        Snapshot(**base, top_origins=["evolution:combination"] * 5)  # type: ignore[arg-type]
    )
    assert evolved["evolve:combination"] > 2 * neutral["evolve:combination"]
    evolve_share = sum(v for k, v in evolved.items() if k.startswith("evolve"))
    generate_share = sum(v for k, v in evolved.items() if k.startswith("generate"))
    assert evolve_share > generate_share
