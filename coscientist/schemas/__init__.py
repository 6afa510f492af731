"""Pydantic objects exchanged between the scheduler, the agents and the store.

The store's tables mirror these; repositories return these, never ORM rows.
LLM *output* schemas (what a model is asked to produce) live beside each agent in
`agents/`, with every string and list bounded so a small model cannot loop.

One module a subject (sessions, hypotheses and reviews, tournament, knowledge, tasks
and calls, answers; ids and timestamps in base); import the names from here.
"""

from __future__ import annotations

from coscientist.schemas.answers import Answer, FollowUp, FollowUpKind
from coscientist.schemas.base import Frozen, new_id, utcnow
from coscientist.schemas.hypotheses import (
    EVOLUTION_STRATEGIES,
    GENERATION_STRATEGIES,
    Citation,
    CitationCheck,
    GraphTriple,
    Hypothesis,
    HypothesisDraft,
    HypothesisStatus,
    Review,
    ReviewDraft,
    ReviewKind,
)
from coscientist.schemas.knowledge import (
    Community,
    GraphEdge,
    GraphMerge,
    GraphMetrics,
    GraphNode,
    GraphSeriesPoint,
    MetaReview,
    MetaReviewDraft,
    NodeKind,
    Observation,
    RankedConcept,
    ResearchOverview,
    SpecificAim,
)
from coscientist.schemas.sessions import ResearchPlan, SafetyVerdict, SessionInfo, SessionStatus
from coscientist.schemas.tasks import (
    ANSWERED_OUTCOMES,
    OUTCOMES,
    UNANSWERED_OUTCOMES,
    CallRecord,
    Event,
    Task,
    TaskKind,
    TaskResult,
    TaskSpec,
    TaskState,
)
from coscientist.schemas.tournament import (
    LeaderboardEntry,
    Match,
    MatchMode,
    MatchVerdict,
    Rating,
    SecondOpinion,
)

__all__ = [
    "ANSWERED_OUTCOMES",
    "EVOLUTION_STRATEGIES",
    "GENERATION_STRATEGIES",
    "OUTCOMES",
    "UNANSWERED_OUTCOMES",
    "Answer",
    "CallRecord",
    "Citation",
    "CitationCheck",
    "Community",
    "Event",
    "FollowUp",
    "FollowUpKind",
    "Frozen",
    "GraphEdge",
    "GraphMerge",
    "GraphMetrics",
    "GraphNode",
    "GraphSeriesPoint",
    "GraphTriple",
    "Hypothesis",
    "HypothesisDraft",
    "HypothesisStatus",
    "LeaderboardEntry",
    "Match",
    "MatchMode",
    "MatchVerdict",
    "MetaReview",
    "MetaReviewDraft",
    "NodeKind",
    "Observation",
    "RankedConcept",
    "Rating",
    "ResearchOverview",
    "ResearchPlan",
    "Review",
    "ReviewDraft",
    "ReviewKind",
    "SafetyVerdict",
    "SecondOpinion",
    "SessionInfo",
    "SessionStatus",
    "SpecificAim",
    "Task",
    "TaskKind",
    "TaskResult",
    "TaskSpec",
    "TaskState",
    "new_id",
    "utcnow",
]
