"""Knowledge graph of the ideas a session touches (Buehler, arXiv 2502.13025)."""

from coscientist.knowledge.analysis import Analysis, analyse
from coscientist.knowledge.graph import GraphPart, KnowledgeGraph
from coscientist.knowledge.metrics import (
    bridges,
    hubs,
    insights,
    metrics,
    next_question_seeds,
    seeds_from,
    series_point,
)
from coscientist.knowledge.names import normalise
from coscientist.knowledge.steering import ConceptPath, GraphView, view
from coscientist.schemas import GraphMetrics

__all__ = [
    "Analysis",
    "ConceptPath",
    "GraphMetrics",
    "GraphPart",
    "GraphView",
    "KnowledgeGraph",
    "analyse",
    "bridges",
    "hubs",
    "insights",
    "metrics",
    "next_question_seeds",
    "normalise",
    "seeds_from",
    "series_point",
    "view",
]
