"""ModelClient over the scripted backend: validation, repair, backoff, gate, limits, records."""

from __future__ import annotations

import hashlib
import json

import anyio
import pytest
from pydantic import BaseModel, Field

from coscientist.errors import (
    ModelOutputError,
    ModelRefusedError,
    ModelTimeoutError,
    ModelTransportError,
)
from coscientist.llm import CallContext, Message, ModelClient, ScriptedBackend
from coscientist.llm.base import RawCompletion
from coscientist.llm.client import extract_json, prompt_hash
from tests.fakes.records import Records

pytestmark = pytest.mark.anyio

MESSAGES: list[Message] = [
    {"role": "system", "content": "You are a careful scientist."},
    {"role": "user", "content": "Propose a hypothesis about bee colony collapse."},
]
CTX = CallContext(role="generation", session_id="s1", task_id="t1")


class Idea(BaseModel):
    title: str = Field(max_length=60)
    confidence: int = Field(ge=1, le=5)


GOOD = '{"title": "Mites spread viruses", "confidence": 4}'


def make(backend: ScriptedBackend, **kwargs: object) -> tuple[ModelClient, Records]:
    records = Records()
    kwargs.setdefault("backoff_base", 0.001)
    return ModelClient(backend, recorder=records, **kwargs), records  # type: ignore[arg-type]


async def test_valid_answer_is_parsed_and_recorded() -> None:
    backend = ScriptedBackend()
    backend.queue(GOOD)
    client, records = make(backend)
    completion = await client.complete(MESSAGES, Idea, ctx=CTX)
    assert completion.value == Idea(title="Mites spread viruses", confidence=4)
    assert completion.attempts == 1 and completion.model == "scripted"
    assert completion.tokens_out > 0 and completion.tokens_in > 0
    (record,) = records
    assert (record.outcome, record.attempt, record.role) == ("ok", 1, "generation")
    assert (record.session_id, record.task_id) == ("s1", "t1")
    assert record.prompt_hash == prompt_hash(MESSAGES)
    assert (client.calls, client.tokens_out) == (1, completion.tokens_out)


async def test_json_schema_comes_from_the_model() -> None:
    backend = ScriptedBackend()
    client, _ = make(backend)
    await client.complete(MESSAGES, Idea)
    (sent,) = backend.requests
    assert sent.json_schema == Idea.model_json_schema()
    assert sent.schema_name == "Idea"


async def test_prompt_hash_is_sha256_of_the_messages_and_never_the_text() -> None:
    backend = ScriptedBackend()
    client, records = make(backend)
    await client.complete(MESSAGES, Idea, ctx=CTX)
    expected = hashlib.sha256(
        json.dumps(MESSAGES, sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()
    assert records[0].prompt_hash == expected
    assert "colony" not in records[0].model_dump_json()


@pytest.mark.parametrize(
    "text",
    [
        f"```json\n{GOOD}\n```",
        f"Sure! Here is the JSON:\n{GOOD}\nHope it helps.",
        '{"title": "line one\nline two", "confidence": 2}',  # raw newline: strict=False
    ],
)
async def test_fenced_or_wrapped_json_is_accepted_without_repair(text: str) -> None:
    backend = ScriptedBackend()
    backend.queue(text)
    client, records = make(backend)
    completion = await client.complete(MESSAGES, Idea)
    assert completion.attempts == 1
    assert records.outcomes == ["ok"]


def test_extract_json_raises_without_an_object() -> None:
    with pytest.raises(ValueError):
        extract_json("no braces here")


async def test_malformed_answer_is_repaired() -> None:
    backend = ScriptedBackend()
    backend.queue('{"title": "unterminated', '{"title": "ok", "confidence": 9}', GOOD)
    client, records = make(backend)
    completion = await client.complete(MESSAGES, Idea, ctx=CTX)
    assert completion.value.confidence == 4
    assert completion.attempts == 3
    assert records.outcomes == ["malformed", "invalid", "repaired"]
    assert [r.attempt for r in records] == [1, 2, 3]
    assert records[0].error is not None and "invalid JSON" in records[0].error
    assert records[1].error is not None and "confidence" in records[1].error
    second = list(backend.requests[1].messages)
    assert second[:2] == MESSAGES
    assert second[2] == {"role": "assistant", "content": '{"title": "unterminated'}
    assert second[3]["role"] == "user" and "only the" in second[3]["content"]
    third = backend.requests[2].messages
    assert "confidence" in third[-1]["content"], "the repair turn names the validation error"
    assert len({r.prompt_hash for r in records}) == 3


async def test_truncated_answer_is_retried_with_a_larger_budget() -> None:
    backend = ScriptedBackend()
    backend.queue(RawCompletion(text='{"title": "a long', finish_reason="length"), GOOD)
    client, records = make(backend)
    completion = await client.complete(MESSAGES, Idea, max_tokens=100)
    assert completion.value.title == "Mites spread viruses"
    assert records.outcomes == ["truncated", "repaired"]
    first, second = backend.requests
    assert (first.max_tokens, second.max_tokens) == (100, 200)
    assert second.messages == first.messages  # same prompt, more room


async def test_truncated_at_the_largest_budget_asks_for_a_shorter_one() -> None:
    backend = ScriptedBackend()
    cut = RawCompletion(text='{"title": "a long', finish_reason="length")
    backend.queue(cut, cut, cut, GOOD)
    client, records = make(backend, repair_attempts=3)
    completion = await client.complete(MESSAGES, Idea, max_tokens=100)
    assert completion.value.title == "Mites spread viruses"
    assert [r.max_tokens for r in backend.requests] == [100, 200, 400, 400]
    assert records.outcomes == ["truncated", "truncated", "truncated", "repaired"]
    assert "shorter" in backend.requests[3].messages[-1]["content"]


async def test_gives_up_after_repair_attempts() -> None:
    backend = ScriptedBackend()
    backend.queue(*["nonsense"] * 5)
    client, records = make(backend, repair_attempts=2)
    with pytest.raises(ModelOutputError, match="no valid Idea after 3 answers"):
        await client.complete(MESSAGES, Idea)
    assert records.outcomes == ["malformed"] * 3
    assert backend.pending == 2


async def test_transport_errors_are_retried_with_backoff() -> None:
    backend = ScriptedBackend()
    backend.queue(ModelTransportError("HTTP 503"), ModelTimeoutError("slow"), GOOD)
    client, records = make(backend, transport_retries=4)
    completion = await client.complete(MESSAGES, Idea)
    assert completion.attempts == 3
    assert records.outcomes == ["transport_error", "timeout", "ok"]
    assert records[0].error == "HTTP 503"
    assert client.calls == 3


async def test_transport_errors_past_the_limit_raise() -> None:
    backend = ScriptedBackend()
    backend.queue(*[ModelTimeoutError("slow")] * 3, GOOD)
    client, records = make(backend, transport_retries=2)
    with pytest.raises(ModelTimeoutError, match="gave up after 3 attempts"):
        await client.complete(MESSAGES, Idea)
    assert records.outcomes == ["timeout"] * 3
    assert backend.pending == 1


async def test_backoff_grows_exponentially() -> None:
    backend = ScriptedBackend()
    backend.queue(*[ModelTransportError("down")] * 3, GOOD)
    client, _ = make(backend, backoff_base=0.04, transport_retries=3)
    started = anyio.current_time()
    await client.complete(MESSAGES, Idea)
    waited = anyio.current_time() - started
    # jittered steps of 0.04, 0.08, 0.16 s: at least half of each, at most all of them
    assert 0.14 <= waited < 0.5


async def test_other_model_errors_are_not_retried() -> None:
    backend = ScriptedBackend()
    backend.queue(ModelRefusedError("HTTP 400: bad request", status=400), GOOD)
    client, records = make(backend)
    with pytest.raises(ModelRefusedError, match="bad request"):
        await client.complete(MESSAGES, Idea)
    assert records.outcomes == ["refused"]
    assert backend.pending == 1


async def test_gate_is_awaited_before_every_attempt() -> None:
    backend = ScriptedBackend()
    backend.queue(ModelTransportError("down"), "bad", GOOD)
    gate_calls: list[int] = []

    async def gate(cost: float) -> None:
        gate_calls.append(len(backend.requests))

    client, _ = make(backend, gate=gate)
    await client.complete(MESSAGES, Idea)
    assert gate_calls == [0, 1, 2]


async def test_a_closed_gate_holds_calls_back() -> None:
    backend = ScriptedBackend()
    opened = anyio.Event()

    async def gate(cost: float) -> None:
        await opened.wait()

    client, _ = make(backend, gate=gate)
    async with anyio.create_task_group() as tg:
        tg.start_soon(client.complete, MESSAGES, Idea)
        await anyio.sleep(0.02)
        assert backend.requests == [] and client.calls == 0
        opened.set()
    assert client.calls == 1


async def test_concurrency_limits_calls_in_flight() -> None:
    backend = ScriptedBackend(latency=0.02)
    client, _ = make(backend, concurrency=3)
    async with anyio.create_task_group() as tg:
        for i in range(10):
            tg.start_soon(client.complete, [{"role": "user", "content": f"q{i}"}], Idea)
    assert client.max_in_flight == 3
    assert backend.max_in_flight == 3
    assert client.in_flight == 0 and client.calls == 10


async def test_default_concurrency_comes_from_the_backend() -> None:
    client = ModelClient(ScriptedBackend(latency=0.01))
    assert client.concurrency == 64


async def test_each_request_gets_its_own_seed() -> None:
    backend = ScriptedBackend()
    client, _ = make(backend, seed=5)
    await client.complete(MESSAGES, Idea)
    await client.complete(MESSAGES, Idea)
    seeds = [r.seed for r in backend.requests]
    assert None not in seeds and seeds[0] != seeds[1]
    backend_unseeded = ScriptedBackend()
    await make(backend_unseeded)[0].complete(MESSAGES, Idea)
    assert backend_unseeded.requests[0].seed is None


async def test_free_text_call() -> None:
    backend = ScriptedBackend()
    backend.queue(RawCompletion(text="A long musing", finish_reason="length", tokens_out=3))
    client, records = make(backend)
    completion = await client.text(MESSAGES, ctx=CTX, max_tokens=32)
    assert completion.value == "A long musing"
    assert backend.requests[0].json_schema is None
    assert backend.requests[0].max_tokens == 32
    assert records.outcomes == ["truncated"]


async def test_the_gate_and_recorder_given_at_construction_see_every_attempt() -> None:
    backend = ScriptedBackend()
    records = Records()
    gate_calls: list[None] = []

    async def gate(cost: float) -> None:
        gate_calls.append(None)

    client = ModelClient(backend, recorder=records, gate=gate)
    await client.complete(MESSAGES, Idea)
    assert records.outcomes == ["ok"] and len(gate_calls) == 1
