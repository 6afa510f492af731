"""Failures that surface: bugs stop the run, store hiccups do not, dead owners' leases come back,
memory changes only after the store commits, and a stop asked before the loop starts holds."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

import agents.reflection
from coscientist.config import Limits, Settings
from coscientist.errors import ModelTransportError, StoreBusyError, StoreError
from coscientist.llm.scripted import ScriptedBackend
from coscientist.scheduler import failures
from coscientist.scheduler.loop import Scheduler
from coscientist.schemas import TaskKind, TaskResult, TaskSpec, TaskState
from coscientist.session import CoScientist
from coscientist.store import Store
from tests.scheduler_support import capture_schedulers

pytestmark = [pytest.mark.anyio, pytest.mark.task_failures]

GOAL = "Explain why some bacteria survive antibiotics without resistance genes"


def settings(tmp_path: Path, **kw: Any) -> Settings:
    return Settings(db=f"sqlite:///{tmp_path / 'f.db'}", model="scripted", seed=2, **kw)


def assert_memory_matches_store(scheduler: Scheduler, store: Store, session_id: str) -> None:
    """What the loop holds in memory is exactly what the store committed."""
    state = scheduler.state
    assert set(state.hypotheses) == {h.id for h in store.list_hypotheses(session_id)}
    stored = store.ratings(session_id)
    for hid, rating in state.ratings.items():
        assert (rating.mu, rating.sigma, rating.matches) == (
            stored[hid].mu,
            stored[hid].sigma,
            stored[hid].matches,
        )
    assert state.match_ids == {m.id for m in store.list_matches(session_id)}
    nodes, edges = store.graph(session_id)
    assert state.kg.nodes == len(
        {n.key for n in nodes} | {e.source for e in edges} | {e.target for e in edges}
    )
    assert state.kg.edges == len(edges)
    merges = store.graph_merges(session_id)
    assert {(m.alias, m.into) for m in state.kg.merges} == {(m.alias, m.into) for m in merges}
    stored_concepts = {n.key for n in nodes if n.kind.value == "concept"}
    assert set(state.kg.concept_keys()) == stored_concepts


async def test_a_bug_in_an_agent_stops_the_run_with_its_traceback_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_review = agents.reflection.review

    async def broken(ctx: Any, h: Any, kind: Any, *a: Any, **kw: Any) -> Any:
        if kind.value == "initial":
            raise TypeError("unsupported operand type(s) for +: 'int' and 'str'")
        return await real_review(ctx, h, kind, *a, **kw)

    monkeypatch.setattr(agents.reflection, "review", broken)
    with CoScientist(settings(tmp_path, concurrency=1)) as cs:
        session = cs.start(GOAL)
        summary = await session.run(Limits(max_calls=300))
        assert summary.error is not None and summary.error.startswith("internal error")
        assert summary.stop_reason == summary.error
        assert "TypeError" in summary.error
        dead = cs.store.list_tasks(session.id, states={TaskState.DEAD})
        # Not retried: each bug is one dead task, and the run stopped after MAX_BUGS of them.
        assert len(dead) == failures.MAX_BUGS
        assert all(t.attempts == 1 for t in dead)
        for task in dead:
            assert task.kind == TaskKind.REVIEW
            assert task.error is not None and "Traceback" in task.error
            assert "TypeError: unsupported operand" in task.error
        assert summary.calls < 60  # stopped early, not after spending the budget
        assert cs.store.get_session(session.id).stop_reason == summary.stop_reason


async def test_model_faults_are_retried_not_called_bugs() -> None:
    from coscientist.errors import ModelOutputError, ModelTimeoutError

    assert failures.classify(ModelOutputError("bad json")) == failures.FailureKind.MODEL
    assert failures.classify(ModelTimeoutError("slow")) == failures.FailureKind.UNREACHABLE
    assert failures.classify(StoreBusyError("locked")) == failures.FailureKind.STORE
    assert failures.classify(KeyError("x")) == failures.FailureKind.BUG
    count = failures.FailureCount(max_unreachable=3)
    assert count.failed_with(failures.FailureKind.UNREACHABLE, "down") is None
    count.succeeded()
    assert count.failed_with(failures.FailureKind.UNREACHABLE, "down") is None
    assert count.failed_with(failures.FailureKind.UNREACHABLE, "down") is None
    reason = count.failed_with(failures.FailureKind.UNREACHABLE, "down")
    assert reason is not None and reason.startswith("model unreachable")


async def test_a_busy_store_is_retried_and_never_ends_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with CoScientist(settings(tmp_path, concurrency=3)) as cs:
        store = cs.store
        real_complete, real_record = store.complete_task, store.record_calls
        calls = {"complete": 0, "record": 0}

        def flaky_complete(task_id: str, owner: str, result: TaskResult, new: Any = None) -> Any:
            calls["complete"] += 1
            if calls["complete"] % 4 == 1:  # every fourth commit meets a locked database
                raise StoreBusyError("database is locked")
            return real_complete(task_id, owner, result, new)

        def flaky_record(recs: list[Any]) -> None:
            calls["record"] += 1
            if calls["record"] <= 8:  # the first flushes fail after their retries too
                raise StoreBusyError("database is locked")
            real_record(recs)

        monkeypatch.setattr(store, "complete_task", flaky_complete)
        monkeypatch.setattr(store, "record_calls", flaky_record)
        session = cs.start(GOAL)
        summary = await session.run(Limits(max_calls=80))
        assert summary.error is None
        assert summary.stop_reason == "call budget"
        assert summary.tasks_failed == 0
        assert calls["complete"] > summary.tasks_done  # some commits needed a second try
        # No provenance row was lost to the failed flushes.
        assert store.call_stats(session.id)["calls"] == summary.calls >= 80
        assert not store.list_tasks(session.id, states={TaskState.FAILED, TaskState.DEAD})


async def test_memory_changes_only_after_the_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = capture_schedulers(monkeypatch)
    with CoScientist(settings(tmp_path, concurrency=2)) as cs:
        store = cs.store
        real_complete = store.complete_task
        refused = {"graph": 0, "other": 0}

        def refusing(task_id: str, owner: str, result: TaskResult, new: Any = None) -> Any:
            # Every graph step's result and every third result with hypotheses or matches is
            # refused by the store.
            kind = new.kind if new is not None else store.get_task(task_id).kind
            if kind == TaskKind.GRAPH:
                refused["graph"] += 1
                raise StoreError("refused the write: disk full")
            if result.hypotheses or result.matches:
                refused["other"] += 1
                if refused["other"] % 3 == 0:
                    raise StoreError("refused the write: disk full")
            return real_complete(task_id, owner, result, new)

        monkeypatch.setattr(store, "complete_task", refusing)
        session = cs.start(GOAL)
        await session.run(Limits(max_calls=160))
        assert refused["graph"] >= 1 and refused["other"] >= 3
        (scheduler,) = seen
        # Every graph step was refused: none of its parts is in memory. The graph still grew
        # from the hypotheses, reviews and matches the store did commit.
        state = scheduler.state
        assert state.graph_steps == 0
        assert not any(e.origin.startswith("graph:") for e in cs.store.graph(session.id)[1])
        assert state.kg.concepts > 0
        assert_memory_matches_store(scheduler, store, session.id)


async def test_a_normal_session_leaves_memory_equal_to_the_store_and_no_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = capture_schedulers(monkeypatch)
    with CoScientist(settings(tmp_path, concurrency=4)) as cs:
        session = cs.start(GOAL)
        summary = await session.run(Limits(max_calls=200, max_hypotheses=14))
        assert summary.tasks_failed == 0 and summary.error is None
        assert not cs.store.list_tasks(
            session.id, states={TaskState.FAILED, TaskState.DEAD, TaskState.RUNNING}
        )
        (scheduler,) = seen
        assert_memory_matches_store(scheduler, cs.store, session.id)


async def test_a_stop_asked_before_the_loop_starts_is_honoured(tmp_path: Path) -> None:
    with CoScientist(settings(tmp_path)) as cs:
        session = cs.start(GOAL)
        session.stop("interrupted during start-up")
        summary = await session.run(Limits(max_calls=50))
        assert summary.stop_reason == "interrupted during start-up"
        assert summary.calls == 0
        # The stop was for that run: the next one runs.
        again = await session.run(Limits(max_calls=10))
        assert again.stop_reason == "call budget" and again.calls >= 10


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


async def test_a_running_loop_takes_back_the_tasks_of_a_dead_owner(tmp_path: Path) -> None:
    config = settings(tmp_path, concurrency=2, lease_seconds=1.5)
    config = config.model_copy(update={"model": "scripted:latency=0.05"})
    with CoScientist(config) as cs:
        store = cs.store
        session = cs.start(GOAL)
        pid = _dead_pid()
        dead_owner = f"{socket.gethostname()}:{pid}:dead00"
        store.register_owner(dead_owner, pid, socket.gethostname())
        taken: dict[str, Any] = {}

        async def kill_a_worker_mid_run() -> None:
            await anyio.sleep(0.6)  # the run has started and done its start-up reclaim
            (task,) = store.enqueue(session.id, [TaskSpec(kind=TaskKind.GRAPH)])
            (claimed,) = store.claim(session.id, dead_owner, 1, 3600.0)  # a lease for an hour
            assert claimed.id == task.id and claimed.state == TaskState.RUNNING
            taken["id"] = task.id
            with anyio.fail_after(3.0):  # within one lease period (1.5 s) and a bit
                while store.get_task(task.id).state == TaskState.RUNNING:  # noqa: ASYNC110
                    await anyio.sleep(0.1)
            taken["state"] = store.get_task(task.id).state

        async with anyio.create_task_group() as tg:
            tg.start_soon(kill_a_worker_mid_run)
            summary = await session.run(Limits(max_calls=400, time_limit=6))
        assert taken["state"] in (TaskState.PENDING, TaskState.DONE)
        assert summary.tasks_failed == 0
        assert not store.list_tasks(session.id, states={TaskState.RUNNING})


class DeadEndpoint:
    """A backend whose every request fails as a connection refused: the model went away."""

    name = "dead-endpoint"
    default_concurrency = 4

    def __init__(self, after: int = 0) -> None:
        self.inner = ScriptedBackend(seed=1)
        self.after = after  # answer this many requests first
        self.requests = 0

    async def generate(self, request: Any) -> Any:
        self.requests += 1
        if self.requests > self.after:
            raise ModelTransportError("connection refused by 127.0.0.1:9")
        return await self.inner.generate(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_a_model_that_goes_away_stops_the_run_as_unreachable_and_resume_continues(
    tmp_path: Path,
) -> None:
    config = settings(tmp_path, concurrency=2, transport_retries=0)
    backend = DeadEndpoint(after=12)
    with CoScientist(config, backend=backend) as cs:
        session = cs.start(GOAL)
        summary = await session.run(Limits(max_calls=500))
        assert summary.error is not None and summary.stop_reason.startswith("model unreachable")
        assert "connection refused" in summary.stop_reason
        # Stopped after a run of failures, long before the budget.
        assert backend.requests < 12 + 2 * failures.MAX_UNREACHABLE
        # Nothing was given up: the failed tasks wait for a resume, none is dead.
        assert not cs.store.list_tasks(session.id, states={TaskState.DEAD, TaskState.RUNNING})
        retryable = cs.store.list_tasks(session.id, states={TaskState.FAILED})
        assert retryable and all(t.attempts == 0 for t in retryable)  # no attempt used up
        assert all("connection refused" in (t.error or "") for t in retryable)
        backend.after = 10**9  # the endpoint is back
        again = await session.run(Limits(max_calls=120))
        assert again.error is None and again.stop_reason == "call budget"
        assert not cs.store.list_tasks(session.id, states={TaskState.FAILED, TaskState.DEAD})
