"""Pydantic objects exchanged between the scheduler, the agents and the store.

The store's tables mirror these; repositories return these, never ORM rows.
LLM *output* schemas (what a model is asked to produce) live beside each agent in
`agents/`, with every string and list bounded so a small model cannot loop.
"""

from __future__ import annotations

import enum
import os
import random
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

from coscientist.config import RoleModel


def utcnow() -> datetime:
    return datetime.now(UTC)


_ids = random.Random()  # seeded from os.urandom, and again in a forked child


def _reseed_ids() -> None:
    _ids.seed()


os.register_at_fork(after_in_child=_reseed_ids)


def new_id() -> str:
    """Short random ids: unique enough per store, readable in a terminal.

    Drawn from a generator seeded once from the OS (48 bits), not a uuid4 per id: an
    os.urandom call per task showed up in the scheduler's profile."""
    return f"{_ids.getrandbits(48):012x}"


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


# --- sessions -----------------------------------------------------------------


class SessionStatus(enum.StrEnum):
    CREATED = "created"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"  # a stop rule ended the run; resume can continue with new limits
    DONE = "done"


class ResearchPlan(BaseModel):
    """The research goal turned into a configuration every agent's prompt receives (paper, 3.1).

    Written once by the model at the start of a session from the goal and what the
    scientist gave; the scientist edits it at any time (CLI, API, TUI) and tasks that
    start afterwards use the new plan.
    """

    objective: str = ""
    preferences: list[str] = Field(default_factory=list)
    constraints: list[str] = Field(default_factory=list)
    attributes: list[str] = Field(default_factory=list)  # of a good hypothesis
    out_of_scope: list[str] = Field(default_factory=list)
    drafted: bool = False  # the model has drafted it (the start-of-session call ran)
    edited_at: datetime | None = None  # the scientist's last change

    LISTS: ClassVar[tuple[str, ...]] = ("preferences", "constraints", "attributes", "out_of_scope")

    def edited(
        self,
        lists: Mapping[str, Sequence[str]],
        *,
        objective: str | None = None,
        replace: bool = False,
    ) -> ResearchPlan:
        """A copy with items added to the named lists (`replace`: the lists given replace the
        stored ones); whitespace collapsed, duplicates dropped, the rest kept as it is."""
        unknown = set(lists) - set(self.LISTS)
        if unknown:
            raise ValueError(f"a research plan has no {', '.join(sorted(unknown))}")
        changes: dict[str, Any] = {"edited_at": utcnow()}
        if objective is not None:
            changes["objective"] = " ".join(objective.split())
        for name, items in lists.items():
            cleaned = list(dict.fromkeys(" ".join(i.split()) for i in items if i.strip()))
            if cleaned:
                kept = [] if replace else list(getattr(self, name))
                changes[name] = kept + [i for i in cleaned if i not in kept]
        return self.model_copy(update=changes)

    def is_empty(self) -> bool:
        return not (
            self.objective
            or self.preferences
            or self.constraints
            or self.attributes
            or self.out_of_scope
        )


class SafetyVerdict(BaseModel):
    """A safety judgement of a goal or a hypothesis: our own screen, then the model's review."""

    safe: bool = True
    category: str = ""  # e.g. "weapons", "pathogen enhancement"; "" when safe
    reason: str = ""  # what an export may show: a category-level reason, never the text judged
    by: str = ""  # "screen", "model" or "" (nothing found)
    model_verdict: str = ""  # the model's own answer ("none", "dual_use", "serious")


class SessionInfo(BaseModel):
    id: str
    goal: str
    status: SessionStatus = SessionStatus.CREATED
    model_spec: str
    base_url: str | None = None
    seed: int = Field(default=0, ge=-(2**63), le=2**63 - 1)  # a store's INTEGER holds it
    limits: dict[str, Any] = Field(default_factory=dict)
    preferences: str = ""  # the scientist's constraints and criteria, added to every prompt
    plan: ResearchPlan | None = None
    goal_safety: SafetyVerdict | None = None  # the goal's review, before any other model call
    stop_reason: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    # The judge's learned preference for the hypothesis it reads first, on the mu scale
    # (tournament.ratings.update_positioned); the store updates it with every match.
    position_mu: float = 0.0
    position_sigma: float = 2.0
    # Roles with a model of their own (llm/roles.py): spec, base URL (password masked) and
    # concurrency, so a resume and workers use the same models. Never a key.
    roles: dict[str, RoleModel] = Field(default_factory=dict)


# --- hypotheses ---------------------------------------------------------------


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


# --- tournament ---------------------------------------------------------------


class MatchMode(enum.StrEnum):
    SINGLE = "single"
    DEBATE = "debate"


class MatchVerdict(BaseModel):
    """A judged comparison. `first_id` is the hypothesis the judge saw first."""

    first_id: str
    second_id: str
    winner_id: str
    mode: MatchMode = MatchMode.SINGLE
    rationale: str = ""
    turns: list[str] = Field(default_factory=list)  # debate transcript, if any
    relations: list[GraphTriple] = Field(default_factory=list, exclude=True)  # see HypothesisDraft


class SecondOpinion(BaseModel):
    """A second judge's verdict on a pair the judge has just judged (the judge audit): kept
    apart from the ratings, compared with the judge's verdict of the same task."""

    first_id: str
    second_id: str
    winner_id: str
    model: str  # the second judge's configured model (no secret: Endpoint.label)
    rationale: str = ""
    task_id: str | None = None  # the match task, whose verdict it is compared with (stored)


class Match(MatchVerdict):
    id: str
    session_id: str
    seq: int  # order in which matches were applied to ratings
    task_id: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class Rating(BaseModel):
    hypothesis_id: str
    mu: float
    sigma: float
    matches: int = 0
    wins: int = 0


class LeaderboardEntry(BaseModel):
    """One row of the leaderboard, ranked by `elo` (tournament.ratings explains the rule)."""

    id: str
    rank: int
    title: str
    statement: str
    mu: float
    sigma: float
    elo: float  # what the rank follows: tournament.confidence.annotate says which rating
    matches: int
    wins: int
    origin: str
    status: HypothesisStatus = HypothesisStatus.ACTIVE
    pinned: bool = False
    elo_mean: float = 0.0  # the rating's mean on the Elo scale
    elo_low: float = 0.0  # the lower end of the ~95 % interval
    elo_high: float = 0.0  # the upper end of the ~95 % interval
    rated_by: str = "trueskill"  # "judge fit" when the fitted judge model ranks the board
    in_top: float | None = None  # P(truly among the top k); set where confidence is computed


# --- meta-review and knowledge graph -----------------------------------------


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


# --- tasks, calls, events -----------------------------------------------------


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


# --- talking to the session -----------------------------------------------------------------


class FollowUpKind(enum.StrEnum):
    """What an answer may propose the scientist do next, through the Session's own methods."""

    REFINE_GOAL = "refine_goal"
    PREFERENCE = "preference"  # an item of the research plan's preferences
    REVIEW = "review"  # a scientist's review of one hypothesis
    HYPOTHESIS = "hypothesis"  # a new hypothesis of the scientist's


class FollowUp(BaseModel):
    kind: FollowUpKind
    text: str
    hypothesis_id: str | None = None  # the hypothesis a review is about


class Answer(BaseModel):
    """A question the scientist asked about a session, the model's answer, and what it cites.

    `cited_ids` are hypothesis ids of the session; ids the model named that the session
    does not hold are kept apart in `dropped_ids`, so the answer can say so.
    """

    id: str
    session_id: str
    question: str
    answer: str
    cited_ids: list[str] = Field(default_factory=list)
    dropped_ids: list[str] = Field(default_factory=list)
    follow_up: FollowUp | None = None
    applied: str | None = (
        None  # what the follow-up became, e.g. "hypothesis 3f2a..." (None: not yet)
    )
    model: str = ""
    created_at: datetime = Field(default_factory=utcnow)
