"""The model preflight and the cost budget through the Python API, against a real local server.

`CoScientist.start` checks the model before a session exists; `Session.run` of a
stored session checks it before marking it running. `max_cost` is enforced from
the price table: refused at start without a price, and a run stops before the
recorded cost of its calls passes the limit.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from coscientist.config import Limits, ModelPrice, Settings
from coscientist.errors import (
    ConfigError,
    ModelRefusedError,
    ModelUnauthorizedError,
    ModelUnreachableError,
)
from coscientist.llm.preflight import check_model
from coscientist.llm.pricing import DEFAULT_PRICES, find_price, worst_case_cost
from coscientist.scheduler.budget import Budget
from coscientist.schemas import SessionStatus
from coscientist.session import CoScientist
from coscientist.session.research import DEFAULT_MAX_CALLS
from tests.fakes import FakeOpenAIServer

pytestmark = pytest.mark.anyio


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(strict_models=True) as running:
        yield running


def dead_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/v1"


def openai_settings(
    tmp_path: Path, url: str, model: str = "openai-compatible", **kw: object
) -> Settings:
    return Settings(db=f"sqlite:///{tmp_path / 's.db'}", model=model, base_url=url, **kw)  # type: ignore[arg-type]


# --- preflight --------------------------------------------------------------------------


def test_the_probe_names_the_served_model(server: FakeOpenAIServer, tmp_path: Path) -> None:
    checked = check_model(openai_settings(tmp_path, server.url))
    assert checked.model == "fake-model"
    assert server.chat_requests == 0, "GET /models was enough"


def test_a_server_without_models_route_is_asked_for_one_token(tmp_path: Path) -> None:
    with FakeOpenAIServer(models_status=404, strict_models=True) as server:
        settings = openai_settings(tmp_path, server.url, "openai-compatible:fake-model")
        assert check_model(settings).model == "fake-model"
        assert server.chat_requests == 1
        assert server.bodies[-1]["max_tokens"] == 1


@pytest.mark.parametrize(
    ("make_url", "error", "words"),
    [
        (lambda s: dead_url(), ModelUnreachableError, "cannot reach"),
        (lambda s: s.url.removesuffix("/v1"), ModelRefusedError, "HTTP 404"),
    ],
    ids=["unreachable", "wrong-path"],
)
def test_start_refuses_a_dead_endpoint_and_stores_nothing(
    server: FakeOpenAIServer, tmp_path: Path, make_url: object, error: type[Exception], words: str
) -> None:
    url = make_url(server)  # type: ignore[operator]
    with CoScientist(openai_settings(tmp_path, url)) as cs:
        with pytest.raises(error, match=words):
            cs.start("Why do leaves change colour?")
        assert cs.sessions() == []


def test_start_refuses_a_wrong_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COSCIENTIST_API_KEY", "wrong-key")
    with FakeOpenAIServer(api_key="right-key") as server:
        with CoScientist(openai_settings(tmp_path, server.url)) as cs:
            with pytest.raises(ModelUnauthorizedError, match="HTTP 401"):
                cs.start("Why do leaves change colour?")
            assert cs.sessions() == []


async def test_a_resumed_session_on_a_dead_endpoint_is_not_marked_running(
    server: FakeOpenAIServer, tmp_path: Path
) -> None:
    settings = openai_settings(tmp_path, server.url)
    with CoScientist(settings) as cs:
        created = cs.start("Why do leaves change colour?")
    server.stop()  # the server goes away between runs
    with CoScientist(settings) as cs:
        session = cs.session(created.id)
        with pytest.raises(ModelUnreachableError):
            await session.run(Limits(max_calls=5))
        assert cs.store.get_session(created.id).status == SessionStatus.CREATED


async def test_a_resume_whose_backend_cannot_be_built_is_not_marked_running(tmp_path: Path) -> None:
    settings = Settings(db=f"sqlite:///{tmp_path / 's.db'}", model=f"gguf:{tmp_path / 'm.gguf'}")
    (tmp_path / "m.gguf").write_bytes(b"GGUF")
    with CoScientist(settings) as cs:
        created = cs.start("Why do leaves change colour?")
    (tmp_path / "m.gguf").unlink()
    with CoScientist(settings) as cs:
        with pytest.raises(Exception, match="does not exist"):
            await cs.session(created.id).run(Limits(max_calls=5))
        assert cs.store.get_session(created.id).status == SessionStatus.CREATED


# --- prices -----------------------------------------------------------------------------


def test_prices_match_names_with_dates_and_providers() -> None:
    assert find_price("gpt-4o-2024-08-06", DEFAULT_PRICES) == DEFAULT_PRICES["gpt-4o"]
    assert find_price("gpt-4o-mini-2024-07-18", DEFAULT_PRICES) == DEFAULT_PRICES["gpt-4o-mini"]
    assert find_price("openai/gpt-4.1-nano", DEFAULT_PRICES) == DEFAULT_PRICES["gpt-4.1-nano"]
    assert find_price("gpt-4oxyz", DEFAULT_PRICES) is None
    assert find_price("Qwen/Qwen3-8B", DEFAULT_PRICES) is None


def test_worst_case_cost_bounds_the_real_cost() -> None:
    price = ModelPrice(input=3.0, output=15.0)
    messages = [{"role": "user", "content": "ü" * 100}]
    bound = worst_case_cost(price, messages, max_tokens=50)  # type: ignore[arg-type]
    assert bound >= (200 * 3.0 + 50 * 15.0) / 1e6  # 100 two-byte characters: 200 bytes at least
    assert worst_case_cost(ModelPrice(input=0, output=0), messages, 50) == 0  # type: ignore[arg-type]


def test_max_cost_without_a_price_is_refused_at_start(
    server: FakeOpenAIServer, tmp_path: Path
) -> None:
    with CoScientist(openai_settings(tmp_path, server.url)) as cs:
        with pytest.raises(ConfigError, match="--max-cost needs the price of 'fake-model'"):
            cs.start("Why do leaves change colour?", limits=Limits(max_cost=0.5))
        assert cs.sessions() == []


def test_models_run_here_cost_nothing(tmp_path: Path) -> None:
    settings = Settings(db=f"sqlite:///{tmp_path / 's.db'}", model="scripted")
    assert check_model(settings, max_cost=0.01).price == ModelPrice(input=0, output=0)


def test_max_cost_alone_keeps_the_default_call_cap(tmp_path: Path) -> None:
    settings = Settings(db=f"sqlite:///{tmp_path / 's.db'}", model="scripted")
    with CoScientist(settings) as cs:
        session = cs.start("Why do leaves change colour?", limits=Limits(max_cost=0.01))
        limits = session._effective_limits(None, {})
    assert limits.max_calls == DEFAULT_MAX_CALLS and limits.max_cost == 0.01


async def test_a_budget_waits_for_calls_in_flight_then_refuses_what_cannot_fit() -> None:
    budget = Budget(Limits(max_cost=1.0))
    first = await budget.acquire(0.6)
    assert first is not None
    assert budget.reserve(0.5) is None and budget.spent() is None, "may fit once 0.6 settles"
    got: list[object] = []
    async with anyio.create_task_group() as tg:

        async def second() -> None:
            got.append(await budget.acquire(0.5))

        tg.start_soon(second)
        await anyio.sleep(0.05)
        assert got == [], "waits while the first call is in flight"
        first.settle(0.2)
    assert got and got[0] is not None
    assert budget.cost == pytest.approx(0.2) and budget.reserved_cost == pytest.approx(0.5)
    assert await budget.acquire(0.85) is None, "0.2 spent + 0.85 worst case > 1.0, even alone"
    assert budget.spent() == "cost budget"


async def test_a_run_stops_before_max_cost(server: FakeOpenAIServer, tmp_path: Path) -> None:
    """Priced at 50/200 USD per million tokens, 1.5 USD buys a few dozen calls."""
    prices = {"fake-model": ModelPrice(input=50.0, output=200.0)}
    settings = openai_settings(tmp_path, server.url, concurrency=4, prices=prices)
    with CoScientist(settings) as cs:
        session = cs.start("Why do leaves change colour?", limits=Limits(max_cost=1.5))
        summary = await session.run()
        stats = cs.store.call_stats(session.id)
        info = cs.store.get_session(session.id)
    assert summary.stop_reason == "cost budget"
    assert info.stop_reason == "cost budget"
    assert 0 < stats["cost_usd"] <= 1.5
    # The run stops when the next call's worst case (all its prompt bytes as tokens, the
    # whole max_tokens answered) no longer fits: well before that, it spends.
    assert stats["cost_usd"] > 0.75
    assert stats["answered"] >= 10


async def test_the_same_goal_twice_in_one_store_fails_no_task(tmp_path: Path) -> None:
    """Hypothesis ids differ between sessions of one goal and seed (they used to collide)."""
    settings = Settings(db=f"sqlite:///{tmp_path / 's.db'}", model="scripted", concurrency=4)
    goal = "Why do some tumours resist immunotherapy?"
    with CoScientist(settings) as cs:
        summaries = []
        for _ in range(2):
            session = cs.start(goal)
            summaries.append(await session.run(Limits(max_calls=80)))
        sessions = cs.sessions()
        counts = [cs.store.count_hypotheses(s.id) for s in sessions]
    assert [s.tasks_failed for s in summaries] == [0, 0]
    assert all(s.tasks_done > 0 for s in summaries)
    assert len(sessions) == 2 and all(n > 0 for n in counts)
