"""What the graph tells the session: bridges, gaps, compositional paths, prompt lines.

A `GraphView` is computed in a worker thread from an `Analysis` and kept by
the scheduler's state until the next refresh. The policy reads it to choose
(combination parents from two communities a bridge joins, a generation focus
on a gap), the graph-reasoning step reads its paths, and generation prompts get
its lines. Gaps depend on which hypotheses are on top right now, so they are
asked for with the current top ids.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from coscientist.knowledge.analysis import Analysis
from coscientist.schemas import Community, RankedConcept

MAX_BRIDGES = 5
MAX_PATHS = 3
PATH_ENDPOINTS = 8  # community representatives among which distant pairs are sought
MIN_PATH_EDGES = 2
MAX_COMMUNITIES = 50


@dataclass(frozen=True)
class Bridge:
    key: str
    label: str
    betweenness: float
    communities: tuple[int, ...]  # communities its neighbours belong to (two or more)


@dataclass(frozen=True)
class ConceptPath:
    """A shortest path between two distant concepts, with the relation on each step."""

    labels: tuple[str, ...]
    relations: tuple[str, ...]  # relations[i] joins labels[i] and labels[i+1]; "<-" if reversed

    def describe(self) -> str:
        parts = [self.labels[0]]
        for relation, label in zip(self.relations, self.labels[1:], strict=True):
            parts.append(f"-[{relation}]- {label}")
        return " ".join(parts)


@dataclass(frozen=True)
class GraphView:
    iteration: int = 0
    communities: tuple[Community, ...] = ()
    hubs: tuple[RankedConcept, ...] = ()
    bridges: tuple[Bridge, ...] = ()
    paths: tuple[ConceptPath, ...] = ()
    hypothesis_community: dict[str, int] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.communities

    def community_of(self, hypothesis_id: str) -> int | None:
        return self.hypothesis_community.get(hypothesis_id)

    def gaps(self, top_ids: Sequence[str]) -> list[Community]:
        """Communities of two or more concepts that no top hypothesis belongs to."""
        covered = {self.hypothesis_community.get(h) for h in top_ids}
        return [c for c in self.communities if c.size >= 2 and c.index not in covered]

    def lines(self, top_ids: Sequence[str], k: int = 5) -> list[str]:
        """At most k short lines for generation prompts: hubs, bridges, gaps, a path."""
        out: list[str] = []
        if self.hubs:
            out.append("Central concepts: " + ", ".join(h.label for h in self.hubs[:5]))
        if self.bridges:
            out.append(
                "Bridge concepts joining separate areas: "
                + ", ".join(b.label for b in self.bridges[:4])
            )
        for gap in self.gaps(top_ids)[:2]:
            out.append("Area no top hypothesis covers yet: " + ", ".join(gap.top[:3]))
        if self.paths:
            out.append("Unexplored chain: " + self.paths[0].describe())
        return out[:k]


def _bridges(a: Analysis) -> tuple[Bridge, ...]:
    graph = a.graph
    if graph is None:
        return ()
    found = []
    for ranked in a.bridges(k=4 * MAX_BRIDGES):
        v = a.vertex(ranked.key)
        if v is None:
            continue
        joined = sorted({a.membership[u] for u in graph.neighbors(v)} | {a.membership[v]})
        if len(joined) >= 2:
            found.append(Bridge(ranked.key, ranked.label, ranked.score, tuple(joined)))
        if len(found) >= MAX_BRIDGES:
            break
    return tuple(found)


def _relation(a: Analysis, u: int, v: int) -> str:
    if (u, v) in a.relations:
        return a.relations[(u, v)]
    if (v, u) in a.relations:
        return "<-" + a.relations[(v, u)]
    return "related to"


def _paths(a: Analysis) -> tuple[ConceptPath, ...]:
    """Shortest paths between the most distant pairs of community representatives."""
    graph = a.graph
    if graph is None or len(a.communities) < 2:
        return ()
    ends = [
        max(members, key=lambda v: (a.degree[v], -v))
        for members in a.communities[:PATH_ENDPOINTS]
        if len(members) >= 2
    ]
    if len(ends) < 2:
        return ()
    distances = graph.distances(source=ends, target=ends)
    pairs = []
    for i, j in itertools.combinations(range(len(ends)), 2):
        d = distances[i][j]
        if math.isfinite(d) and d >= MIN_PATH_EDGES:
            pairs.append((-d, i, j))
    out = []
    for _, i, j in sorted(pairs)[:MAX_PATHS]:
        (path,) = graph.get_shortest_paths(ends[i], to=ends[j])
        labels = tuple(a.labels[v] for v in path)
        relations = tuple(_relation(a, u, v) for u, v in itertools.pairwise(path))
        out.append(ConceptPath(labels, relations))
    return tuple(out)


def _hypothesis_communities(a: Analysis) -> dict[str, int]:
    out = {}
    for hid, vertices in a.hypothesis_concepts.items():
        votes = Counter(a.membership[v] for v in vertices)
        if votes:
            out[hid] = min(votes, key=lambda c: (-votes[c], c))
    return out


def view(a: Analysis, iteration: int) -> GraphView:
    """The steering view of an analysis (cheap next to the analysis itself)."""
    return GraphView(
        iteration=iteration,
        communities=tuple(c for c in a.community_summaries(k=MAX_COMMUNITIES) if c.size >= 2),
        hubs=tuple(a.hubs()),
        bridges=_bridges(a),
        paths=_paths(a),
        hypothesis_community=_hypothesis_communities(a),
    )
