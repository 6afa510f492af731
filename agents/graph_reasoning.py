"""Graph reasoning (Buehler, arXiv 2502.13025): reason, extract relations, ask the next question.

One step of the loop is a three-node LangGraph graph. The caller merges the
triples into the session's knowledge graph (coscientist.knowledge) and may
replace `next_question` with one built from `next_question_seeds`, which
favours newly added and bridge concepts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, TypedDict, TypeVar

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from pydantic import BaseModel, Field

from agents.common import steering
from agents.context import AgentContext
from coscientist.knowledge.names import grounded, grounding_words, normalise
from coscientist.llm.base import Message
from coscientist.prompting import render
from coscientist.schemas import GraphTriple

ROLE = "graph"
MAX_QUESTION_TOKENS = 128
MAX_CONCEPTS_IN_PROMPT = 8

# --- what the model is asked to produce (bounded: a small model must not loop) ---


class ReasonedAnswer(BaseModel):
    answer: str = Field(max_length=600)


class Relation(BaseModel):
    source: str = Field(max_length=48)
    relation: str = Field(max_length=32)
    target: str = Field(max_length=48)


class Relations(BaseModel):
    triples: list[Relation] = Field(max_length=8)


class NextQuestion(BaseModel):
    question: str = Field(max_length=200)


# --- what the agent returns ------------------------------------------------------


class GraphStep(BaseModel):
    answer: str
    triples: list[GraphTriple]
    next_question: str


class GraphState(TypedDict):
    question: str
    graph_context: str
    answer: str
    triples: list[GraphTriple]
    next_question: str


@dataclass(frozen=True)
class _Run:
    agent: AgentContext
    iteration: int


_T = TypeVar("_T", bound=BaseModel)


async def _ask(
    run: _Run, step: str, prompt: str, schema: type[_T], max_tokens: int | None = None
) -> _T:
    ctx = run.agent
    call = dataclasses.replace(
        ctx.call, role=ROLE, extra={**ctx.call.extra, "step": step, "iteration": run.iteration}
    )
    messages: list[Message] = [
        {"role": "system", "content": render("graph/system.j2")},
        {"role": "user", "content": prompt},
    ]
    completion = await ctx.llm.complete(
        messages, schema, ctx=call, max_tokens=max_tokens or ctx.max_tokens
    )
    return completion.value


_words = grounding_words


def _usable(found: Relation, answer_words: set[str]) -> GraphTriple | None:
    """Whitespace-tidied triple, or None when a concept is empty, ungrounded or a self-loop."""
    source, target = " ".join(found.source.split()), " ".join(found.target.split())
    source_key, target_key = normalise(source), normalise(target)
    if not source_key or not target_key or source_key == target_key:
        return None
    if not (grounded(source, answer_words) and grounded(target, answer_words)):
        return None
    return GraphTriple(source=source, relation=" ".join(found.relation.split()), target=target)


def concepts_of(triples: Sequence[GraphTriple]) -> list[str]:
    """Distinct concept names in first-seen order."""
    seen: dict[str, str] = {}
    for triple in triples:
        for name in (triple.source, triple.target):
            seen.setdefault(normalise(name), name)
    return list(seen.values())


def seed_question(seeds: Sequence[str], fallback: str = "") -> str:
    """A next question from seed concepts (see coscientist.knowledge.next_question_seeds)."""
    if len(seeds) >= 2:
        return f"How could {seeds[0]} relate to {seeds[1]}, and what mechanism links them?"
    if seeds:
        return f"What mechanisms involve {seeds[0]}, and what else do they affect?"
    return fallback


def path_question(labels: Sequence[str], relations: Sequence[str]) -> str:
    """Compositional reasoning along an actual path of the graph between two distant concepts."""
    steps = [labels[0]]
    for relation, label in zip(relations, labels[1:], strict=True):
        steps.append(f"-[{relation}]- {label}")
    chain = " ".join(steps)
    return (
        f"The knowledge graph links {labels[0]} to {labels[-1]} only through this chain: {chain}. "
        f"Reasoning step by step along it, how could {labels[0]} affect {labels[-1]}, "
        "and what mechanism could link them more directly?"
    )


async def _reason(state: GraphState, runtime: Runtime[_Run]) -> dict[str, Any]:
    prompt = render(
        "graph/reason.j2",
        goal=runtime.context.agent.goal,
        preferences=steering(runtime.context.agent),  # the scientist's and the plan's
        graph_context=state["graph_context"],
        question=state["question"],
    )
    answer = await _ask(runtime.context, "reason", prompt, ReasonedAnswer)
    return {"answer": answer.answer.strip()}


async def _extract(state: GraphState, runtime: Runtime[_Run]) -> dict[str, Any]:
    if not state["answer"]:
        return {"triples": []}
    prompt = render("graph/extract.j2", text=state["answer"])
    found = await _ask(runtime.context, "extract", prompt, Relations)
    answer_words = _words(state["answer"])
    triples = [t for t in (_usable(r, answer_words) for r in found.triples) if t is not None]
    return {"triples": triples}


async def _next_question(state: GraphState, runtime: Runtime[_Run]) -> dict[str, Any]:
    concepts = concepts_of(state["triples"])[:MAX_CONCEPTS_IN_PROMPT]
    fallback = seed_question(concepts, fallback=state["question"])
    if not concepts:
        return {"next_question": fallback}
    prompt = render(
        "graph/question.j2",
        goal=runtime.context.agent.goal,
        preferences=steering(runtime.context.agent),
        question=state["question"],
        concepts=concepts,
    )
    proposed = await _ask(
        runtime.context, "question", prompt, NextQuestion, max_tokens=MAX_QUESTION_TOKENS
    )
    question = " ".join(proposed.question.split())
    # A degenerate answer ("1.1.1...", "?") or the old question again: use the concepts.
    degenerate = sum(ch.isalpha() for ch in question) < 10
    repeated = _words(state["question"]) >= _words(question)
    return {"next_question": fallback if degenerate or repeated else question}


@cache
def _graph() -> Any:
    """Compiled once, on first use; no checkpointer: the store keeps the results."""
    builder = StateGraph(GraphState, context_schema=_Run)
    builder.add_node("reason", _reason)
    builder.add_node("extract", _extract)
    builder.add_node("next_question", _next_question)
    builder.add_edge(START, "reason")
    builder.add_edge("reason", "extract")
    builder.add_edge("extract", "next_question")
    builder.add_edge("next_question", END)
    return builder.compile(name="graph_reasoning")


async def reason(
    ctx: AgentContext, question: str, *, graph_context: str = "", iteration: int = 0
) -> GraphStep:
    """One iteration of the graph-reasoning loop about `question`.

    `graph_context` is what the graph already holds (hubs, bridges: for
    example the lines of `coscientist.knowledge.insights`).
    """
    state: GraphState = {
        "question": question,
        "graph_context": graph_context,
        "answer": "",
        "triples": [],
        "next_question": "",
    }
    final = await _graph().ainvoke(state, context=_Run(agent=ctx, iteration=iteration))
    return GraphStep(
        answer=final["answer"], triples=final["triples"], next_question=final["next_question"]
    )
