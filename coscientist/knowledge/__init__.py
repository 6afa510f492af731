"""Knowledge graph of the ideas a session touches (Buehler, arXiv 2502.13025)."""

from coscientist.knowledge.graph import KnowledgeGraph, normalise
from coscientist.knowledge.metrics import (
    GraphMetrics,
    bridges,
    hubs,
    insights,
    metrics,
    next_question_seeds,
)

__all__ = [
    "GraphMetrics",
    "KnowledgeGraph",
    "bridges",
    "hubs",
    "insights",
    "metrics",
    "next_question_seeds",
    "normalise",
]
