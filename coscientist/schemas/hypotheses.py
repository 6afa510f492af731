"""Hypotheses, their citations and reviews; the names of the generation and evolution strategies."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, computed_field

from coscientist.schemas.base import Frozen, utcnow


class HypothesisStatus(enum.StrEnum):
    ACTIVE = "active"
    REJECTED = "rejected"  # failed initial review: kept, never paired
    DUPLICATE = "duplicate"  # near-duplicate of another: kept, never paired
    RETIRED = "retired"  # retired by the scientist
    UNSAFE = "unsafe"  # failed the safety gate: withheld from the tournament and from exports
    FLAWED = "flawed"  # a deeper review found a fatal flaw or a failed simulation


CitationCheck = Literal["checked", "unchecked", "not_found"]


class Citation(Frozen):
    identifier: str  # doi:..., arXiv:..., PMID:...
    title: str = ""
    # True: the identifier resolves in its source and the title matches (checked); False: the
    # source does not know the identifier (not found); None: not checked, or the titles differ
    # (coscientist/literature/check.py; `note` says which).
    verified: bool | None = None
    note: str = ""
    year: str = ""
    authors: list[str] = Field(default_factory=list)  # as the source lists them, for contacts

    @computed_field  # type: ignore[prop-decorator]
    @property
    def check(self) -> CitationCheck:
        """The check's outcome as one word, for show --json, reports and the TUI."""
        if self.verified is None:
            return "unchecked"
        return "checked" if self.verified else "not_found"


class GraphTriple(BaseModel):
    source: str
    relation: str
    target: str


class HypothesisDraft(BaseModel):
    """A hypothesis as an agent proposes it, before the store gives it an id."""

    title: str
    statement: str
    rationale: str = ""
    predictions: list[str] = Field(default_factory=list)
    experiment: str = ""
    assumptions: list[str] = Field(default_factory=list)
    citations: list[Citation] = Field(default_factory=list)
    origin: str  # e.g. "generation:debate", "evolution:combination", "scientist"
    parent_ids: list[str] = Field(default_factory=list)
    # Knowledge-graph concepts (labels) the task gave as inspiration: bridges, gaps, a path.
    inspired_by: list[str] = Field(default_factory=list)
    # Concept-relation-concept triples the author's answer stated, grounded in its text. They
    # become graph edges with this hypothesis as provenance; never stored on the row.
    relations: list[GraphTriple] = Field(default_factory=list, exclude=True)


class Hypothesis(HypothesisDraft):
    id: str
    session_id: str
    status: HypothesisStatus = HypothesisStatus.ACTIVE
    pinned: bool = False
    duplicate_of: str | None = None
    status_reason: str | None = None  # why it left the tournament (unsafe, flawed, duplicate)
    reviewed: bool = False  # has an initial review
    created_at: datetime = Field(default_factory=utcnow)


# Names of the generation and evolution strategies: the scheduler's policy picks one, the
# agents implement them. Kept here so that the policy need not import the agents.
# "graph_gap" writes into an area of the knowledge graph no top hypothesis covers yet.
GENERATION_STRATEGIES = ("literature", "debate", "assumptions", "expansion", "graph_gap")
EVOLUTION_STRATEGIES = (
    "grounding",
    "coherence",
    "inspiration",
    "combination",
    "simplification",
    "out_of_box",
)


# --- reviews ------------------------------------------------------------------


class ReviewKind(enum.StrEnum):
    INITIAL = "initial"
    FULL = "full"
    DEEP_VERIFICATION = "deep_verification"
    OBSERVATION = "observation"
    SIMULATION = "simulation"
    TOURNAMENT = "tournament"  # a top hypothesis re-read after the debates it lost
    SCIENTIST = "scientist"


class ReviewDraft(BaseModel):
    hypothesis_id: str
    kind: ReviewKind
    passed: bool = True
    scores: dict[str, float] = Field(default_factory=dict)  # novelty, correctness, ... 1..5
    summary: str = ""
    strengths: list[str] = Field(default_factory=list)
    weaknesses: list[str] = Field(default_factory=list)
    details: dict[str, Any] = Field(default_factory=dict)  # kind-specific structure
    author: str = "agent"  # "agent" or "scientist"
    relations: list[GraphTriple] = Field(default_factory=list, exclude=True)  # see HypothesisDraft


class Review(ReviewDraft):
    id: str
    session_id: str
    created_at: datetime = Field(default_factory=utcnow)
