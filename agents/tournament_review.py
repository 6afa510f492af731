"""Tournament review (co-scientist paper, 3.3.2): a top hypothesis re-read after the matches it lost.

The Reflection agent reads the judges' reasons (and the turns of lost debates)
together with the meta-review's recurring critique, which every prompt carries,
and names what the losses teach. Its weaknesses feed the next evolution of the
hypothesis like any review's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel, Field

from agents.common import REFLECTION, ask, clip, hypothesis_text, review_lines
from agents.context import AgentContext
from agents.outputs import Lines2, Lines3, Score, Summary
from coscientist.schemas import Hypothesis, Review, ReviewDraft, ReviewKind

MAX_LOSSES = 3
TURNS_SHOWN = 2  # of each lost debate: the last ones, where the argument was decided


@dataclass(frozen=True)
class Loss:
    winner: Hypothesis
    rationale: str
    turns: list[str] = field(default_factory=list)


class TournamentReviewOut(BaseModel):
    lessons: Lines3 = Field(default_factory=list, description="what the lost matches teach")
    still_stands: bool = Field(description="whether it remains a serious candidate")
    score: Score
    strengths: Lines2 = Field(default_factory=list)
    weaknesses: Lines3 = Field(default_factory=list)
    summary: Summary


async def review(
    ctx: AgentContext,
    hypothesis: Hypothesis,
    losses: Sequence[Loss],
    *,
    reviews: Sequence[Review] = (),
) -> ReviewDraft:
    shown = [
        {
            "winner": hypothesis_text(loss.winner, 400),
            "rationale": clip(loss.rationale, 300),
            "turns": [clip(t, 240) for t in loss.turns[-TURNS_SHOWN:]],
        }
        for loss in list(losses)[-MAX_LOSSES:]
    ]
    out = await ask(
        ctx,
        REFLECTION,
        "reflection/tournament.j2",
        TournamentReviewOut,
        losses=shown,
        reviews=review_lines(reviews),
        hypothesis=hypothesis_text(hypothesis),
    )
    return ReviewDraft(
        hypothesis_id=hypothesis.id,
        kind=ReviewKind.TOURNAMENT,
        passed=out.still_stands,
        scores={"tournament": float(out.score)},
        summary=out.summary,
        strengths=list(out.strengths),
        weaknesses=list(out.weaknesses),
        details={
            "lessons": list(out.lessons),
            "losses": [loss.winner.id for loss in list(losses)[-MAX_LOSSES:]],
            "critique": list(ctx.feedback.critique) if ctx.feedback else [],
        },
    )
