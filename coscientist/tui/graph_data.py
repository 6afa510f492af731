"""What the graph screen shows, read from the store in one go (call it from a worker thread).

The figures, hubs, bridges and communities come from the newest stored point of
the graph's series (computed by the run off its event loop), so opening the
screen costs a few queries, not an analysis of the whole graph.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from coscientist.errors import NotFoundError
from coscientist.knowledge.names import hypothesis_key
from coscientist.schemas import GraphSeriesPoint, NodeKind
from coscientist.store.repository import Store

SERIES_POINTS = 200


@dataclass(frozen=True)
class HypothesisConcepts:
    id: str
    title: str
    concepts: list[str]  # labels of the concepts it uses
    inspired_by: list[str]
    sources: list[str]


@dataclass(frozen=True)
class GraphScreenData:
    series: list[GraphSeriesPoint] = field(default_factory=list)  # oldest first
    hypothesis: HypothesisConcepts | None = None

    @property
    def latest(self) -> GraphSeriesPoint | None:
        return self.series[-1] if self.series else None


def load_graph_screen(store: Store, session_id: str, hypothesis_id: str | None) -> GraphScreenData:
    series = store.graph_series(session_id, limit=SERIES_POINTS)
    chosen = None
    if hypothesis_id is not None:
        try:
            h = store.get_hypothesis(hypothesis_id, session_id=session_id)
        except NotFoundError:
            h = None
        if h is not None:
            links = store.graph_links(session_id, hypothesis_key(h.id))
            chosen = HypothesisConcepts(
                id=h.id,
                title=h.title,
                concepts=[
                    n.label for r, n in links if n.kind == NodeKind.CONCEPT and r != "inspired by"
                ],
                inspired_by=list(h.inspired_by),
                sources=[n.label for _, n in links if n.kind == NodeKind.SOURCE],
            )
    return GraphScreenData(series=series, hypothesis=chosen)
