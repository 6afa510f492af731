"""Intake: the research goal's safety review and the research plan (co-scientist paper, 3.1).

Two calls at the start of a session, before any other: the goal is reviewed for
safety (the caller refuses it when the verdict is binding), then parsed into a
`ResearchPlan` that every later prompt receives. The scientist's own preferences
and constraints are kept verbatim, first; the model adds what the goal implies.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, Field

from agents.common import ask, clip_all
from agents.context import AgentContext
from agents.outputs import Lines3, Sentence, Summary
from coscientist.schemas import ResearchPlan, SafetyVerdict

INTAKE = "intake"
PLAN_ITEMS = 6


class GoalSafetyOut(BaseModel):
    # `examples` steer the scripted test model to the common answer; real models ignore them.
    harm: Literal["none", "dual_use", "serious"] = Field(
        examples=["none"], description="none, dual_use or serious"
    )
    category: Literal[
        "none",
        "weapons",
        "pathogen enhancement",
        "toxins and threat agents",
        "evading biosecurity controls",
        "mass harm",
        "other",
    ] = Field(examples=["none"])
    reason: Summary


class PlanOut(BaseModel):
    objective: Sentence = Field(description="the question to answer, one sentence")
    preferences: Lines3 = Field(default_factory=list)
    constraints: Lines3 = Field(default_factory=list)
    attributes: Lines3 = Field(
        default_factory=list, description="attributes of a good hypothesis for this goal"
    )
    out_of_scope: Lines3 = Field(default_factory=list)


async def review_goal(ctx: AgentContext, goal: str) -> SafetyVerdict:
    """The model's safety verdict on the goal (the caller decides whether it binds)."""
    ctx = dataclasses.replace(ctx, goal=goal)
    out = await ask(ctx, INTAKE, "intake/goal_safety.j2", GoalSafetyOut)
    serious = out.harm == "serious"
    category = out.category if out.category != "none" else ("other" if serious else "")
    return SafetyVerdict(
        safe=not serious,
        category=category if serious or out.harm == "dual_use" else "",
        reason=f"safety review: {category}" if serious else "",
        by="model" if serious else "",
        model_verdict=out.harm,
    )


def _merge(given: Sequence[str], proposed: Sequence[str]) -> list[str]:
    """The scientist's items first, then the model's new ones; case-insensitive duplicates once."""
    out: dict[str, str] = {}
    for item in [*given, *proposed]:
        text = " ".join(item.split())
        if text:
            out.setdefault(text.lower(), text)
    return list(out.values())[:PLAN_ITEMS]


async def draft_plan(ctx: AgentContext, goal: str, given: ResearchPlan | None) -> ResearchPlan:
    """One call: the goal as a research plan, keeping everything the scientist already gave."""
    given = given or ResearchPlan()
    ctx = dataclasses.replace(ctx, goal=goal, plan=None)  # the plan is what this call writes
    out = await ask(
        ctx,
        INTAKE,
        "intake/plan.j2",
        PlanOut,
        given_preferences=clip_all(given.preferences, PLAN_ITEMS),
        given_constraints=clip_all(given.constraints, PLAN_ITEMS),
    )
    return ResearchPlan(
        objective=given.objective or out.objective,
        preferences=_merge(given.preferences, out.preferences),
        constraints=_merge(given.constraints, out.constraints),
        attributes=_merge(given.attributes, out.attributes),
        out_of_scope=_merge(given.out_of_scope, out.out_of_scope),
        drafted=True,
        edited_at=given.edited_at,
    )
