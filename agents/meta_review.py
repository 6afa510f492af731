"""Meta-review agent: what recurs across reviews and debates (co-scientist paper, section 3.3.6).

Its critique, strengths and gaps go back into every agent's prompt (the
paper's feedback loop without fine-tuning), and its research overview
summarises the best hypotheses for the scientist as the Specific Aims page of
an NIH proposal, each aim tied to the hypothesis (by id) it tests. A session holds far more
reviews than a small model's context: a seeded sample is shown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated

from pydantic import BaseModel, Field

from agents.common import (
    META_REVIEW,
    ask,
    clip,
    hypothesis_text,
    review_lines,
    reviews_of,
    sample,
)
from agents.context import AgentContext
from agents.outputs import Lines3, Phrase, Sentence, Summary, Title
from coscientist.schemas import (
    Hypothesis,
    Match,
    MetaReviewDraft,
    ResearchOverview,
    Review,
    SpecificAim,
)

MAX_REVIEWS = 10
MAX_VERDICTS = 6
MAX_TOP = 4


class PatternsOut(BaseModel):
    critique: Lines3 = Field(default_factory=list, description="recurring flaws to avoid")
    strengths: Lines3 = Field(default_factory=list, description="recurring strengths to keep")
    gaps: Lines3 = Field(default_factory=list, description="directions not yet explored")


class AimOut(BaseModel):
    hypothesis: Annotated[int, Field(ge=1, le=MAX_TOP)] = Field(
        description="number of the hypothesis this aim tests"
    )
    aim: Summary
    rationale: Phrase
    approach: Phrase
    expected_outcome: Phrase
    pitfalls: Phrase


class SpecificAimsOut(BaseModel):
    """The NIH Specific Aims page; every string bounded so a small model's answer fits."""

    title: Title
    background: Sentence = Field(description="background and significance")
    gap: Sentence = Field(description="what is not known")
    aims: Annotated[list[AimOut], Field(min_length=1, max_length=3)]

    def overview(self, top: Sequence[Hypothesis]) -> ResearchOverview:
        """Aims tied to hypothesis ids; an aim naming a number past the list is dropped, and
        each hypothesis is the subject of one aim at most."""
        aims: dict[str, SpecificAim] = {}
        for out in self.aims:
            if out.hypothesis <= len(top):
                hid = top[out.hypothesis - 1].id
                aims.setdefault(
                    hid,
                    SpecificAim(
                        hypothesis_id=hid,
                        aim=out.aim,
                        rationale=out.rationale,
                        approach=out.approach,
                        expected_outcome=out.expected_outcome,
                        pitfalls=out.pitfalls,
                    ),
                )
        return ResearchOverview(
            title=self.title, background=self.background, gap=self.gap, aims=list(aims.values())
        )


async def meta_review(
    ctx: AgentContext,
    *,
    reviews: Sequence[Review],
    matches: Sequence[Match],
    top: Sequence[Hypothesis],
    top_reviews: Mapping[str, Sequence[Review]] | None = None,
) -> MetaReviewDraft:
    """Recurring patterns (one call, if there is anything to read) and a Specific Aims overview
    of `top`, drawn from the hypotheses and their reviews (`top_reviews`)."""
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
        shown = list(top[:MAX_TOP])
        aims = await ask(
            ctx,
            META_REVIEW,
            "meta_review/overview.j2",
            SpecificAimsOut,
            top=[
                {
                    "text": hypothesis_text(h, 500),
                    "reviews": review_lines(reviews_of(top_reviews, h.id), 2, 200),
                }
                for h in shown
            ],
        )
        draft.research_overview = aims.overview(shown)
        draft.overview = draft.research_overview.text()
    return draft
