"""ScriptedBackend and the schema-driven synthesizer: deterministic, valid, prompt-related answers."""

from __future__ import annotations

import enum
import json
import random
from typing import Literal

import anyio
import pytest
from pydantic import BaseModel, Field

from coscientist.llm.base import GenerationRequest, Message, RawCompletion
from coscientist.llm.scripted import ScriptedBackend
from coscientist.llm.synthetic import content_words, synthesize

pytestmark = pytest.mark.anyio

GOAL = "Explain how gut microbiome metabolites influence neuroinflammation in Parkinson disease"


class Stance(enum.StrEnum):
    SUPPORT = "support"
    REFUTE = "refute"


class Evidence(BaseModel):
    claim: str = Field(min_length=10, max_length=80)
    weight: float = Field(ge=0, le=1)
    rank: int = Field(gt=0, lt=4)


class Verdict(BaseModel):
    title: str = Field(max_length=40)
    statement: str = Field(min_length=20, max_length=160)
    winner: Literal["A", "B"]
    stance: Stance
    mode: Literal["single"]
    counter: Evidence | None = None
    evidence: list[Evidence] = Field(min_length=2, max_length=4)
    tags: list[str] = Field(default_factory=list, max_length=2)
    scores: dict[str, float] = Field(default_factory=dict)
    passed: bool


def request(content: str = GOAL, schema: type[BaseModel] | None = Verdict) -> GenerationRequest:
    messages: list[Message] = [{"role": "user", "content": content}]
    return GenerationRequest(
        messages=messages, json_schema=schema.model_json_schema() if schema else None
    )


async def answers(backend: ScriptedBackend, prompts: list[str]) -> list[str]:
    return [(await backend.generate(request(p))).text for p in prompts]


async def test_same_seed_same_answers_and_other_seed_differs() -> None:
    prompts = [GOAL, "Why do honeybee colonies collapse in winter?", GOAL]
    first = await answers(ScriptedBackend(seed=3), prompts)
    again = await answers(ScriptedBackend(seed=3), prompts)
    other = await answers(ScriptedBackend(seed=4), prompts)
    assert first == again
    assert first != other
    assert first[0] != first[2], "a repeated prompt must get a fresh answer"


async def test_synthetic_answers_validate_against_nested_schema() -> None:
    backend = ScriptedBackend(seed=11)
    winners = set()
    for i in range(60):
        raw = await backend.generate(request(f"{GOAL} (variant {i})"))
        verdict = Verdict.model_validate_json(raw.text)
        winners.add(verdict.winner)
        assert verdict.mode == "single"
        assert 2 <= len(verdict.evidence) <= 4
        assert len(verdict.title) <= 40
        assert 20 <= len(verdict.statement) <= 160
    assert winners == {"A", "B"}, "enum choices should vary across answers"


def test_synthesizer_respects_numeric_and_length_bounds() -> None:
    schema = {
        "type": "object",
        "properties": {
            "low": {"type": "integer", "exclusiveMinimum": 5, "exclusiveMaximum": 8},
            "neg": {"type": "number", "exclusiveMaximum": -5},
            "tiny": {"type": "string", "minLength": 3, "maxLength": 5},
            "items": {"type": "array", "items": {"type": "integer"}, "minItems": 0, "maxItems": 0},
            "pair": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}]},
            "maybe": {"type": ["string", "null"], "maxLength": 12},
        },
        "required": ["low", "neg", "tiny", "items", "pair", "maybe"],
    }
    for seed in range(40):
        value = synthesize(schema, random.Random(seed), ["membrane", "receptor"])
        assert 5 < value["low"] < 8
        assert value["neg"] < -5
        assert 3 <= len(value["tiny"]) <= 5
        assert value["items"] == []
        assert isinstance(value["pair"][0], str) and isinstance(value["pair"][1], int)
        assert isinstance(value["maybe"], str) and len(value["maybe"]) <= 12


async def test_strings_use_words_of_the_prompt() -> None:
    backend = ScriptedBackend(seed=0)
    texts = [
        Verdict.model_validate_json((await backend.generate(request())).text).statement
        for _ in range(5)
    ]
    goal_words = set(content_words([GOAL]))
    for text in texts:
        assert goal_words & set(text.lower().replace(".", "").split())
    assert len(set(texts)) == 5


async def test_queue_is_first_in_first_out_then_synthetic() -> None:
    backend = ScriptedBackend(seed=0)
    model_answer = Evidence(claim="the claim is long enough", weight=0.5, rank=1)
    backend.queue(
        "not json at all",
        {"claim": "a dict answer here", "weight": 0.1, "rank": 2},
        model_answer,
        RawCompletion(text="{}", finish_reason="length", tokens_out=7),
    )
    texts = [await backend.generate(request(schema=Evidence)) for _ in range(5)]
    assert texts[0].text == "not json at all"
    assert json.loads(texts[1].text)["claim"] == "a dict answer here"
    assert Evidence.model_validate_json(texts[2].text) == model_answer
    assert (texts[3].finish_reason, texts[3].tokens_out) == ("length", 7)
    Evidence.model_validate_json(texts[4].text)
    assert backend.pending == 0


async def test_queued_exception_is_raised() -> None:
    backend = ScriptedBackend()
    backend.queue(RuntimeError("boom"))
    with pytest.raises(RuntimeError, match="boom"):
        await backend.generate(request())


async def test_handler_answers_when_queue_is_empty_and_none_falls_back() -> None:
    seen: list[str] = []

    def handler(req: GenerationRequest) -> str | None:
        seen.append(req.messages[-1]["content"])
        return "handled" if "handle me" in req.messages[-1]["content"] else None

    backend = ScriptedBackend(handler=handler)
    backend.queue("queued")
    assert (await backend.generate(request("handle me"))).text == "queued"
    assert (await backend.generate(request("handle me"))).text == "handled"
    Verdict.model_validate_json((await backend.generate(request("other"))).text)
    assert seen == ["handle me", "other"]


async def test_free_text_without_schema() -> None:
    raw = await ScriptedBackend().generate(request(schema=None))
    assert raw.text.endswith(".") and not raw.text.startswith("{")
    assert raw.tokens_in > 0 and raw.tokens_out > 0


async def test_in_flight_is_counted_while_sleeping() -> None:
    backend = ScriptedBackend(latency=0.05, jitter=0.01)
    assert backend.default_concurrency == 64
    assert ScriptedBackend().default_concurrency == 8
    async with anyio.create_task_group() as tg:
        for i in range(10):
            tg.start_soon(backend.generate, request(f"prompt {i}"))
    assert backend.max_in_flight == 10
    assert backend.in_flight == 0


async def test_latency_settings_do_not_change_answers() -> None:
    prompts = [GOAL, GOAL]
    assert await answers(ScriptedBackend(seed=2), prompts) == await answers(
        ScriptedBackend(seed=2, latency=0.001, jitter=0.001), prompts
    )


async def test_request_log_is_bounded() -> None:
    backend = ScriptedBackend(keep_requests=10)
    for i in range(25):
        await backend.generate(request(f"prompt {i}"))
    assert 5 <= len(backend.requests) <= 10
    assert backend.requests[-1].messages[0]["content"] == "prompt 24"
