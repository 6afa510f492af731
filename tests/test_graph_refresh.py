"""Graph refreshes beside the slots keep to a share of the loop's core (scheduler/graph_refresh.py)."""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest

from coscientist.events import EventBus
from coscientist.scheduler import graph_refresh
from coscientist.scheduler.graph_refresh import GraphRefresher
from coscientist.scheduler.state import SessionState
from coscientist.schemas import GraphTriple

pytestmark = pytest.mark.anyio

ANALYSIS_S = 0.3


def refresher(monkeypatch: pytest.MonkeyPatch) -> tuple[GraphRefresher, list[float]]:
    state = SessionState(rng=random.Random(1), session_id="s")
    state.kg.merge(
        [GraphTriple(source=f"c{i}", relation="binds", target=f"c{i + 1}") for i in range(30)],
        iteration=1,
    )
    starts: list[float] = []
    real = graph_refresh._analyse

    def slow(*args: Any) -> Any:
        starts.append(time.monotonic())
        time.sleep(ANALYSIS_S)  # a large graph's analysis
        return real(*args)

    monkeypatch.setattr(graph_refresh, "_analyse", slow)
    return GraphRefresher(state, None, EventBus(), record=False, every=1), starts  # type: ignore[arg-type]


async def test_background_refreshes_wait_four_analyses_after_the_last(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    refresh, starts = refresher(monkeypatch)
    async with anyio.create_task_group() as tg:

        def spawn(job: Callable[[], Awaitable[object]]) -> None:
            tg.start_soon(job)

        refresh.spawn = spawn
        deadline = time.monotonic() + 4.0
        while time.monotonic() < deadline:  # a change every 20 ms: far more than it analyses
            await refresh.changed(["c1"])
            await anyio.sleep(0.02)
    assert len(starts) >= 2
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    # Each start waits for the analysis before it (0.3 s) and four times as long after it.
    assert min(gaps) >= 5 * ANALYSIS_S - 0.05, gaps
    assert len(starts) <= 3  # 4 s at 1.5 s a cycle; back to back it would be 13


async def test_a_refresh_awaited_at_concurrency_one_is_not_paused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    refresh, starts = refresher(monkeypatch)
    for _ in range(3):  # no spawn: each change is refreshed at once, so a seeded run replays
        await refresh.changed(["c1"])
    assert len(starts) == 3
