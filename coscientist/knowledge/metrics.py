"""The graph's figures in the forms callers want: metrics, hubs, bridges, prompt hints, series.

All structure is measured on the concept graph's simple undirected projection
(see `analysis.analyse`); hubs and bridges are reported by display label.
"""

from __future__ import annotations

from collections.abc import Sequence

from coscientist.knowledge.analysis import Analysis, analyse
from coscientist.knowledge.graph import KnowledgeGraph
from coscientist.knowledge.steering import view
from coscientist.schemas import GraphMetrics, GraphSeriesPoint

SERIES_TOP = 10


def metrics(kg: KnowledgeGraph, *, seed: int = 0) -> GraphMetrics:
    return analyse(kg, seed=seed).metrics


def hubs(kg: KnowledgeGraph, k: int = 10) -> list[tuple[str, int]]:
    """The k best-connected concepts (distinct neighbours), by label."""
    return [(h.label, int(h.score)) for h in analyse(kg).hubs(k)]


def bridges(kg: KnowledgeGraph, k: int = 10, *, seed: int = 0) -> list[tuple[str, float]]:
    """The k concepts lying on most shortest paths: they join otherwise separate areas."""
    return [(b.label, b.score) for b in analyse(kg, seed=seed).bridges(k)]


def series_point(a: Analysis, iteration: int) -> GraphSeriesPoint:
    """One point of the growth series: the figures plus the top hubs, bridges and communities."""
    return GraphSeriesPoint(
        iteration=iteration,
        metrics=a.metrics,
        hubs=a.hubs(SERIES_TOP),
        bridges=a.bridges(SERIES_TOP),
        communities=[c for c in a.community_summaries(SERIES_TOP) if c.size >= 2],
    )


def insights(
    kg: KnowledgeGraph, k: int = 5, *, seed: int = 0, top_ids: Sequence[str] = ()
) -> list[str]:
    """At most k short lines for generation prompts: hubs, bridges, gaps, a chain to explore."""
    if kg.concepts == 0 or k <= 0:
        return []
    return view(analyse(kg, seed=seed), 0).lines(top_ids, k)


def next_question_seeds(
    kg: KnowledgeGraph, new_keys: Sequence[str], k: int = 3, *, seed: int = 0
) -> list[str]:
    """Concepts (labels) to ask about next: newly added ones, then bridges.

    Buehler's loop grows the graph outward from what the last step added;
    bridges keep it from drifting into one corner, so one slot is kept for a
    bridge whenever there is one. New nodes that are themselves bridges come
    first, the other new nodes by degree.
    """
    if k <= 0:
        return []
    return seeds_from(analyse(kg, seed=seed), new_keys, k)


def seeds_from(a: Analysis, new_keys: Sequence[str], k: int = 3) -> list[str]:
    bridge_keys = [b.key for b in a.bridges(k + len(new_keys))]
    rank = {key: i for i, key in enumerate(bridge_keys)}
    degree = {key: a.degree[v] for key in new_keys if (v := a.vertex(key)) is not None}
    fresh = sorted(degree, key=lambda key: (-degree[key], key))
    fresh.sort(key=lambda key: rank.get(key, len(rank)))  # stable: degree order within ties
    other_bridges = [key for key in bridge_keys if key not in set(fresh)]
    keep_for_bridge = 1 if other_bridges and k > 1 else 0
    chosen = fresh[: k - keep_for_bridge]
    chosen += other_bridges[: k - len(chosen)]
    chosen += [key for key in fresh if key not in chosen][: k - len(chosen)]
    labels = {key: a.labels[v] for key in chosen if (v := a.vertex(key)) is not None}
    return [labels[key] for key in chosen if key in labels]
