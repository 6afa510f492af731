"""The knowledge-graph part of a report, and of `coscientist graph`: figures, growth, drawing.

The current figures are computed from the stored graph (so they are right even
when the last series point is older); the growth comes from the stored series.
The drawing keeps the best-connected concepts only (a readable picture, not
the whole graph), laid out by networkx with the session's seed.
"""

from __future__ import annotations

import networkx as nx

from coscientist.knowledge import KnowledgeGraph, analyse
from coscientist.reports.model import (
    Bridge,
    DrawnEdge,
    DrawnNode,
    GraphDrawing,
    GrowthPoint,
    Hub,
    KnowledgePart,
)
from coscientist.store import Store

GRAPH_TOP = 10
DRAWN_NODES = 80
RECENT_MERGES = 20
LAYOUT_ITERATIONS = 60


def load_graph(store: Store, session_id: str) -> KnowledgeGraph:
    nodes, edges = store.graph(session_id)
    return KnowledgeGraph.from_parts(nodes, edges, store.graph_merges(session_id))


def knowledge_part(store: Store, session_id: str, seed: int, k: int = GRAPH_TOP) -> KnowledgePart:
    kg = load_graph(store, session_id)
    analysis = analyse(kg, seed=seed)
    series = store.graph_series(session_id)
    return KnowledgePart(
        # Figures of the session, not of this machine: an export is reproducible.
        metrics=analysis.metrics.model_copy(update={"seconds": None}),
        hubs=[Hub(label=h.label, links=int(h.score)) for h in analysis.hubs(k)],
        bridges=[Bridge(label=b.label, betweenness=b.score) for b in analysis.bridges(k)],
        communities=[c for c in analysis.community_summaries(k) if c.size >= 2],
        growth=[
            GrowthPoint(
                iteration=p.iteration,
                nodes=p.metrics.nodes,
                links=p.metrics.links,
                mean_degree=p.metrics.mean_degree,
                modularity=p.metrics.modularity,
                powerlaw_alpha=p.metrics.powerlaw_alpha,
                communities=p.metrics.communities,
                seconds=p.metrics.seconds,
            )
            for p in series
        ],
        merges=len(kg.merges),
        recent_merges=kg.merges[-RECENT_MERGES:],
        drawing=drawing(kg, analysis.membership, analysis.keys, seed),
    )


def drawing(kg: KnowledgeGraph, membership: list[int], keys: list[str], seed: int) -> GraphDrawing:
    """The DRAWN_NODES best-connected concepts and the links among them, in a unit square."""
    community = dict(zip(keys, membership, strict=True))
    simple = kg.undirected()
    ranked = sorted(simple.nodes, key=lambda key: (-int(simple.degree(key)), key))[:DRAWN_NODES]
    sub = simple.subgraph(ranked)
    if sub.number_of_nodes() == 0:
        return GraphDrawing()
    layout = nx.spring_layout(sub, seed=seed, iterations=LAYOUT_ITERATIONS)
    xs = [float(p[0]) for p in layout.values()]
    ys = [float(p[1]) for p in layout.values()]
    span_x, span_y = (max(xs) - min(xs)) or 1.0, (max(ys) - min(ys)) or 1.0
    nodes = [
        DrawnNode(
            key=key,
            label=kg.label(key),
            x=(float(layout[key][0]) - min(xs)) / span_x,
            y=(float(layout[key][1]) - min(ys)) / span_y,
            degree=int(simple.degree(key)),
            community=community.get(key, 0),
        )
        for key in ranked
    ]
    edges = [DrawnEdge(source=u, target=v) for u, v in sorted(sub.edges())]
    return GraphDrawing(nodes=nodes, edges=edges)
