"""The conversation agent: one model call answering the scientist's question about a session.

It sees only a `Briefing`: what coscientist/conversation selected from the
store for this question, already clipped to fit a small model's context. The
answer names the hypotheses it relies on by id; checking those ids against the
session is the caller's job, since only the caller knows the session.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, StringConstraints

from agents.common import chat, clip, system_prompt
from agents.outputs import Argument, Paragraph
from coscientist.llm.base import CallContext, Completion
from coscientist.prompting import render

if TYPE_CHECKING:
    from coscientist.llm.client import ModelClient

CONVERSATION = "conversation"
MAX_CITED = 5
QUESTION_CHARS = 600


def _cap_ids(value: Any) -> Any:
    return value[:MAX_CITED] if isinstance(value, list) else value


def _no_repeats(value: str) -> str:
    """A small model may say one sentence again and again until the length bound: keep it once."""
    kept: dict[str, str] = {}
    for sentence in re.split(r"(?<=[.!?])\s+", value):
        kept.setdefault(" ".join(sentence.lower().split()), sentence)
    return " ".join(kept.values())


def _flat(value: Any) -> Any:
    return " ".join(value.split())[:40] if isinstance(value, str) else value


CitedId = Annotated[str, BeforeValidator(_flat), StringConstraints(max_length=40)]


class FollowUpOut(BaseModel):
    kind: Literal["none", "refine_goal", "preference", "review", "hypothesis"] = Field(
        default="none", description="the next step proposed, or none"
    )
    text: Paragraph = Field(default="", description="the goal, preference, review or hypothesis")
    hypothesis_id: CitedId = Field(default="", description="for a review: the hypothesis's id")


class AnswerOut(BaseModel):
    answer: Annotated[Argument, AfterValidator(_no_repeats)] = Field(
        description="the answer, in plain words"
    )
    hypothesis_ids: Annotated[
        list[CitedId], BeforeValidator(_cap_ids), Field(max_length=MAX_CITED)
    ] = Field(default_factory=list, description="ids of the hypotheses the answer relies on")
    follow_up: FollowUpOut = Field(default_factory=FollowUpOut)


@dataclass(frozen=True)
class Briefing:
    """The records a question is answered from; every line already clipped."""

    goal: str
    plan: list[str] = field(default_factory=list)
    meta_review: list[str] = field(default_factory=list)
    concepts: list[str] = field(default_factory=list)
    hypotheses: list[str] = field(default_factory=list)  # one block each, its id in the text
    earlier: list[str] = field(default_factory=list)  # earlier questions and answers
    example_id: str = "0123456789ab"

    def size(self) -> int:
        """Characters of variable text, for the bound the caller keeps."""
        parts = [self.goal, *self.plan, *self.meta_review, *self.concepts, *self.hypotheses]
        return sum(len(p) for p in [*parts, *self.earlier])


def messages(briefing: Briefing, question: str) -> list[Any]:
    user = render(
        "conversation/answer.j2",
        goal=briefing.goal,
        plan=briefing.plan,
        meta_review=briefing.meta_review,
        concepts=briefing.concepts,
        hypotheses=briefing.hypotheses,
        earlier=briefing.earlier,
        example_id=briefing.example_id,
        question=clip(question, QUESTION_CHARS),
    )
    return chat(system_prompt(CONVERSATION), user)


async def answer(
    llm: ModelClient,
    briefing: Briefing,
    question: str,
    *,
    call: CallContext,
    max_tokens: int | None = None,
) -> Completion[AnswerOut]:
    """Ask the model; a malformed answer is repaired by the client, a failure raises ModelError."""
    return await llm.complete(
        messages(briefing, question), AnswerOut, ctx=call, max_tokens=max_tokens, temperature=0.2
    )
