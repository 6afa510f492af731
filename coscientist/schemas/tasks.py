"""Tasks and their results, model call records and their outcomes, events."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from coscientist.schemas.base import utcnow
from coscientist.schemas.hypotheses import Citation, Hypothesis, HypothesisStatus, ReviewDraft
from coscientist.schemas.knowledge import GraphEdge, GraphMerge, GraphNode, MetaReviewDraft
from coscientist.schemas.tournament import MatchVerdict, SecondOpinion


class TaskKind(enum.StrEnum):
    GENERATE = "generate"
    REVIEW = "review"
    MATCH = "match"
    EVOLVE = "evolve"
    META_REVIEW = "meta_review"
    GRAPH = "graph"


class TaskState(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"  # will be retried (attempts < max_attempts)
    DEAD = "dead"  # gave up


class TaskSpec(BaseModel):
    kind: TaskKind
    payload: dict[str, Any] = Field(default_factory=dict)
    priority: float = 0.0
    max_attempts: int = 3


class Task(TaskSpec):
    id: str
    session_id: str
    state: TaskState = TaskState.PENDING
    attempts: int = 0
    lease_owner: str | None = None
    lease_expires: datetime | None = None
    error: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None


# What became of one backend attempt. Answered: ok, repaired (valid after a repair turn),
# invalid (JSON that does not fit the schema), malformed (not JSON), truncated (cut off at
# the token limit). Unanswered, so not a budgeted call: the others, one per cause.
ANSWERED_OUTCOMES = frozenset({"ok", "repaired", "invalid", "malformed", "truncated"})
UNANSWERED_OUTCOMES = frozenset(
    {
        "unreachable",
        "timeout",
        "unauthorized",
        "refused",
        "rate_limited",
        "server_error",
        "malformed_response",
        "transport_error",
        "unavailable",
        "error",
    }
)
OUTCOMES = ANSWERED_OUTCOMES | UNANSWERED_OUTCOMES


class CallRecord(BaseModel):
    """Provenance of one model call. Never holds the prompt text or any secret."""

    role: str
    model: str
    prompt_hash: str
    tokens_in: int = 0
    tokens_out: int = 0
    latency_ms: float = 0.0
    outcome: str  # one of OUTCOMES
    error: str | None = None
    cost_usd: float | None = None  # from the price table; None: unpriced or unanswered
    attempt: int = 1
    session_id: str | None = None
    task_id: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    # Which configured model made the call: its spec, and its base URL with the password
    # masked (llm/roles.py Endpoint.label); `model` is the name the backend answered with.
    endpoint: str | None = None


class TaskResult(BaseModel):
    """Everything a task produced; the store applies it and marks the task done in one transaction."""

    hypotheses: list[Hypothesis] = Field(default_factory=list)  # ids assigned by new_id()
    reviews: list[ReviewDraft] = Field(default_factory=list)
    matches: list[MatchVerdict] = Field(default_factory=list)
    second_opinions: list[SecondOpinion] = Field(default_factory=list)
    meta_review: MetaReviewDraft | None = None
    graph_nodes: list[GraphNode] = Field(default_factory=list)
    graph_edges: list[GraphEdge] = Field(default_factory=list)
    graph_merges: list[GraphMerge] = Field(default_factory=list)
    # Kept for the method's deeper reviews: a fatal flaw takes a hypothesis out (issue 12).
    status_changes: dict[str, HypothesisStatus] = Field(default_factory=dict)
    status_reasons: dict[str, str] = Field(default_factory=dict)  # why, for each status change
    # A full review's citations of a hypothesis, checked: they replace the stored list.
    citations: dict[str, list[Citation]] = Field(default_factory=dict)
    graph_question: str = ""  # a graph step's own follow-up question (not stored)
    note: str = ""
    # Embeddings of the new hypotheses (float32 bytes) and the key of the embedder that made
    # them (coscientist.embedding): stored with them, and indexed without embedding again.
    vectors: dict[str, bytes] = Field(default_factory=dict)
    embedder: str = ""


class Event(BaseModel):
    """Something that happened in a session, for progress displays and the TUI."""

    kind: str  # task_started, task_done, task_failed, hypothesis, match, review, meta_review, stop, ...
    session_id: str
    message: str = ""
    data: dict[str, Any] = Field(default_factory=dict)
    at: datetime = Field(default_factory=utcnow)
