"""One pass over the concept graph: every figure Buehler tracks, fast enough for 10,000 nodes.

The concept graph (hypothesis and source nodes left out) is projected to a
simple undirected igraph graph, whose C core does the heavy parts: Louvain
communities, betweenness, k-cores, distances. Measured on this project's
2-core machine under load, a 10,000-node scale-free graph takes about 1.5 s
(benchmarks/graph.py), most of it Louvain. Above EXACT_LIMIT nodes,
betweenness, mean path and diameter are estimated from SAMPLE seeded source
nodes (`GraphMetrics.sampled` says so; the diameter is then a lower bound).

It reads only the prefix of the graph's append-only logs given by `mark`, so
a worker thread can analyse while the event loop keeps adding.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import igraph as ig
import numpy as np

from coscientist.knowledge import powerlaw
from coscientist.knowledge.graph import KnowledgeGraph
from coscientist.knowledge.names import HYPOTHESIS_PREFIX
from coscientist.schemas import Community, GraphMetrics, NodeKind, RankedConcept

EXACT_LIMIT = 600  # nodes (of the largest component, for paths) measured exactly
SAMPLE = 64  # sampled source nodes above it
TOP = 10
COMMUNITY_TOP = 5

# igraph draws from one process-wide generator; Louvain is seeded through it under a lock.
_RNG_LOCK = threading.Lock()
_RNG = random.Random(0)


@dataclass
class Analysis:
    """The figures and the structures behind them, in igraph vertex order."""

    metrics: GraphMetrics
    keys: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    degree: list[int] = field(default_factory=list)
    membership: list[int] = field(default_factory=list)  # community per vertex, 0 = largest
    communities: list[list[int]] = field(default_factory=list)  # vertices, largest first
    betweenness: list[float] = field(default_factory=list)  # normalised to [0, 1]
    relations: dict[tuple[int, int], str] = field(default_factory=dict)  # first seen, u -> v
    hypothesis_concepts: dict[str, list[int]] = field(default_factory=dict)
    graph: ig.Graph | None = None

    def vertex(self, key: str) -> int | None:
        return self._index.get(key)

    def __post_init__(self) -> None:
        self._index = {k: i for i, k in enumerate(self.keys)}

    def hubs(self, k: int = TOP) -> list[RankedConcept]:
        order = sorted(range(len(self.keys)), key=lambda v: (-self.degree[v], self.keys[v]))
        return [
            RankedConcept(key=self.keys[v], label=self.labels[v], score=float(self.degree[v]))
            for v in order[:k]
            if self.degree[v] > 0
        ]

    def bridges(self, k: int = TOP) -> list[RankedConcept]:
        order = sorted(range(len(self.keys)), key=lambda v: (-self.betweenness[v], self.keys[v]))
        return [
            RankedConcept(key=self.keys[v], label=self.labels[v], score=self.betweenness[v])
            for v in order[:k]
            if self.betweenness[v] > 0
        ]

    def community_summaries(self, k: int = TOP) -> list[Community]:
        out = []
        for index, members in enumerate(self.communities[:k]):
            best = sorted(members, key=lambda v: (-self.degree[v], self.keys[v]))
            top = [self.labels[v] for v in best[:COMMUNITY_TOP]]
            out.append(Community(index=index, size=len(members), top=top))
        return out


def _project(kg: KnowledgeGraph, mark: tuple[int, int]) -> Analysis:
    n_nodes, n_edges = mark
    nodes = kg.node_log[:n_nodes]
    keys = [key for key, kind in nodes if kind == NodeKind.CONCEPT]
    kinds = Counter(kind for _, kind in nodes)
    index = {key: i for i, key in enumerate(keys)}
    pairs: set[tuple[int, int]] = set()
    relations: dict[tuple[int, int], str] = {}
    linked: dict[str, list[int]] = {}
    concept_edges = 0
    for source, target, relation in kg.edge_log[:n_edges]:
        u, v = index.get(source), index.get(target)
        if u is not None and v is not None:
            concept_edges += 1
            relations.setdefault((u, v), relation)
            if u != v:
                pairs.add((u, v) if u < v else (v, u))
        elif v is not None and source.startswith(HYPOTHESIS_PREFIX):
            linked.setdefault(source[len(HYPOTHESIS_PREFIX) :], []).append(v)
    graph = ig.Graph(n=len(keys), edges=sorted(pairs))
    labels = [kg.label(key) for key in keys]
    metrics = GraphMetrics(
        nodes=len(keys),
        edges=concept_edges,
        links=len(pairs),
        hypotheses=kinds[NodeKind.HYPOTHESIS],
        sources=kinds[NodeKind.SOURCE],
    )
    return Analysis(
        metrics=metrics,
        keys=keys,
        labels=labels,
        relations=relations,
        hypothesis_concepts=linked,
        graph=graph,
    )


def _communities(graph: ig.Graph, seed: int) -> list[list[int]]:
    if graph.ecount() == 0:
        return [[v] for v in range(graph.vcount())]
    with _RNG_LOCK:
        _RNG.seed(seed)
        ig.set_random_number_generator(_RNG)
        clustering = graph.community_multilevel()
    groups = [list(c) for c in clustering]
    return sorted(groups, key=lambda c: (-len(c), min(c)))


def _betweenness(graph: ig.Graph, rng: random.Random) -> tuple[list[float], bool]:
    n = graph.vcount()
    if n < 3:
        return [0.0] * n, False
    scale = (n - 1) * (n - 2) / 2.0
    if n <= EXACT_LIMIT:
        return [b / scale for b in graph.betweenness(directed=False)], False
    sources = rng.sample(range(n), SAMPLE)
    raw = graph.betweenness(directed=False, sources=sources)
    return [b * n / SAMPLE / scale for b in raw], True


def _paths(graph: ig.Graph, rng: random.Random) -> tuple[float | None, int | None, bool]:
    """Mean shortest path and diameter of the largest component (sampled when large)."""
    if graph.vcount() == 0:
        return None, None, False
    giant = graph.connected_components().giant()
    n = giant.vcount()
    if n < 2:
        return None, None, False
    if n <= EXACT_LIMIT:  # one all-pairs BFS gives both (instead of one pass each)
        lengths = np.asarray(giant.distances(), dtype=np.float64)
        return float(lengths.sum() / (n * (n - 1))), int(lengths.max()), False
    sources = rng.sample(range(n), SAMPLE)
    rows = np.asarray(giant.distances(source=sources), dtype=np.float64)
    reached = np.isfinite(rows) & (rows > 0)  # the giant component is connected: all but self
    total, count = float(rows[reached].sum()), int(reached.sum())
    far_row, far_col = np.unravel_index(np.argmax(np.where(reached, rows, -1.0)), rows.shape)
    far, farthest = int(rows[far_row, far_col]), int(far_col)
    # Double sweep: the node farthest from the samples is near one end of a longest path.
    sweep_row = np.asarray(giant.distances(source=[farthest])[0], dtype=np.float64)
    sweep = int(sweep_row[np.isfinite(sweep_row)].max())
    return total / max(count, 1), max(far, sweep), True


def analyse(kg: KnowledgeGraph, mark: tuple[int, int] | None = None, *, seed: int = 0) -> Analysis:
    """Every figure of the concept graph as it stood at `mark` (default: now)."""
    started = time.perf_counter()
    result = _project(kg, mark or kg.mark())
    graph = result.graph
    assert graph is not None
    m = result.metrics
    n = graph.vcount()
    rng = random.Random(seed)
    result.degree = graph.degree()
    result.communities = _communities(graph, seed) if n else []
    result.membership = [0] * n
    for index, members in enumerate(result.communities):
        for v in members:
            result.membership[v] = index
    result.betweenness, sampled = _betweenness(graph, rng)
    if n:
        components = graph.connected_components()
        m.mean_degree = 2.0 * m.links / n
        m.max_degree = max(result.degree)
        m.density = graph.density() if n > 1 else 0.0
        m.clustering = float(graph.transitivity_avglocal_undirected(mode="zero"))
        m.components = len(components)
        m.largest_component_share = max(components.sizes()) / n
        m.communities = len(result.communities)
        m.modularity = float(graph.modularity(result.membership)) if m.links else 0.0
        m.assortativity = _assortativity(graph)
        m.tail_ratio = m.max_degree / m.mean_degree if m.mean_degree else 0.0
        cores = graph.coreness()
        m.max_core = max(cores)
        m.core_size = sum(1 for c in cores if c == m.max_core)
        found = powerlaw.fit(result.degree)
        if found is not None:
            m.powerlaw_alpha, m.powerlaw_xmin = round(found.alpha, 4), found.xmin
            m.powerlaw_ks, m.powerlaw_tail = round(found.ks, 4), found.tail
        m.mean_path, m.diameter, sampled_paths = _paths(graph, rng)
        m.sampled = sampled or sampled_paths
    m.seconds = round(time.perf_counter() - started, 4)
    return result


def _assortativity(graph: ig.Graph) -> float | None:
    degrees = {d for d in graph.degree() if d > 0}
    if len(degrees) < 2:
        return None  # every linked node has the same degree: the correlation is 0/0
    value = float(graph.assortativity_degree(directed=False))
    return value if math.isfinite(value) else None
