"""Meta-review agent: what recurs across reviews and debates (co-scientist paper, section 3.3.6).

Its critique, strengths and gaps go back into every agent's prompt (the
paper's feedback loop without fine-tuning), and its research overview
summarises the best hypotheses for the scientist. A session holds far more
reviews than a small model's context: a seeded sample is shown.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, Field

from agents.common import META_REVIEW, ask, clip, hypothesis_text, review_lines, sample
from agents.context import AgentContext
from agents.outputs import Lines3, SomeSummaries3, Summary
from coscientist.schemas import Hypothesis, Match, MetaReviewDraft, Review

MAX_REVIEWS = 10
MAX_VERDICTS = 6
MAX_TOP = 4


class PatternsOut(BaseModel):
    critique: Lines3 = Field(default_factory=list, description="recurring flaws to avoid")
    strengths: Lines3 = Field(default_factory=list, description="recurring strengths to keep")
    gaps: Lines3 = Field(default_factory=list, description="directions not yet explored")


class OverviewOut(BaseModel):
    objective: Summary
    aims: SomeSummaries3
    significance: Summary

    def text(self) -> str:
        lines = [f"Objective: {self.objective}"]
        lines += [f"Aim {i}: {aim}" for i, aim in enumerate(self.aims, start=1) if aim.strip()]
        lines.append(f"Significance: {self.significance}")
        return "\n".join(lines)


async def meta_review(
    ctx: AgentContext,
    *,
    reviews: Sequence[Review],
    matches: Sequence[Match],
    top: Sequence[Hypothesis],
) -> MetaReviewDraft:
    """Recurring patterns (one call, if there is anything to read) and an overview of `top`."""
    draft = MetaReviewDraft(top_ids=[h.id for h in top])
    shown_reviews = review_lines(sample(ctx.rng, reviews, MAX_REVIEWS), MAX_REVIEWS, 240)
    verdicts = [clip(m.rationale, 240) for m in sample(ctx.rng, matches, MAX_VERDICTS)]
    verdicts = [v for v in verdicts if v]
    if shown_reviews or verdicts:
        patterns = await ask(
            ctx,
            META_REVIEW,
            "meta_review/patterns.j2",
            PatternsOut,
            reviews=shown_reviews,
            verdicts=verdicts,
        )
        draft.critique = list(patterns.critique)
        draft.strengths = list(patterns.strengths)
        draft.gaps = list(patterns.gaps)
    if top:
        overview = await ask(
            ctx,
            META_REVIEW,
            "meta_review/overview.j2",
            OverviewOut,
            top=[hypothesis_text(h, 500) for h in top[:MAX_TOP]],
        )
        draft.overview = overview.text()
    return draft
