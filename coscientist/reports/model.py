"""The report model: everything an export shows, gathered once, rendered by every format.

The JSON export is this model dumped as it is, so its field names are a public
format (versioned by FORMAT_VERSION). Nothing here ever holds a secret: the
session part copies named fields of the session, never settings.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from coscientist.literature.contacts import ResearchContact
from coscientist.reports.role_models import ModelUse
from coscientist.schemas import (
    Answer,
    Community,
    GraphMerge,
    GraphMetrics,
    Hypothesis,
    HypothesisStatus,
    MatchMode,
    MetaReview,
    Observation,
    ResearchOverview,
    ResearchPlan,
    Review,
    SafetyVerdict,
    SessionStatus,
)

FORMAT_VERSION = 5  # 2: calls.answered and calls.cost_usd; 3: plan, safety, overview, statuses,
# reviews by kind, debates of the top, observations; 4: citation checks, research contacts,
# models by role, answers to the scientist's questions; 5: the separate Bradley-Terry bootstrap
# (`bradley_terry`, per-row `bradley_terry` and `bradley_terry_rank`) dropped: the leaderboard's
# own rating is the judge fit over every verdict, with its interval (elo_low, elo_high);
# judge_audit.second_judge: a second judge's agreement with the judge


class SessionPart(BaseModel):
    id: str
    goal: str
    status: SessionStatus
    model_spec: str
    base_url: str | None = None  # as the store keeps it: any password in it is masked
    seed: int
    limits: dict[str, Any] = Field(default_factory=dict)
    preferences: str = ""
    stop_reason: str | None = None
    created_at: datetime
    updated_at: datetime


class Interval(BaseModel):
    low: float
    high: float


class LeaderboardRow(BaseModel):
    rank: int
    id: str
    title: str
    origin: str
    status: HypothesisStatus
    pinned: bool
    mu: float
    sigma: float
    elo: float  # what the rank follows (RankingConfidence.rank_rule says which rating)
    elo_mean: float = 0.0
    elo_low: float = 0.0  # the ~95 % interval
    elo_high: float = 0.0
    rated_by: str = "trueskill"
    in_top: float | None = None  # P(truly among the top k of RankingConfidence)
    matches: int
    wins: int


class ParentRef(BaseModel):
    id: str
    title: str  # "" when the parent is not in this session


class TopHypothesis(BaseModel):
    """A leading hypothesis in full, with the reviews written about it (newest first)."""

    rank: int
    hypothesis: Hypothesis
    rating: LeaderboardRow
    parents: list[ParentRef] = Field(default_factory=list)
    reviews: list[Review] = Field(default_factory=list)
    concepts: list[str] = Field(default_factory=list)  # labels of the concepts it links to


class ModeCount(BaseModel):
    matches: int = 0
    first_position_wins: int = 0


class TournamentStats(BaseModel):
    hypotheses: int
    by_status: dict[str, int]  # status -> count, every status listed
    rated: int  # hypotheses that played at least one match
    matches: int
    debates: int
    single: int
    by_mode: dict[str, ModeCount]
    first_position_wins: int
    # How often the hypothesis shown first won: 0.5 is no position bias.
    first_position_win_rate: float | None = None
    first_position_interval: Interval | None = None  # Wilson 95 % interval


class LineageEntry(BaseModel):
    """A hypothesis made from others (evolution, combination...), and how deep its ancestry goes."""

    id: str
    title: str
    origin: str
    status: HypothesisStatus
    rank: int | None = None  # on the leaderboard of active hypotheses
    generation: int  # 1 for a child of original hypotheses, 2 for a grandchild...
    parents: list[ParentRef]


class RoleCalls(BaseModel):
    calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0


class CallStats(BaseModel):
    calls: int = 0  # every backend attempt, answered or not
    answered: int = 0  # the attempts a budget counts
    tokens_in: int = 0
    tokens_out: int = 0
    latency_ms: float = 0.0
    cost_usd: float = 0.0  # priced calls only (models run here cost nothing)
    by_role: dict[str, RoleCalls] = Field(default_factory=dict)
    by_outcome: dict[str, int] = Field(default_factory=dict)


class Hub(BaseModel):
    label: str
    links: int  # distinct neighbouring concepts


class Bridge(BaseModel):
    label: str
    betweenness: float  # share of shortest paths through this concept


class RankingConfidence(BaseModel):
    """How sure the tournament is of its top k (tournament/confidence.py)."""

    k: int
    expected_recall: float  # expected share of the reported top k that truly belongs there
    expected_outsiders: float  # k x (1 - expected_recall)
    stop_confidence: float  # what the stop rule waits for (tournament/convergence.py)
    # What another `lookahead` matches per hypothesis would add to the expected recall
    # (tournament/lookahead.py); the stop rule also stops when that falls under `min_gain`.
    lookahead: float | None = None
    gain_ahead: float | None = None
    min_gain: float = 0.0
    rank_rule: str
    # The judge's learned preference for the first-shown of two equals, taken out of ratings.
    first_position_win_rate: float
    first_position_interval: Interval


class AuditFlag(BaseModel):
    """A top hypothesis with a verdict that flipped when its pair was shown the other way."""

    id: str
    rank: int
    title: str
    checked: int  # its pairs judged in both orders
    flipped: int  # of those, pairs whose winner changed with the order


class SecondJudgeAudit(BaseModel):
    """A second judge (the `audit` role's model) on the top pairs the judge debated."""

    models: list[str]  # the second judge's configured model(s) over the session
    checked: int  # debates it judged too
    agreed: int  # of those, the same winner as the judge
    agreement: float | None = None
    interval: Interval | None = None  # Wilson 95 %
    # Top-k hypotheses with a win the second judge gave to the other side (`flipped`: those).
    flagged: list[AuditFlag] = Field(default_factory=list)


class JudgeAudit(BaseModel):
    pairs_checked: int  # pairs judged in both orders (first verdict of each order)
    consistent: int  # of those, the same winner both ways
    consistency: float | None = None
    interval: Interval | None = None  # Wilson 95 %
    top_k: int
    flagged: list[AuditFlag] = Field(default_factory=list)
    second_judge: SecondJudgeAudit | None = None  # None: no second judge was configured


class CurvePoint(BaseModel):
    calls: int  # model calls made by the time of this match
    matches: int
    best_elo: float  # the leaderboard's (conservative) Elo of the best at that point
    top_mean_elo: float  # mean of the top k's


class ComputeCurve(BaseModel):
    """Rating against compute, as the co-scientist paper plots test-time scaling."""

    top_k: int
    points: list[CurvePoint] = Field(default_factory=list)


class GrowthPoint(BaseModel):
    """One stored point of the graph's growth."""

    iteration: int
    nodes: int
    links: int
    mean_degree: float
    modularity: float
    powerlaw_alpha: float | None = None
    communities: int
    seconds: float | None = None  # time the metrics took when the point was stored


class DrawnNode(BaseModel):
    key: str
    label: str
    x: float  # 0..1
    y: float  # 0..1
    degree: int
    community: int


class DrawnEdge(BaseModel):
    source: str
    target: str


class GraphDrawing(BaseModel):
    nodes: list[DrawnNode] = Field(default_factory=list)
    edges: list[DrawnEdge] = Field(default_factory=list)


class KnowledgePart(BaseModel):
    metrics: GraphMetrics
    hubs: list[Hub]
    bridges: list[Bridge]
    communities: list[Community] = Field(default_factory=list)
    growth: list[GrowthPoint] = Field(default_factory=list)
    merges: int = 0  # names folded into existing concepts
    recent_merges: list[GraphMerge] = Field(default_factory=list)
    # For the HTML picture only: coordinates are not data worth exporting.
    drawing: GraphDrawing = Field(default_factory=GraphDrawing, exclude=True)


class SafetySummary(BaseModel):
    """The safety gate: the goal's review, and how many hypotheses were withheld and why.

    Withheld hypotheses appear nowhere else in a report: not their ids, not their text.
    """

    goal: SafetyVerdict | None = None
    withheld: int = 0
    by_reason: dict[str, int] = Field(default_factory=dict)


class StatusNote(BaseModel):
    """A hypothesis taken out of the tournament (flawed, duplicate, rejected, retired) and why."""

    id: str
    title: str
    status: HypothesisStatus
    reason: str = ""


class DebateRecord(BaseModel):
    """A match of a top hypothesis, with the transcript when it was a debate."""

    id: str
    seq: int
    mode: MatchMode
    first_id: str
    first_title: str
    second_id: str
    second_title: str
    winner_id: str
    rationale: str
    turns: list[str] = Field(default_factory=list)


class Report(BaseModel):
    format_version: int = FORMAT_VERSION
    generator: str
    generated_at: datetime
    session: SessionPart
    leaderboard: list[LeaderboardRow]
    top: list[TopHypothesis]
    meta_review: MetaReview | None = None
    meta_reviews: int = 0
    tournament: TournamentStats
    confidence: RankingConfidence
    judge_audit: JudgeAudit
    compute_curve: ComputeCurve
    lineage: list[LineageEntry]
    calls: CallStats
    knowledge: KnowledgePart
    plan: ResearchPlan | None = None
    safety: SafetySummary = Field(default_factory=SafetySummary)
    overview: ResearchOverview | None = None  # the latest meta-review's Specific Aims page
    out_of_tournament: list[StatusNote] = Field(default_factory=list)
    reviews_by_kind: dict[str, int] = Field(default_factory=dict)
    debates: list[DebateRecord] = Field(default_factory=list)  # of the top hypotheses
    observations: list[Observation] = Field(default_factory=list)
    # Authors recurring across the citations of the top hypotheses (coscientist/literature/contacts.py)
    contacts: list[ResearchContact] = Field(default_factory=list)
    models: ModelUse = Field(default_factory=ModelUse)  # which model each role used
    answers: list[Answer] = Field(default_factory=list)  # questions asked about the session
