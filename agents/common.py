"""Helpers every agent role shares: prompt variables, truncation, one model call.

Prompts must fit a 4,096-token context next to the answer, so everything
variable is clipped here, in characters (about four to a token).
"""

from __future__ import annotations

import dataclasses
import functools
import random
from collections.abc import Mapping, Sequence
from typing import TypeVar

from pydantic import BaseModel

from agents.context import AgentContext
from coscientist.llm.base import CallContext, Message
from coscientist.prompting import render
from coscientist.schemas import HypothesisDraft, ResearchPlan, Review

T = TypeVar("T", bound=BaseModel)
V = TypeVar("V")

GENERATION = "generation"
REFLECTION = "reflection"
RANKING = "ranking"
EVOLUTION = "evolution"
META_REVIEW = "meta_review"

GOAL_CHARS = 1200
PREFERENCES_CHARS = 500
FEEDBACK_ITEMS = 4
ITEM_CHARS = 160
HYPOTHESIS_CHARS = 900
PLAN_ITEMS = 6  # items of each plan list a prompt shows
STEERING_CHARS = 900
PLAN_ITEM_CHARS = 160


def clip(text: str, limit: int) -> str:
    """Whitespace collapsed and cut to `limit` characters, marked with an ellipsis when cut."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    return flat[: max(limit - 1, 0)].rstrip() + "…"


def clip_all(items: Sequence[str], count: int, limit: int = ITEM_CHARS) -> list[str]:
    return [clip(item, limit) for item in items[:count] if item.strip()]


def sample(rng: random.Random, items: Sequence[V], k: int) -> list[V]:
    """At most `k` items drawn with the session's RNG, in their original order."""
    if len(items) <= k:
        return list(items)
    chosen = sorted(rng.sample(range(len(items)), k))
    return [items[i] for i in chosen]


def role_call(ctx: AgentContext, role: str) -> CallContext:
    return dataclasses.replace(ctx.call, role=ctx.call_role or role)


def chat(system: str, user: str) -> list[Message]:
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def hypothesis_text(hypothesis: HypothesisDraft, limit: int = HYPOTHESIS_CHARS) -> str:
    """A hypothesis as a prompt shows it: the fields that matter, each clipped."""
    parts = [
        f"Title: {clip(hypothesis.title, 120)}",
        f"Statement: {clip(hypothesis.statement, 400)}",
    ]
    if hypothesis.rationale:
        parts.append(f"Rationale: {clip(hypothesis.rationale, 300)}")
    if hypothesis.predictions:
        parts.append("Predictions: " + "; ".join(clip_all(hypothesis.predictions, 2, 120)))
    if hypothesis.experiment:
        parts.append(f"Experiment: {clip(hypothesis.experiment, 160)}")
    return clip_lines("\n".join(parts), limit)


def clip_lines(text: str, limit: int) -> str:
    """Like `clip`, but keeps line breaks."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)].rstrip() + "…"


def review_lines(reviews: Sequence[Review], count: int = 2, limit: int = 260) -> list[str]:
    """The latest reviews of one hypothesis, one line each."""
    lines: list[str] = []
    for review in list(reviews)[-count:]:
        verdict = "passed" if review.passed else "rejected"
        scores = ", ".join(f"{k} {v:g}" for k, v in review.scores.items())
        head = f"{review.kind.value} review ({verdict}{'; ' + scores if scores else ''})"
        body = review.summary
        if review.weaknesses:
            body += " Weaknesses: " + "; ".join(review.weaknesses[:3])
        lines.append(clip(f"{head}: {body}", limit))
    return lines


def weaknesses(reviews: Sequence[Review], count: int = 4) -> list[str]:
    """Distinct weaknesses named by the latest reviews, newest first."""
    found: dict[str, None] = {}
    for review in reversed(reviews):
        for weakness in review.weaknesses:
            if weakness.strip():
                found.setdefault(clip(weakness, ITEM_CHARS), None)
    return list(found)[:count]


def reviews_of(reviews: Mapping[str, Sequence[Review]] | None, hypothesis_id: str) -> list[Review]:
    return list(reviews.get(hypothesis_id, ())) if reviews else []


def plan_variables(plan: ResearchPlan | None) -> dict[str, object]:
    """The research plan as prompts/common/plan.j2 shows it, every item clipped."""
    plan = plan or ResearchPlan()
    return {
        "objective": clip(plan.objective, PLAN_ITEM_CHARS),
        "plan_preferences": clip_all(plan.preferences, PLAN_ITEMS, PLAN_ITEM_CHARS),
        "constraints": clip_all(plan.constraints, PLAN_ITEMS, PLAN_ITEM_CHARS),
        "attributes": clip_all(plan.attributes, PLAN_ITEMS, PLAN_ITEM_CHARS),
        "out_of_scope": clip_all(plan.out_of_scope, PLAN_ITEMS, PLAN_ITEM_CHARS),
    }


def steering(ctx: AgentContext) -> str:
    """The scientist's preferences and the plan's constraints in one line, for short prompts."""
    plan = ctx.plan or ResearchPlan()
    # Constraints first: when the line must be cut, preferences go before them.
    parts = [*plan.constraints, *(f"not {item}" for item in plan.out_of_scope)]
    parts += [ctx.preferences, *plan.preferences]
    return clip("; ".join(p for p in parts if p.strip()), STEERING_CHARS)


def prompt_context(ctx: AgentContext, *, insights: bool = False) -> dict[str, object]:
    """The variables of prompts/common/context.j2: goal, plan, preferences, meta-review feedback."""
    feedback = ctx.feedback
    return {
        "goal": clip(ctx.goal, GOAL_CHARS),
        **plan_variables(ctx.plan),
        "preferences": clip(ctx.preferences, PREFERENCES_CHARS),
        "critique": clip_all(feedback.critique, FEEDBACK_ITEMS) if feedback else [],
        "strengths": clip_all(feedback.strengths, FEEDBACK_ITEMS) if feedback else [],
        "gaps": clip_all(feedback.gaps, FEEDBACK_ITEMS) if feedback else [],
        "insights": clip_all(ctx.graph_insights, 5) if insights else [],
        "focus": clip_all(ctx.focus, 4, 80),
    }


@functools.lru_cache(maxsize=32)
def system_prompt(role: str) -> str:
    """A role's system prompt: it has no variables, so it is rendered once, not per call."""
    return render(f"{role}/system.j2")


def render_prompt(
    ctx: AgentContext, role: str, template: str, *, insights: bool = False, **variables: object
) -> list[Message]:
    """System prompt of the role (fixed) and the step's user prompt (fixed part first)."""
    system = system_prompt(role)
    user = render(template, **prompt_context(ctx, insights=insights), **variables)
    return chat(system, user)


async def ask(
    ctx: AgentContext,
    role: str,
    template: str,
    schema: type[T],
    *,
    insights: bool = False,
    temperature: float | None = None,
    **variables: object,
) -> T:
    """Render `template`, call the model as `role`, return the validated answer."""
    messages = render_prompt(ctx, role, template, insights=insights, **variables)
    completion = await ctx.llm.complete(
        messages,
        schema,
        ctx=role_call(ctx, role),
        max_tokens=ctx.max_tokens,
        temperature=temperature,
    )
    return completion.value
