"""The openai-compatible backend through ModelClient against a real local HTTP server."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import anyio
import pytest
from pydantic import BaseModel, Field

from coscientist.errors import (
    ModelRefusedError,
    ModelTimeoutError,
    ModelTransportError,
    ModelUnreachableError,
)
from coscientist.llm import CallContext, Message, ModelClient
from coscientist.llm.openai_compat import OpenAICompatibleBackend
from tests.fakes import FakeOpenAIServer, Reply
from tests.fakes.records import Records

pytestmark = pytest.mark.anyio

SECRET = "sk-test-0123456789abcdef"
MESSAGES: list[Message] = [
    {"role": "system", "content": "You are a careful scientist."},
    {"role": "user", "content": "Propose a hypothesis about bee colony collapse."},
]


class Idea(BaseModel):
    title: str = Field(max_length=60)
    confidence: int = Field(ge=1, le=5)


GOOD = {"title": "Mites spread viruses", "confidence": 4}


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as running:
        yield running


def client_for(
    url: str, *, timeout: float = 5.0, model: str | None = "test-model", **kwargs: object
) -> tuple[ModelClient, Records]:
    records = Records()
    backend = OpenAICompatibleBackend(url, model=model, api_key=SECRET, timeout=timeout)
    kwargs.setdefault("backoff_base", 0.001)
    client = ModelClient(backend, recorder=records, **kwargs)  # type: ignore[arg-type]
    return client, records


def chat_bodies(server: FakeOpenAIServer) -> list[dict[str, object]]:
    return [b for b in server.bodies if "messages" in b]


async def test_valid_answer_uses_json_schema_response_format(server: FakeOpenAIServer) -> None:
    server.push(Reply.json(GOOD))
    client, records = client_for(server.url)
    completion = await client.complete(MESSAGES, Idea, ctx=CallContext(role="generation"))
    await client.aclose()
    assert completion.value == Idea(**GOOD)
    assert completion.model == "test-model"
    assert completion.tokens_in > 0 and completion.tokens_out > 0
    (body,) = chat_bodies(server)
    assert body["messages"] == MESSAGES
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "Idea", "schema": Idea.model_json_schema(), "strict": False},
    }
    assert records.outcomes == ["ok"]
    assert (records[0].role, records[0].model) == ("generation", "test-model")


async def test_default_responder_gives_schema_valid_answers(server: FakeOpenAIServer) -> None:
    client, records = client_for(server.url)
    values = [(await client.complete(MESSAGES, Idea)).value for _ in range(3)]
    await client.aclose()
    assert len({v.title for v in values}) == 3
    assert records.outcomes == ["ok"] * 3


async def test_malformed_answer_is_repaired(server: FakeOpenAIServer) -> None:
    server.push(Reply.malformed(), Reply.json(GOOD))
    client, records = client_for(server.url)
    completion = await client.complete(MESSAGES, Idea)
    await client.aclose()
    assert completion.value.title == GOOD["title"]
    assert records.outcomes == ["malformed", "repaired"]
    repair = chat_bodies(server)[1]["messages"]
    assert isinstance(repair, list) and repair[-2]["role"] == "assistant"


async def test_truncated_answer_is_repaired(server: FakeOpenAIServer) -> None:
    server.push(Reply.truncated(), Reply.json(GOOD))
    client, records = client_for(server.url)
    completion = await client.complete(MESSAGES, Idea)
    await client.aclose()
    assert completion.value.confidence == 4
    assert records.outcomes == ["truncated", "repaired"]


@pytest.mark.parametrize(("status", "outcome"), [(503, "server_error"), (429, "rate_limited")])
async def test_server_errors_are_retried(
    server: FakeOpenAIServer, status: int, outcome: str
) -> None:
    server.push(Reply.http_error(status, "overloaded"), Reply.json(GOOD))
    client, records = client_for(server.url)
    completion = await client.complete(MESSAGES, Idea)
    await client.aclose()
    assert completion.attempts == 2
    assert records.outcomes == [outcome, "ok"]
    assert records[0].error is not None and f"HTTP {status}" in records[0].error
    assert server.chat_requests == 2


async def test_timeout_is_retried_then_succeeds(server: FakeOpenAIServer) -> None:
    server.push(Reply.slow(2.0), Reply.json(GOOD))
    client, records = client_for(server.url, timeout=0.3)
    completion = await client.complete(MESSAGES, Idea)
    await client.aclose()
    assert completion.value.title == GOOD["title"]
    assert records.outcomes == ["timeout", "ok"]


async def test_timeouts_past_the_retry_limit_raise(server: FakeOpenAIServer) -> None:
    server.push(Reply.slow(2.0), Reply.slow(2.0), Reply.json(GOOD))
    client, records = client_for(server.url, timeout=0.2, transport_retries=1)
    with pytest.raises(ModelTimeoutError, match="gave up after 2 attempts"):
        await client.complete(MESSAGES, Idea)
    await client.aclose()
    assert records.outcomes == ["timeout", "timeout"]


async def test_client_errors_are_not_retried_and_carry_the_server_message(
    server: FakeOpenAIServer,
) -> None:
    server.push(Reply.http_error(404, f"model test-model not found (key {SECRET})"))
    client, records = client_for(server.url)
    with pytest.raises(ModelRefusedError) as caught:
        await client.complete(MESSAGES, Idea)
    await client.aclose()
    assert not isinstance(caught.value, ModelTransportError)
    assert caught.value.status == 404
    assert "HTTP 404" in str(caught.value) and "not found" in str(caught.value)
    assert SECRET not in str(caught.value)
    assert records.outcomes == ["refused"]
    assert all(SECRET not in r.model_dump_json() for r in records)


async def test_api_key_goes_only_in_the_authorization_header(server: FakeOpenAIServer) -> None:
    client, _ = client_for(server.url)
    await client.complete(MESSAGES, Idea)
    await client.aclose()
    assert server.auth_headers == [f"Bearer {SECRET}"]
    assert SECRET not in json.dumps(server.bodies)


async def test_falls_back_per_request_and_keeps_json_object_after_repeated_refusals() -> None:
    with FakeOpenAIServer(reject_json_schema=True) as server:
        client, records = client_for(server.url)
        values = [(await client.complete(MESSAGES, Idea)).value for _ in range(4)]
        await client.aclose()
    assert all(isinstance(v, Idea) for v in values)
    kinds = [b["response_format"]["type"] for b in chat_bodies(server)]  # type: ignore[index]
    # Three refusals in a row, each answered in json_object: then json_object for good.
    assert kinds == ["json_schema", "json_object"] * 3 + ["json_object"]
    assert chat_bodies(server)[1]["response_format"] == {
        "type": "json_object",
        "schema": Idea.model_json_schema(),
    }
    assert records.outcomes == ["ok"] * 4, "the fallback happens inside one attempt"


async def test_no_fallback_once_json_schema_has_worked(server: FakeOpenAIServer) -> None:
    client, records = client_for(server.url)
    await client.complete(MESSAGES, Idea)
    server.push(Reply.http_error(500))
    await client.complete(MESSAGES, Idea)
    await client.aclose()
    kinds = [b["response_format"]["type"] for b in chat_bodies(server)]  # type: ignore[index]
    assert kinds == ["json_schema"] * 3
    assert records.outcomes == ["ok", "server_error", "ok"]


async def test_a_failed_fallback_keeps_json_schema(server: FakeOpenAIServer) -> None:
    server.push(Reply.http_error(500), Reply.http_error(500), Reply.json(GOOD))
    client, records = client_for(server.url)
    await client.complete(MESSAGES, Idea)
    await client.aclose()
    kinds = [b["response_format"]["type"] for b in chat_bodies(server)]  # type: ignore[index]
    assert kinds == ["json_schema", "json_object", "json_schema"]
    assert records.outcomes == ["server_error", "ok"]


async def test_model_is_discovered_once(server: FakeOpenAIServer) -> None:
    client, records = client_for(server.url, model=None)
    async with anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(client.complete, MESSAGES, Idea)
    await client.aclose()
    assert server.requests_received - server.chat_requests == 1
    assert {b["model"] for b in chat_bodies(server)} == {"fake-model"}
    assert {r.model for r in records} == {"fake-model"}


async def test_unreachable_server_is_a_transport_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client, records = client_for(f"http://127.0.0.1:{port}/v1", transport_retries=1)
    with pytest.raises(ModelUnreachableError, match="cannot reach"):
        await client.complete(MESSAGES, Idea)
    await client.aclose()
    assert records.outcomes == ["unreachable", "unreachable"]


async def test_https_to_a_plain_http_server_fails_at_the_connect_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A server that accepts and never answers the TLS handshake (plain HTTP waiting for a
    request) used to hold the probe for its whole timeout; the connect timeout ends it and
    the message says what to try."""
    from coscientist.llm import openai_compat

    monkeypatch.setattr(openai_compat, "CONNECT_TIMEOUT", 0.5)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]  # accepted by the kernel's backlog, never answered
        backend = OpenAICompatibleBackend(f"https://127.0.0.1:{port}/v1", model="m", timeout=30)
        started = anyio.current_time()
        with pytest.raises(ModelTimeoutError, match=r"connection within 0.5 s.*try http://"):
            await backend.probe()
        assert anyio.current_time() - started < 5
        await backend.aclose()


async def test_many_calls_in_flight() -> None:
    with FakeOpenAIServer(latency=0.5) as server:
        client, records = client_for(server.url, concurrency=64)
        async with anyio.create_task_group() as tg:
            for i in range(64):
                messages: list[Message] = [{"role": "user", "content": f"question {i}"}]
                tg.start_soon(client.complete, messages, Idea)
        await client.aclose()
    assert client.max_in_flight == 64
    # 0.5 s leaves the client ample time to open all 64 before the first answer returns
    assert server.max_concurrent >= 60
    assert len(records) == 64 and set(records.outcomes) == {"ok"}


async def test_server_capacity_queues_requests() -> None:
    with FakeOpenAIServer(latency=0.05, capacity=2) as server:
        client, _ = client_for(server.url)
        async with anyio.create_task_group() as tg:
            for i in range(6):
                messages: list[Message] = [{"role": "user", "content": f"question {i}"}]
                tg.start_soon(client.complete, messages, Idea)
        await client.aclose()
    assert server.max_concurrent == 2
    assert server.max_pending > 2
