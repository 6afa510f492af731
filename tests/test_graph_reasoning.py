"""Graph reasoning agent: reason -> extract -> next question, with a scripted model."""

from __future__ import annotations

import random

import pytest

from agents.context import AgentContext
from agents.graph_reasoning import (
    GraphStep,
    NextQuestion,
    ReasonedAnswer,
    Relations,
    path_question,
    reason,
    seed_question,
)
from coscientist.knowledge import KnowledgeGraph
from coscientist.llm.base import CallContext
from coscientist.llm.client import ModelClient
from coscientist.llm.scripted import ScriptedBackend
from coscientist.schemas import CallRecord, GraphTriple

pytestmark = pytest.mark.anyio


def make_context(backend: ScriptedBackend, records: list[CallRecord]) -> AgentContext:
    async def record(call: CallRecord) -> None:
        records.append(call)

    return AgentContext(
        llm=ModelClient(backend, recorder=record, repair_attempts=0),
        goal="Explain how tau pathology spreads in Alzheimer's disease",
        call=CallContext(role="supervisor", session_id="s1", task_id="t1"),
        rng=random.Random(0),
    )


async def test_one_step_returns_triples_and_the_next_question() -> None:
    backend = ScriptedBackend(seed=0)
    backend.queue(
        ReasonedAnswer(answer="Hyperphosphorylated tau detaches from microtubules."),
        {
            "triples": [
                {"source": "Tau  protein", "relation": "detaches from", "target": "microtubules"},
                {"source": "Tau protein", "relation": "is", "target": "tau proteins"},  # loop
                {"source": " ", "relation": "causes", "target": "synapse loss"},  # no source
            ]
        },
        NextQuestion(question="How does microtubule loss affect axonal transport?"),
    )
    records: list[CallRecord] = []
    step = await reason(
        make_context(backend, records),
        "What makes tau leave microtubules?",
        graph_context="Central concepts: tau protein (4 links)",
        iteration=3,
    )
    assert step == GraphStep(
        answer="Hyperphosphorylated tau detaches from microtubules.",
        triples=[
            GraphTriple(source="Tau protein", relation="detaches from", target="microtubules")
        ],
        next_question="How does microtubule loss affect axonal transport?",
    )
    # three calls, in order, each under the "graph" role with the caller's ids kept
    assert [r.role for r in records] == ["graph", "graph", "graph"]
    assert {(r.session_id, r.task_id) for r in records} == {("s1", "t1")}
    assert [r.schema_name for r in backend.requests] == [
        "ReasonedAnswer",
        "Relations",
        "NextQuestion",
    ]
    reason_prompt = backend.requests[0].messages[-1]["content"]
    assert "What makes tau leave microtubules?" in reason_prompt
    assert "Central concepts: tau protein (4 links)" in reason_prompt
    assert reason_prompt.index("Research goal") > reason_prompt.index("Reply as JSON")
    assert "Hyperphosphorylated tau" in backend.requests[1].messages[-1]["content"]
    assert "Tau protein, microtubules" in backend.requests[2].messages[-1]["content"]
    # The triples merge straight into a knowledge graph.
    part = KnowledgeGraph().merge(step.triples, iteration=3)
    assert [n.key for n in part.nodes] == ["tau protein", "microtubule"]


async def test_degenerate_question_falls_back_to_the_new_concepts() -> None:
    backend = ScriptedBackend(seed=0)
    backend.queue(
        ReasonedAnswer(answer="Amyloid beta seeds tau aggregation."),
        Relations.model_validate(
            {"triples": [{"source": "amyloid beta", "relation": "seeds", "target": "tau"}]}
        ),
        NextQuestion(question="1.1.1.1.1.1?"),
    )
    step = await reason(make_context(backend, []), "What seeds tau aggregation?")
    assert step.next_question == seed_question(["amyloid beta", "tau"])
    assert "amyloid beta" in step.next_question and "tau" in step.next_question


async def test_concepts_not_in_the_answer_are_dropped() -> None:
    """A small model copies the prompt's example or invents names: only grounded triples count."""
    backend = ScriptedBackend(seed=0)
    backend.queue(
        ReasonedAnswer(answer="Activated microglia release cytokines (IL-6) near neurons: p53."),
        {
            "triples": [
                {"source": "microglia", "relation": "release", "target": "cytokine"},
                {"source": "insulin", "relation": "lowers", "target": "blood glucose"},
                {"source": "https://x.org/a", "relation": "is", "target": "neurons"},
                {"source": "activated microglia", "relation": "near", "target": "brain neurons"},
                {"source": "IL-6", "relation": "activates", "target": "p53"},
            ]
        },
        NextQuestion(question="How do activated microglia release cytokines near neurons?"),
    )
    step = await reason(
        make_context(backend, []), "How do activated microglia release cytokines near neurons?"
    )
    assert [(t.source, t.target) for t in step.triples] == [
        ("microglia", "cytokine"),
        ("activated microglia", "brain neurons"),  # half of its words are in the answer
        ("IL-6", "p53"),  # short gene and protein names count as words
    ]
    # the proposed question only repeats the old one: ask about the new concepts instead
    assert step.next_question == seed_question(["microglia", "cytokine"])


async def test_no_relations_skips_the_question_call() -> None:
    backend = ScriptedBackend(seed=0)
    backend.queue(ReasonedAnswer(answer="Unclear."), Relations(triples=[]))
    step = await reason(make_context(backend, []), "What is tau?")
    assert step.triples == []
    assert step.next_question == "What is tau?"  # nothing new: keep asking
    assert len(backend.requests) == 2


async def test_unscripted_answers_still_give_a_valid_step() -> None:
    """Synthetic schema-valid answers (no queue) go through the whole graph."""
    backend = ScriptedBackend(seed=7)
    step = await reason(make_context(backend, []), "How do microglia react to tau?")
    assert step.answer
    assert all(t.source.strip() and t.target.strip() for t in step.triples)
    assert step.next_question


def test_seed_question() -> None:
    assert seed_question(["Fresh Idea", "x"]).startswith("How could Fresh Idea relate to x")
    assert "Fresh Idea" in seed_question(["Fresh Idea"])
    assert seed_question([], fallback="same") == "same"


async def test_a_compositional_question_walks_the_given_path() -> None:
    question = path_question(["efflux pump", "atp level", "dormancy"], ["drains", "<-slows"])
    assert "efflux pump -[drains]- atp level -[<-slows]- dormancy" in question
    assert question.index("efflux pump") < question.index("dormancy")
    with pytest.raises(ValueError):
        path_question(["a", "b"], [])
