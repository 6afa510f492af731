"""The meta-review (research overview, specific aims), observations and the knowledge graph."""

from __future__ import annotations

import enum
from datetime import datetime

from pydantic import BaseModel, Field

from coscientist.schemas.base import utcnow


class SpecificAim(BaseModel):
    """One aim of an NIH Specific Aims page, tied to the hypothesis it tests."""

    hypothesis_id: str
    aim: str
    rationale: str = ""
    approach: str = ""
    expected_outcome: str = ""
    pitfalls: str = ""


class ResearchOverview(BaseModel):
    """The meta-review's research overview in the NIH Specific Aims format."""

    title: str
    background: str = ""  # background and significance
    gap: str = ""  # what is not known and why it matters
    aims: list[SpecificAim] = Field(default_factory=list)

    def text(self) -> str:
        lines = [self.title, f"Background and significance: {self.background}"]
        lines.append(f"Gap: {self.gap}")
        for i, aim in enumerate(self.aims, start=1):
            lines.append(f"Aim {i} ({aim.hypothesis_id}): {aim.aim}")
        return "\n".join(lines)


class MetaReviewDraft(BaseModel):
    critique: list[str] = Field(default_factory=list)  # recurring flaws to avoid
    strengths: list[str] = Field(default_factory=list)  # recurring strengths to keep
    gaps: list[str] = Field(default_factory=list)  # research directions not yet covered
    overview: str = ""  # research overview of the top hypotheses, as plain text
    research_overview: ResearchOverview | None = None  # the same, structured (Specific Aims)
    top_ids: list[str] = Field(default_factory=list)


class MetaReview(MetaReviewDraft):
    id: str
    session_id: str
    created_at: datetime = Field(default_factory=utcnow)


class Observation(BaseModel):
    """A finding the observation review checks hypotheses against (the scientist's, or a source)."""

    id: str
    session_id: str
    text: str
    source: str = "scientist"  # "scientist", or an identifier such as doi:... for the literature
    created_at: datetime = Field(default_factory=utcnow)


class NodeKind(enum.StrEnum):
    CONCEPT = "concept"
    HYPOTHESIS = "hypothesis"  # key "hypothesis:<id>"; links to the concepts it uses
    SOURCE = "source"  # key "source:<identifier>": a cited paper


class GraphNode(BaseModel):
    key: str  # normalised name, unique per session
    label: str  # display name as first seen
    iteration: int = 0
    kind: NodeKind = NodeKind.CONCEPT
    origin: str = ""  # provenance of its first appearance: "hypothesis:<id>", "graph:<step>"...


class GraphEdge(BaseModel):
    source: str  # node key
    target: str  # node key
    relation: str
    iteration: int = 0
    origin: str = ""  # provenance: the text the relation was extracted from


class GraphMerge(BaseModel):
    """One name folded into an existing concept, with the reason: every merge can be explained."""

    alias: str  # the name as it was written
    into: str  # key of the concept it joined
    method: str  # "name" (same normalised name) or "embedding" (cosine >= threshold)
    similarity: float = 1.0
    iteration: int = 0
    origin: str = ""


class GraphMetrics(BaseModel):
    """Structure of the concept graph (hypothesis and source nodes left out)."""

    nodes: int = 0  # concepts
    edges: int = 0  # relations between concepts (directed, typed)
    links: int = 0  # connected pairs in the undirected projection
    hypotheses: int = 0  # hypothesis nodes
    sources: int = 0  # source nodes
    mean_degree: float = 0.0
    max_degree: int = 0
    density: float = 0.0
    clustering: float = 0.0  # average local clustering coefficient
    components: int = 0
    largest_component_share: float = 0.0
    communities: int = 0  # Louvain
    modularity: float = 0.0
    assortativity: float | None = None  # undefined when every node has the same degree
    tail_ratio: float = 0.0  # max degree / mean degree
    powerlaw_alpha: float | None = None  # discrete MLE exponent of the degree tail
    powerlaw_xmin: int | None = None  # where the tail starts
    powerlaw_ks: float | None = None  # Kolmogorov-Smirnov distance of the fit (smaller: better)
    powerlaw_tail: int = 0  # nodes in the fitted tail
    max_core: int = 0  # largest k with a non-empty k-core
    core_size: int = 0  # nodes in that k-core
    mean_path: float | None = None  # mean shortest path in the largest component
    diameter: int | None = None  # of the largest component (a lower bound when sampled)
    sampled: bool = False  # betweenness, mean path and diameter estimated from sampled sources
    seconds: float | None = None  # time the metrics took (None in reports: not reproducible)


class RankedConcept(BaseModel):
    key: str
    label: str
    score: float  # degree for hubs, betweenness for bridges


class Community(BaseModel):
    index: int
    size: int
    top: list[str]  # labels of its best-connected concepts


class GraphSeriesPoint(BaseModel):
    """The graph's figures after one iteration: the series shows how it grew."""

    iteration: int
    metrics: GraphMetrics
    hubs: list[RankedConcept] = Field(default_factory=list)
    bridges: list[RankedConcept] = Field(default_factory=list)
    communities: list[Community] = Field(default_factory=list)
    created_at: datetime = Field(default_factory=utcnow)
