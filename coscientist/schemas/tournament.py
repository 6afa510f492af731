"""The tournament: match verdicts, ratings and the leaderboard."""

from __future__ import annotations

import enum
from datetime import datetime

from pydantic import BaseModel, Field

from coscientist.schemas.base import utcnow
from coscientist.schemas.hypotheses import GraphTriple, HypothesisStatus


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
