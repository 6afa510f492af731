"""Model faults against a real local HTTP server: each cause named, 429 waits, no refusal billed.

The fake OpenAI-compatible server answers 401/403/404/429/500 on demand; the
client must record the real cause, wait what Retry-After says, give a budget
back every attempt that got no answer, and keep json_schema after one transient
500 (only repeated refusals while json_object works switch the mode).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import BaseModel, Field

from coscientist.config import Limits, ModelPrice
from coscientist.errors import (
    ModelRateLimitedError,
    ModelRefusedError,
    ModelServerError,
    ModelTransportError,
    ModelUnauthorizedError,
    ModelUnreachableError,
    endpoint_is_dead,
)
from coscientist.llm import Message, ModelClient
from coscientist.llm.base import Reservation
from coscientist.llm.openai_compat import OpenAICompatibleBackend, retry_after
from coscientist.scheduler.budget import Budget
from coscientist.schemas import ANSWERED_OUTCOMES, UNANSWERED_OUTCOMES
from tests.fakes import FakeOpenAIServer, Reply
from tests.fakes.records import Records

pytestmark = pytest.mark.anyio

MESSAGES: list[Message] = [{"role": "user", "content": "Propose a hypothesis about sleep."}]
GOOD = {"title": "Glymphatic clearance peaks in deep sleep", "confidence": 3}


class Idea(BaseModel):
    title: str = Field(max_length=80)
    confidence: int = Field(ge=1, le=5)


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as running:
        yield running


def client_for(
    url: str, *, budget: Budget | None = None, **kwargs: object
) -> tuple[ModelClient, Records]:
    records = Records()
    backend = OpenAICompatibleBackend(url, model="fake-model", api_key="sk-x", timeout=5.0)
    kwargs.setdefault("backoff_base", 0.001)

    async def gate(worst_case_cost: float) -> Reservation | None:
        assert budget is not None
        reservation = budget.reserve(worst_case_cost)
        assert reservation is not None, "over budget in a test that does not expect it"
        return reservation

    client = ModelClient(
        backend,
        recorder=records,
        gate=gate if budget is not None else None,
        **kwargs,  # type: ignore[arg-type]
    )
    return client, records


@pytest.mark.parametrize(
    ("status", "error", "outcome"),
    [
        (401, ModelUnauthorizedError, "unauthorized"),
        (403, ModelUnauthorizedError, "unauthorized"),
        (404, ModelRefusedError, "refused"),
        (413, ModelRefusedError, "refused"),
    ],
)
async def test_a_refusal_is_not_retried_and_names_its_cause(
    server: FakeOpenAIServer, status: int, error: type[Exception], outcome: str
) -> None:
    server.push(Reply.http_error(status, "no"), Reply.json(GOOD))
    client, records = client_for(server.url)
    with pytest.raises(error) as caught:
        await client.complete(MESSAGES, Idea)
    await client.aclose()
    assert not isinstance(caught.value, ModelTransportError)
    assert records.outcomes == [outcome]
    assert server.chat_requests == 1
    assert endpoint_is_dead(caught.value) == (status in (401, 403, 404))


async def test_429_waits_for_retry_after(server: FakeOpenAIServer) -> None:
    server.push(Reply.http_error(429, "slow down", retry_after=0.6), Reply.json(GOOD))
    # The backoff alone would retry after about 1 ms: the wait is the server's.
    client, records = client_for(server.url)
    completion = await client.complete(MESSAGES, Idea)
    await client.aclose()
    assert completion.value.title == GOOD["title"]
    assert records.outcomes == ["rate_limited", "ok"]
    first, second = server.request_times
    assert second - first >= 0.6


def test_retry_after_reads_seconds_dates_and_milliseconds() -> None:
    assert retry_after({"retry-after": "2.5"}) == 2.5
    assert retry_after({"retry-after-ms": "250"}) == 0.25
    assert retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0  # in the past
    assert retry_after({"retry-after": "soon"}) is None
    assert retry_after({}) is None


@pytest.mark.parametrize(
    ("replies", "outcome", "error"),
    [
        # a 500 on json_schema is tried once more in json_object: two replies an attempt
        ([Reply.http_error(500)] * 4, "server_error", ModelServerError),
        (
            [Reply.http_error(429, retry_after=0), Reply.http_error(429, retry_after=0)],
            "rate_limited",
            ModelRateLimitedError,
        ),
    ],
    ids=["500", "429"],
)
async def test_unanswered_attempts_are_not_budgeted_calls(
    server: FakeOpenAIServer, replies: list[Reply], outcome: str, error: type[Exception]
) -> None:
    budget = Budget(Limits(max_calls=2))
    server.push(*replies)
    client, records = client_for(server.url, budget=budget, transport_retries=1)
    with pytest.raises(error):
        await client.complete(MESSAGES, Idea, max_tokens=64)
    assert records.outcomes == [outcome, outcome]
    assert budget.calls == 0 and budget.spent() is None
    # Both budgeted calls are still there for answers.
    for _ in range(2):
        await client.complete(MESSAGES, Idea, max_tokens=64)
    await client.aclose()
    assert budget.calls == 2 and budget.spent() == "call budget"
    assert records.outcomes[2:] == ["ok", "ok"]


async def test_an_unreachable_endpoint_is_not_billed_and_is_counted_as_a_streak() -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    budget = Budget(Limits(max_calls=5))
    client, records = client_for(f"http://127.0.0.1:{port}/v1", budget=budget, transport_retries=2)
    with pytest.raises(ModelUnreachableError) as caught:
        await client.complete(MESSAGES, Idea)
    await client.aclose()
    assert records.outcomes == ["unreachable"] * 3
    assert budget.calls == 0
    assert client.consecutive_failures == 3 and endpoint_is_dead(caught.value)
    assert all(r.cost_usd is None for r in records)


async def test_a_success_ends_the_failure_streak(server: FakeOpenAIServer) -> None:
    server.push(Reply.http_error(503), Reply.http_error(503), Reply.json(GOOD))
    client, _ = client_for(server.url)
    await client.complete(MESSAGES, Idea)
    await client.aclose()
    assert client.consecutive_failures == 0 and isinstance(client.last_failure, ModelServerError)


async def test_one_transient_500_keeps_json_schema(server: FakeOpenAIServer) -> None:
    """The first structured call meets a 500 once; json_object answers it; json_schema stays."""
    server.push(Reply.http_error(500, "temporarily overloaded"))
    client, records = client_for(server.url)
    for _ in range(3):
        await client.complete(MESSAGES, Idea)
    await client.aclose()
    kinds = [b["response_format"]["type"] for b in server.bodies if "messages" in b]
    assert kinds == ["json_schema", "json_object", "json_schema", "json_schema"]
    assert records.outcomes == ["ok"] * 3
    assert isinstance(client.backend, OpenAICompatibleBackend)
    assert client.backend.schema_mode == "json_schema"


async def test_json_object_is_kept_only_after_repeated_refusals() -> None:
    with FakeOpenAIServer(reject_json_schema=True) as server:
        client, _ = client_for(server.url)
        backend = client.backend
        assert isinstance(backend, OpenAICompatibleBackend)
        modes = []
        for _ in range(4):
            await client.complete(MESSAGES, Idea)
            modes.append(backend.schema_mode)
        await client.aclose()
    assert modes == ["json_schema", "json_schema", "json_object", "json_object"]


async def test_a_body_that_is_not_a_completion_is_a_malformed_response(
    server: FakeOpenAIServer,
) -> None:
    server.push(Reply.not_a_completion(), Reply.json(GOOD))
    client, records = client_for(server.url)
    completion = await client.complete(MESSAGES, Idea)
    await client.aclose()
    assert completion.value.title == GOOD["title"]
    assert records.outcomes == ["malformed_response", "ok"]
    assert "not a chat completion" in (records[0].error or "")


async def test_each_answered_call_records_its_cost(server: FakeOpenAIServer) -> None:
    budget = Budget(Limits(max_cost=1.0))
    client, records = client_for(server.url, budget=budget)
    client.price = ModelPrice(input=2.0, output=8.0)
    server.push(Reply.http_error(503))
    await client.complete(MESSAGES, Idea, max_tokens=64)
    await client.aclose()
    failed, answered = records
    assert failed.cost_usd is None
    expected = (answered.tokens_in * 2.0 + answered.tokens_out * 8.0) / 1e6
    assert answered.cost_usd == pytest.approx(expected) and expected > 0
    assert budget.cost == pytest.approx(expected) and budget.reserved_cost == pytest.approx(0)
    assert budget.calls == 1


def test_outcome_names_are_partitioned() -> None:
    assert not ANSWERED_OUTCOMES & UNANSWERED_OUTCOMES
    for cls in (ModelUnauthorizedError, ModelRefusedError, ModelServerError, ModelUnreachableError):
        assert cls.outcome in UNANSWERED_OUTCOMES
