"""Ranking agent: pairwise comparisons for the tournament (co-scientist paper, section 3.3.3).

The supervisor decides the order (randomised and recorded against position
bias); here the pair is shown as "Hypothesis 1" and "Hypothesis 2" in that
order and the judge's 1 or 2 is mapped back to ids. Single mode is one call;
debate mode is a LangGraph debate of alternating advocates, then a judge.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Literal, TypedDict, cast

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from agents.common import RANKING, ask, hypothesis_text, review_lines, reviews_of
from agents.context import AgentContext
from agents.outputs import Argument, DebateTurnOut, Relations3, relations_required, triples
from coscientist.schemas import Hypothesis, MatchMode, MatchVerdict, Review

DEFAULT_TURNS = 3
MAX_TURNS = 10


def _side(value: Any) -> Any:
    """Accept "1", "Hypothesis 2" or 1.0 for a side; the schema says integer 1 or 2."""
    if isinstance(value, str):
        found = re.findall(r"[12]", value)
        return int(found[0]) if len(found) == 1 else value
    if isinstance(value, float) and value in (1.0, 2.0):
        return int(value)
    return value


Side = Annotated[Literal[1, 2], BeforeValidator(_side)]


class JudgementOut(BaseModel):
    model_config = ConfigDict(json_schema_extra=relations_required)

    reasoning: Argument
    winner: Side
    relations: Relations3 = Field(default_factory=list)


@dataclass(frozen=True)
class Pair:
    """What every ranking prompt shows: both hypotheses and their reviews, in order."""

    first: str
    second: str
    first_reviews: list[str]
    second_reviews: list[str]

    @classmethod
    def of(
        cls,
        first: Hypothesis,
        second: Hypothesis,
        reviews: Mapping[str, Sequence[Review]] | None,
    ) -> Pair:
        return cls(
            first=hypothesis_text(first),
            second=hypothesis_text(second),
            first_reviews=review_lines(reviews_of(reviews, first.id)),
            second_reviews=review_lines(reviews_of(reviews, second.id)),
        )


async def compare(
    ctx: AgentContext,
    first: Hypothesis,
    second: Hypothesis,
    *,
    mode: MatchMode = MatchMode.SINGLE,
    reviews: Mapping[str, Sequence[Review]] | None = None,
    turns: int = DEFAULT_TURNS,
) -> MatchVerdict:
    """Judge `first` (shown as Hypothesis 1) against `second` (Hypothesis 2)."""
    if first.id == second.id:
        raise ValueError(f"cannot compare hypothesis {first.id} with itself")
    pair = Pair.of(first, second, reviews)
    transcript: list[str] = []
    if mode is MatchMode.DEBATE:
        if not 1 <= turns <= MAX_TURNS:
            raise ValueError(f"a ranking debate takes 1 to {MAX_TURNS} turns, got {turns}")
        out, transcript = await _debate(ctx, pair, turns)
    else:
        out = await ask(ctx, RANKING, "ranking/compare.j2", JudgementOut, pair=pair)
    winner, rationale = out.winner, out.reasoning
    return MatchVerdict(
        first_id=first.id,
        second_id=second.id,
        winner_id=first.id if winner == 1 else second.id,
        mode=mode,
        rationale=rationale,
        turns=transcript,
        relations=triples(out.relations),
    )


# --- debate (a LangGraph graph) ------------------------------------------------


class DebateState(TypedDict):
    transcript: list[str]
    judgement: str  # JudgementOut JSON once judged, "" before


@dataclass(frozen=True)
class DebateDeps:
    ctx: AgentContext
    pair: Pair
    turns: int


async def _advocate(state: DebateState, runtime: Runtime[DebateDeps]) -> dict[str, Any]:
    deps = runtime.context
    turn = len(state["transcript"])
    side = 1 + turn % 2  # advocates alternate, Hypothesis 1's advocate opens
    out = await ask(
        deps.ctx,
        RANKING,
        "ranking/debate_turn.j2",
        DebateTurnOut,
        transcript=state["transcript"][-6:],
        side=side,
        turn=turn + 1,
        turns=deps.turns,
        pair=deps.pair,
    )
    line = f"Advocate for Hypothesis {side}: {out.argument}"
    return {"transcript": [*state["transcript"], line]}


def _after_turn(state: DebateState, runtime: Runtime[DebateDeps]) -> str:
    return "advocate" if len(state["transcript"]) < runtime.context.turns else "judge"


async def _judge(state: DebateState, runtime: Runtime[DebateDeps]) -> dict[str, Any]:
    deps = runtime.context
    out = await ask(
        deps.ctx,
        RANKING,
        "ranking/debate_judge.j2",
        JudgementOut,
        transcript=state["transcript"],
        pair=deps.pair,
    )
    return {"judgement": out.model_dump_json()}


@cache
def _debate_graph() -> CompiledStateGraph[DebateState, DebateDeps, DebateState, DebateState]:
    graph = StateGraph(DebateState, context_schema=DebateDeps)
    graph.add_node("advocate", _advocate)
    graph.add_node("judge", _judge)
    graph.add_edge(START, "advocate")
    graph.add_conditional_edges("advocate", _after_turn, ["advocate", "judge"])
    graph.add_edge("judge", END)
    return graph.compile()


async def _debate(ctx: AgentContext, pair: Pair, turns: int) -> tuple[JudgementOut, list[str]]:
    """`turns` advocate turns and one judge call: turns + 1 model calls."""
    result = await _debate_graph().ainvoke(
        DebateState(transcript=[], judgement=""),
        context=DebateDeps(ctx, pair, turns),
    )
    state = cast(DebateState, result)
    return JudgementOut.model_validate_json(state["judgement"]), state["transcript"]
