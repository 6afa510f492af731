"""Reflection agent: reviews of one hypothesis (co-scientist paper, section 3.3.2).

Initial review (no tools) filters what enters the tournament; full review adds
the literature; deep verification breaks the hypothesis into assumptions and
checks each (a LangGraph graph); observation review asks which of the given
findings (the scientist's, the literature's) it explains; simulation review
steps through its mechanism.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal, TypedDict, cast

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from pydantic import BaseModel, ConfigDict, Field

from agents import sources as lit
from agents.common import REFLECTION, ask, clip, hypothesis_text
from agents.context import AgentContext
from agents.outputs import (
    ItemNumbers,
    Lines2,
    Lines3,
    Phrase,
    RelationOut,
    Relations3,
    Score,
    SearchQueries,
    Sentence,
    SomeLines4,
    SomeLines5,
    SourceNumbers,
    Summary,
    relations_required,
    triples,
)
from coscientist.schemas import Citation, Hypothesis, ReviewDraft, ReviewKind

CRITERIA = ("novelty", "correctness", "testability", "safety")
MAX_OBSERVATIONS = 5
MAX_REVIEW_SOURCES = 6  # sources listed in the full review's prompt
SOURCE_CHARS = 480  # title, year and abstract of one source in that prompt


class InitialReviewOut(BaseModel):
    model_config = ConfigDict(json_schema_extra=relations_required)

    novelty_reason: Phrase
    novelty: Score
    correctness_reason: Phrase
    correctness: Score
    testability_reason: Phrase
    testability: Score
    safety_reason: Phrase
    # `examples` steer the scripted test model to a safe score, as most real answers are.
    safety: Score = Field(examples=[3, 4, 5])
    strengths: Lines2 = Field(default_factory=list)
    weaknesses: Lines2 = Field(default_factory=list)
    summary: Summary
    passed: bool
    relations: Relations3 = Field(default_factory=list)


class FullReviewOut(InitialReviewOut):
    literature: Sentence = Field(default="", description="what the sources support or contradict")
    related: SourceNumbers = Field(default_factory=list)


class SearchQueriesOut(BaseModel):
    queries: SearchQueries = Field(
        description="one to three literature search queries, a few key terms each"
    )


class DecompositionOut(BaseModel):
    model_config = ConfigDict(json_schema_extra=relations_required)

    assumptions: SomeLines4
    relations: Relations3 = Field(default_factory=list)


class AssumptionCheckOut(BaseModel):
    sub_assumptions: Lines3 = Field(default_factory=list)
    reason: Summary
    verdict: Literal["holds", "uncertain", "fails"]
    fatal: bool


class ObservationReviewOut(BaseModel):
    model_config = ConfigDict(json_schema_extra=relations_required)

    explained: ItemNumbers = Field(default_factory=list)
    explanation: Summary
    score: Score
    strengths: Lines2 = Field(default_factory=list)
    weaknesses: Lines2 = Field(default_factory=list)
    summary: Summary
    relations: Relations3 = Field(default_factory=list)


class SimulationOut(BaseModel):
    model_config = ConfigDict(json_schema_extra=relations_required)

    steps: SomeLines5
    fails_at: int = Field(ge=0, le=5, description="first step that fails, 0 if none")
    failure: Sentence = ""
    score: Score
    summary: Summary
    relations: Relations3 = Field(default_factory=list)


async def review(
    ctx: AgentContext,
    hypothesis: Hypothesis,
    kind: ReviewKind,
    *,
    observations: Sequence[str] = (),
) -> ReviewDraft:
    """One review of `hypothesis`; `observations` feed the observation review only."""
    if kind is ReviewKind.INITIAL:
        return await _initial(ctx, hypothesis)
    if kind is ReviewKind.FULL:
        return await _full(ctx, hypothesis)
    if kind is ReviewKind.DEEP_VERIFICATION:
        return await deep_verification(ctx, hypothesis)
    if kind is ReviewKind.OBSERVATION:
        return await _observation(ctx, hypothesis, observations)
    if kind is ReviewKind.SIMULATION:
        return await _simulation(ctx, hypothesis)
    raise ValueError(f"the Reflection agent does not write {kind.value!r} reviews")


def _passes(out: InitialReviewOut) -> bool:
    """The model's verdict, except that an unsafe or clearly wrong hypothesis never passes."""
    return out.passed and out.safety > 1 and out.correctness > 1


def _scored(out: InitialReviewOut, hypothesis: Hypothesis, kind: ReviewKind) -> ReviewDraft:
    return ReviewDraft(
        hypothesis_id=hypothesis.id,
        kind=kind,
        passed=_passes(out),
        scores={name: float(getattr(out, name)) for name in CRITERIA},
        summary=out.summary,
        strengths=list(out.strengths),
        weaknesses=list(out.weaknesses),
        details={"reasons": {name: getattr(out, f"{name}_reason") for name in CRITERIA}},
        relations=triples(out.relations),
    )


async def _initial(ctx: AgentContext, hypothesis: Hypothesis) -> ReviewDraft:
    out = await ask(
        ctx,
        REFLECTION,
        "reflection/initial.j2",
        InitialReviewOut,
        hypothesis=hypothesis_text(hypothesis),
    )
    return _scored(out, hypothesis, ReviewKind.INITIAL)


async def _full(ctx: AgentContext, hypothesis: Hypothesis) -> ReviewDraft:
    """Queries from the hypothesis, the sources they find, a review citing them by number,
    then every citation of the hypothesis checked (details["citations"])."""
    found: list[lit.Source] | None = None
    queries: list[str] = []
    if ctx.literature is not None:
        queries = await _queries(ctx, hypothesis)
        found = await lit.search_all(ctx, queries, MAX_REVIEW_SOURCES)
    sources = found or []
    out = await ask(
        ctx,
        REFLECTION,
        "reflection/full.j2",
        FullReviewOut,
        sources=lit.lines(sources, SOURCE_CHARS),
        hypothesis=hypothesis_text(hypothesis),
    )
    draft = _scored(out, hypothesis, ReviewKind.FULL)
    draft.details["literature"] = out.literature if found is not None else "unavailable"
    draft.details["queries"] = queries
    related = lit.citations(sources, out.related)
    draft.details["related"] = [c.identifier for c in related]
    if ctx.literature is None:
        return draft
    checked = await lit.check_all(ctx, _merge(hypothesis.citations, related))
    draft.details["citations"] = [c.model_dump(mode="json") for c in checked]
    draft.details["citations_verified"] = {c.identifier: c.verified for c in checked}
    missing = [c.identifier for c in checked if c.verified is False]
    if missing:
        draft.weaknesses.append("cited work not found: " + ", ".join(missing))
    return draft


async def _queries(ctx: AgentContext, hypothesis: Hypothesis) -> list[str]:
    """One to three search queries the model writes for the hypothesis; its title and
    statement when the model's are blank."""
    out = await ask(
        ctx,
        REFLECTION,
        "reflection/queries.j2",
        SearchQueriesOut,
        hypothesis=hypothesis_text(hypothesis),
    )
    queries = list(dict.fromkeys(q for q in out.queries if q.strip()))
    return queries or [clip(f"{hypothesis.title}. {hypothesis.statement}", 300)]


def _merge(own: Sequence[Citation], new: Sequence[Citation]) -> list[Citation]:
    """The hypothesis's citations, then the review's new ones; one per identifier."""
    merged: dict[str, Citation] = {}
    for citation in [*own, *new]:
        merged.setdefault(citation.identifier.casefold(), citation)
    return list(merged.values())


async def _observation(
    ctx: AgentContext, hypothesis: Hypothesis, given: Sequence[str]
) -> ReviewDraft:
    observations = [clip(o, 240) for o in given if o.strip()][:MAX_OBSERVATIONS]
    if not observations:
        # Real observations only (the scientist's, the literature's): a model's invented ones
        # would make the review check the hypothesis against its own imagination.
        raise ValueError("an observation review needs observations; none were given")
    out = await ask(
        ctx,
        REFLECTION,
        "reflection/observation.j2",
        ObservationReviewOut,
        observations=observations,
        hypothesis=hypothesis_text(hypothesis),
    )
    explained = [observations[n - 1] for n in out.explained if n <= len(observations)]
    return ReviewDraft(
        hypothesis_id=hypothesis.id,
        kind=ReviewKind.OBSERVATION,
        scores={"observations": float(out.score)},
        summary=out.summary,
        strengths=list(out.strengths),
        weaknesses=list(out.weaknesses),
        details={
            "observations": observations,
            "explained": explained,
            "explanation": out.explanation,
        },
        relations=triples(out.relations),
    )


async def _simulation(ctx: AgentContext, hypothesis: Hypothesis) -> ReviewDraft:
    out = await ask(
        ctx,
        REFLECTION,
        "reflection/simulation.j2",
        SimulationOut,
        hypothesis=hypothesis_text(hypothesis),
    )
    steps = list(out.steps)
    fails_at = out.fails_at if 1 <= out.fails_at <= len(steps) else None
    weaknesses = (
        [f"step {fails_at} fails: {out.failure or steps[fails_at - 1]}"] if fails_at else []
    )
    return ReviewDraft(
        hypothesis_id=hypothesis.id,
        kind=ReviewKind.SIMULATION,
        passed=fails_at is None,
        scores={"simulation": float(out.score)},
        summary=out.summary,
        weaknesses=weaknesses,
        details={"steps": steps, "fails_at": fails_at, "failure": out.failure if fails_at else ""},
        relations=triples(out.relations),
    )


# --- deep verification (a LangGraph graph) --------------------------------------


class VerificationState(TypedDict):
    assumptions: list[str]
    checks: list[str]  # AssumptionCheckOut JSON, one per assumption, in order
    relations: list[str]  # RelationOut JSON, stated with the assumptions


@dataclass(frozen=True)
class VerificationDeps:
    ctx: AgentContext
    hypothesis: str  # as the prompt shows it


async def _decompose(
    state: VerificationState, runtime: Runtime[VerificationDeps]
) -> dict[str, Any]:
    deps = runtime.context
    out = await ask(
        deps.ctx,
        REFLECTION,
        "reflection/deep_decompose.j2",
        DecompositionOut,
        hypothesis=deps.hypothesis,
    )
    return {
        "assumptions": list(out.assumptions),
        "relations": [r.model_dump_json() for r in out.relations],
    }


async def _check(state: VerificationState, runtime: Runtime[VerificationDeps]) -> dict[str, Any]:
    deps = runtime.context
    assumption = state["assumptions"][len(state["checks"])]
    out = await ask(
        deps.ctx,
        REFLECTION,
        "reflection/deep_judge.j2",
        AssumptionCheckOut,
        hypothesis=deps.hypothesis,
        assumption=assumption,
    )
    return {"checks": [*state["checks"], out.model_dump_json()]}


def _next_check(state: VerificationState) -> str:
    return "check" if len(state["checks"]) < len(state["assumptions"]) else END


@cache
def _verification_graph() -> CompiledStateGraph[
    VerificationState, VerificationDeps, VerificationState, VerificationState
]:
    graph = StateGraph(VerificationState, context_schema=VerificationDeps)
    graph.add_node("decompose", _decompose)
    graph.add_node("check", _check)
    graph.add_edge(START, "decompose")
    graph.add_conditional_edges("decompose", _next_check, ["check", END])
    graph.add_conditional_edges("check", _next_check, ["check", END])
    return graph.compile()


async def deep_verification(ctx: AgentContext, hypothesis: Hypothesis) -> ReviewDraft:
    """Assumptions and sub-assumptions, each judged; one fatal failure rejects the hypothesis."""
    deps = VerificationDeps(ctx, hypothesis_text(hypothesis))
    result = await _verification_graph().ainvoke(
        VerificationState(assumptions=[], checks=[], relations=[]), context=deps
    )
    state = cast(VerificationState, result)
    checks = [AssumptionCheckOut.model_validate_json(c) for c in state["checks"]]
    items = [
        {
            "assumption": text,
            "sub_assumptions": list(check.sub_assumptions),
            "verdict": check.verdict,
            "fatal": check.fatal and check.verdict == "fails",
            "reason": check.reason,
        }
        for text, check in zip(state["assumptions"], checks, strict=True)
    ]
    holds = sum(1 for i in items if i["verdict"] == "holds")
    uncertain = sum(1 for i in items if i["verdict"] == "uncertain")
    fatal = [str(i["assumption"]) for i in items if i["fatal"]]
    support = (holds + 0.5 * uncertain) / len(items)
    summary = f"{holds} of {len(items)} assumptions hold, {uncertain} uncertain"
    if fatal:
        summary += f"; fatal flaw: {clip(fatal[0], 160)}"
    return ReviewDraft(
        hypothesis_id=hypothesis.id,
        kind=ReviewKind.DEEP_VERIFICATION,
        passed=not fatal,
        scores={"correctness": round(1 + 4 * support, 2)},
        summary=summary,
        strengths=[str(i["assumption"]) for i in items if i["verdict"] == "holds"],
        weaknesses=[
            clip(f"{i['assumption']} ({i['verdict']}: {i['reason']})", 300)
            for i in items
            if i["verdict"] != "holds"
        ],
        details={"assumptions": items, "fatal": fatal},
        relations=triples([RelationOut.model_validate_json(r) for r in state["relations"]]),
    )
