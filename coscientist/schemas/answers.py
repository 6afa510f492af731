"""Talking to a session: a question's answer and the follow-up it may propose."""

from __future__ import annotations

import enum
from datetime import datetime

from pydantic import BaseModel, Field

from coscientist.schemas.base import utcnow


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
