"""Generation agent: new hypotheses from the research goal (co-scientist paper, section 3.3.1).

Four strategies: literature exploration, a simulated scientific debate,
assumption identification (identified, then refined into sub-assumptions over
a few rounds), and research expansion into the gaps the meta-review found. Each writes one hypothesis per model call; asking for
`count` repeats the final call, showing the titles written so far so the
drafts differ.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import cycle
from typing import Any, TypedDict, cast

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from pydantic import BaseModel, Field

from agents import sources as lit
from agents.common import GENERATION, ask, clip, sample
from agents.context import AgentContext
from agents.outputs import DebateTurnOut, HypothesisOut, Lines5, SomeLines4
from coscientist.errors import ModelOutputError
from coscientist.schemas import GENERATION_STRATEGIES, Hypothesis, HypothesisDraft

log = logging.getLogger(__name__)

STRATEGIES = GENERATION_STRATEGIES
DEBATE_TURNS = 3
ASSUMPTION_ROUNDS = 2  # refinements of the assumptions before the hypothesis is written
EXISTING_TITLES = 10
MAX_COUNT = 10

PERSONAS: tuple[tuple[str, str], ...] = (
    ("Theorist", "a theorist who looks for the underlying mechanism"),
    ("Experimentalist", "an experimentalist who asks how each claim would be measured"),
    ("Skeptic", "a skeptic who hunts for confounders and contrary evidence"),
    ("Outsider", "a researcher from a neighbouring field who brings analogies"),
    ("Methodologist", "a methods expert who weighs feasibility and cost"),
)

NO_TOOLS_NOTE = "(Not grounded in a literature search: no literature tools were available.)"
NO_RESULTS_NOTE = "(The literature search found no sources for this goal.)"


class AssumptionsOut(BaseModel):
    assumptions: SomeLines4 = Field(description="testable assumptions, one line each")


class RefinedAssumptionsOut(BaseModel):
    sub_assumptions: Lines5 = Field(
        default_factory=list, description="what the assumptions rest on, one line each"
    )
    assumptions: SomeLines4 = Field(description="the refined assumptions, one line each")


Draft = Callable[[list[str]], Awaitable[HypothesisDraft]]


async def generate(
    ctx: AgentContext,
    strategy: str,
    *,
    existing: Sequence[Hypothesis] = (),
    count: int = 1,
) -> list[HypothesisDraft]:
    """Up to `count` new hypotheses (fewer only if the model stops answering validly)."""
    if strategy not in STRATEGIES:
        raise ValueError(
            f"unknown generation strategy {strategy!r}; use one of {', '.join(STRATEGIES)}"
        )
    if not 1 <= count <= MAX_COUNT:
        raise ValueError(f"count must be between 1 and {MAX_COUNT}, got {count}")
    titles = [clip(h.title, 100) for h in sample(ctx.rng, existing, EXISTING_TITLES)]
    origin = f"generation:{strategy}"
    if strategy == "literature":
        return await _literature(ctx, titles, count, origin)
    if strategy == "debate":
        return await debate(ctx, titles, count, origin)
    if strategy == "expansion" and ctx.feedback and ctx.feedback.gaps:
        return await _expansion(ctx, titles, count, origin, ctx.feedback.gaps)
    if strategy == "graph_gap" and ctx.focus:
        return await _graph_gap(ctx, titles, count, origin)
    # assumptions, and expansion before any meta-review has found gaps
    return await _assumptions(ctx, titles, count, origin)


async def _repeat(count: int, titles: list[str], draft: Draft) -> list[HypothesisDraft]:
    """Call `draft` up to `count` times; a failure after the first success keeps what we have."""
    drafts: list[HypothesisDraft] = []
    for _ in range(count):
        try:
            new = await draft(titles)
        except ModelOutputError:
            if not drafts:
                raise
            log.warning(
                "kept %d of %d hypotheses: the model stopped answering validly", len(drafts), count
            )
            break
        drafts.append(new)
        titles = [*titles, clip(new.title, 100)]
    return drafts


async def _literature(
    ctx: AgentContext, titles: list[str], count: int, origin: str
) -> list[HypothesisDraft]:
    found = await lit.search(ctx, ctx.goal)
    sources = found or []
    note = NO_TOOLS_NOTE if found is None else (NO_RESULTS_NOTE if not found else "")

    async def draft(seen: list[str]) -> HypothesisDraft:
        out = await ask(
            ctx,
            GENERATION,
            "generation/literature.j2",
            HypothesisOut,
            insights=True,
            sources=lit.lines(sources),
            existing=seen,
        )
        return out.to_draft(
            origin,
            citations=await lit.check_all(ctx, lit.citations(sources, out.sources)),
            note=note,
            inspired_by=ctx.focus,
        )

    return await _repeat(count, titles, draft)


async def _assumptions(
    ctx: AgentContext, titles: list[str], count: int, origin: str
) -> list[HypothesisDraft]:
    """Assumptions identified, refined over `ASSUMPTION_ROUNDS` rounds, then built on."""
    deps = AssumptionDeps(ctx, titles, ASSUMPTION_ROUNDS)
    result = await _assumption_graph().ainvoke(
        AssumptionState(assumptions=[], sub_assumptions=[], rounds=0), context=deps
    )
    found = cast(AssumptionState, result)

    async def draft(seen: list[str]) -> HypothesisDraft:
        out = await ask(
            ctx,
            GENERATION,
            "generation/from_assumptions.j2",
            HypothesisOut,
            insights=True,
            assumptions=found["assumptions"],
            sub_assumptions=found["sub_assumptions"],
            existing=seen,
        )
        result = out.to_draft(origin, inspired_by=ctx.focus)
        if not result.assumptions:
            result.assumptions = list(found["assumptions"][:2])
        return result

    return await _repeat(count, titles, draft)


# --- iterative assumption identification (a LangGraph graph) ---------------------


class AssumptionState(TypedDict):
    assumptions: list[str]
    sub_assumptions: list[str]  # found in the latest round
    rounds: int  # refinement rounds done


@dataclass(frozen=True)
class AssumptionDeps:
    ctx: AgentContext
    titles: list[str]
    rounds: int


async def _identify(state: AssumptionState, runtime: Runtime[AssumptionDeps]) -> dict[str, Any]:
    deps = runtime.context
    out = await ask(
        deps.ctx,
        GENERATION,
        "generation/assumptions.j2",
        AssumptionsOut,
        insights=True,
        existing=deps.titles,
    )
    return {"assumptions": list(out.assumptions)}


async def _refine(state: AssumptionState, runtime: Runtime[AssumptionDeps]) -> dict[str, Any]:
    deps = runtime.context
    try:
        out = await ask(
            deps.ctx,
            GENERATION,
            "generation/refine_assumptions.j2",
            RefinedAssumptionsOut,
            assumptions=state["assumptions"],
            sub_assumptions=state["sub_assumptions"],
            round=state["rounds"] + 1,
            rounds=deps.rounds,
        )
    except ModelOutputError:
        # A refinement the model cannot write leaves the assumptions as they are: the
        # hypothesis is still written from the last valid round.
        log.warning("assumption refinement stopped after %d round(s)", state["rounds"])
        return {"rounds": deps.rounds}
    return {
        "assumptions": list(out.assumptions),
        "sub_assumptions": list(out.sub_assumptions),
        "rounds": state["rounds"] + 1,
    }


def _after_round(state: AssumptionState, runtime: Runtime[AssumptionDeps]) -> str:
    return "refine" if state["rounds"] < runtime.context.rounds else END


@cache
def _assumption_graph() -> CompiledStateGraph[
    AssumptionState, AssumptionDeps, AssumptionState, AssumptionState
]:
    graph = StateGraph(AssumptionState, context_schema=AssumptionDeps)
    graph.add_node("identify", _identify)
    graph.add_node("refine", _refine)
    graph.add_edge(START, "identify")
    graph.add_conditional_edges("identify", _after_round, ["refine", END])
    graph.add_conditional_edges("refine", _after_round, ["refine", END])
    return graph.compile()


async def _expansion(
    ctx: AgentContext, titles: list[str], count: int, origin: str, gaps: Sequence[str]
) -> list[HypothesisDraft]:
    directions = cycle([clip(gap, 300) for gap in ctx.rng.sample(list(gaps), len(gaps))])

    async def draft(seen: list[str]) -> HypothesisDraft:
        direction = next(directions)
        out = await ask(
            ctx,
            GENERATION,
            "generation/expansion.j2",
            HypothesisOut,
            insights=True,
            direction=direction,
            existing=seen,
        )
        return out.to_draft(origin, inspired_by=ctx.focus)

    return await _repeat(count, titles, draft)


async def _graph_gap(
    ctx: AgentContext, titles: list[str], count: int, origin: str
) -> list[HypothesisDraft]:
    """Into an area of the knowledge graph no top hypothesis covers, through a bridge concept."""

    async def draft(seen: list[str]) -> HypothesisDraft:
        out = await ask(
            ctx, GENERATION, "generation/graph_gap.j2", HypothesisOut, insights=True, existing=seen
        )
        return out.to_draft(origin, inspired_by=ctx.focus)

    return await _repeat(count, titles, draft)


# --- simulated scientific debate (a LangGraph graph) ----------------------------


class DebateState(TypedDict):
    transcript: list[str]
    drafts: list[str]  # HypothesisDraft JSON, written by the moderator


@dataclass(frozen=True)
class DebateDeps:
    ctx: AgentContext
    speakers: tuple[tuple[str, str], ...]
    turns: int
    titles: list[str]
    count: int
    origin: str


async def _speak(state: DebateState, runtime: Runtime[DebateDeps]) -> dict[str, Any]:
    deps = runtime.context
    turn = len(state["transcript"])
    name, persona = deps.speakers[turn % len(deps.speakers)]
    out = await ask(
        deps.ctx,
        GENERATION,
        "generation/debate_turn.j2",
        DebateTurnOut,
        insights=True,
        existing=deps.titles,
        transcript=state["transcript"][-6:],
        persona=persona,
        turn=turn + 1,
        turns=deps.turns,
    )
    return {"transcript": [*state["transcript"], f"{name}: {out.argument}"]}


def _after_turn(state: DebateState, runtime: Runtime[DebateDeps]) -> str:
    return "speak" if len(state["transcript"]) < runtime.context.turns else "conclude"


async def _conclude(state: DebateState, runtime: Runtime[DebateDeps]) -> dict[str, Any]:
    deps = runtime.context

    async def draft(seen: list[str]) -> HypothesisDraft:
        out = await ask(
            deps.ctx,
            GENERATION,
            "generation/debate_final.j2",
            HypothesisOut,
            insights=True,
            existing=seen,
            transcript=state["transcript"],
        )
        return out.to_draft(deps.origin, inspired_by=deps.ctx.focus)

    drafts = await _repeat(deps.count, deps.titles, draft)
    return {"drafts": [_draft_json(d) for d in drafts]}


def _draft_json(draft: HypothesisDraft) -> str:
    """A draft as JSON with its relations, which the plain dump leaves out (they are not stored)."""
    data = draft.model_dump(mode="json")
    data["relations"] = [t.model_dump() for t in draft.relations]
    return json.dumps(data)


@cache
def _debate_graph() -> CompiledStateGraph[DebateState, DebateDeps, DebateState, DebateState]:
    graph = StateGraph(DebateState, context_schema=DebateDeps)
    graph.add_node("speak", _speak)
    graph.add_node("conclude", _conclude)
    graph.add_edge(START, "speak")
    graph.add_conditional_edges("speak", _after_turn, ["speak", "conclude"])
    graph.add_edge("conclude", END)
    return graph.compile()


async def debate(
    ctx: AgentContext,
    titles: Sequence[str],
    count: int = 1,
    origin: str = "generation:debate",
    *,
    turns: int = DEBATE_TURNS,
) -> list[HypothesisDraft]:
    """`turns` debate turns among expert personas, then `count` moderator drafts."""
    if turns < 1:
        raise ValueError(f"a debate needs at least one turn, got {turns}")
    speakers = tuple(ctx.rng.sample(PERSONAS, min(3, len(PERSONAS))))
    deps = DebateDeps(ctx, speakers, turns, list(titles), count, origin)
    result = await _debate_graph().ainvoke(DebateState(transcript=[], drafts=[]), context=deps)
    state = cast(DebateState, result)
    return [HypothesisDraft.model_validate_json(d) for d in state["drafts"]]
