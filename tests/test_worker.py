"""Scale-out: a run queues tasks ahead (queue_depth) and `coscientist worker` processes take them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import pytest

from coscientist.config import Limits, Settings
from coscientist.schemas import TaskKind, TaskSpec, TaskState
from coscientist.session import CoScientist
from coscientist.store import Store
from coscientist.store.audit import starting_ratings
from coscientist.tournament import ratings
from tests.scheduler_support import capture_schedulers

pytest_plugins = ["tests.store_fixtures"]

GOAL = "Explain why some bacteria survive antibiotics without resistance genes"
WORKER = Path(sys.executable).with_name("coscientist")


def settings(tmp_path: Path, **kw: Any) -> Settings:
    return Settings(db=f"sqlite:///{tmp_path / 'w.db'}", seed=5, **kw)


def test_task_states_reports_each_known_task(store: Store, sid: str) -> None:
    first, second = store.enqueue(sid, [TaskSpec(kind=TaskKind.REVIEW)] * 2)
    (claimed,) = store.claim(sid, "w1")
    assert store.task_states([]) == {}
    assert store.task_states([first.id, second.id, "missing"]) == {
        claimed.id: TaskState.RUNNING,
        second.id if claimed.id == first.id else first.id: TaskState.PENDING,
    }
    store.fail_task(claimed.id, "w1", "boom", retry=False)
    assert store.task_states([claimed.id]) == {claimed.id: TaskState.DEAD}


class EnqueueSpy:
    def __init__(self, store: Store) -> None:
        self.real = store.enqueue
        self.ids: list[str] = []

    def __call__(self, session_id: str, specs: list[TaskSpec]) -> Any:
        tasks = self.real(session_id, specs)
        self.ids += [t.id for t in tasks]
        return tasks


@pytest.mark.anyio
@pytest.mark.parametrize("depth", [0, 3])
async def test_only_a_queue_depth_queues_and_the_run_takes_back_what_no_one_took(
    tmp_path: Path, depth: int
) -> None:
    # Calls of 0.1 s: the run lasts longer than the grace a planner gives workers (2 s) before
    # it takes its queue back.
    config = settings(tmp_path, model="scripted:latency=0.1", concurrency=2, queue_depth=depth)
    with CoScientist(config) as cs:
        spy = EnqueueSpy(cs.store)
        cs.store.enqueue = spy  # type: ignore[method-assign]
        session = cs.start(GOAL)
        summary = await session.run(Limits(max_calls=80))
        assert summary.stop_reason == "call budget", summary
        if depth == 0:
            assert spy.ids == []  # without a queue depth a run queues nothing
        else:
            # No worker: every queued task still counted as in flight until this run claimed it.
            assert len(spy.ids) >= depth
            done = [s for s in cs.store.task_states(spy.ids).values() if s == TaskState.DONE]
            assert done
        assert not cs.store.list_tasks(session.id, states={TaskState.RUNNING})


def _assert_consistent(store: Store, session_id: str) -> None:
    matches = sorted(store.list_matches(session_id), key=lambda m: m.seq)
    assert matches
    # One match per match task: no result applied twice, whoever ran it.
    assert len({m.task_id for m in matches}) == len(matches)
    replay = starting_ratings(store, session_id)
    replay, _ = ratings.replay(
        ((m.first_id, m.second_id, m.winner_id == m.first_id) for m in matches), replay
    )
    stored = store.ratings(session_id)
    for hid, (mu, sigma) in replay.items():
        assert stored[hid].mu == pytest.approx(mu)
        assert stored[hid].sigma == pytest.approx(sigma)
    assert not store.list_tasks(session_id, states={TaskState.RUNNING})


@pytest.mark.anyio
async def test_a_worker_process_takes_a_share_of_a_running_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    planners = capture_schedulers(monkeypatch)
    config = settings(tmp_path, model="scripted:latency=0.05", concurrency=2, queue_depth=6)
    env = {**os.environ, "COSCIENTIST_CONFIG": str(tmp_path / "none.toml")}
    args = [str(WORKER), "worker", "--db", config.db, "--idle-exit", "2", "--concurrency", "4"]
    errors = (tmp_path / "worker.err").open("w")
    popen = partial(subprocess.Popen, stdout=subprocess.PIPE, stderr=errors, text=True, env=env)
    proc = await anyio.to_thread.run_sync(popen, args)
    try:
        assert proc.stdout is not None
        ready = await anyio.to_thread.run_sync(proc.stdout.readline)
        assert ready.startswith("worker on"), ready
        with CoScientist(config) as cs:
            session = cs.start(GOAL)
            summary = await session.run(Limits(max_calls=150))
            out, _ = await anyio.to_thread.run_sync(lambda: proc.communicate(timeout=20))
            assert proc.returncode == 0, (tmp_path / "worker.err").read_text()
            done = [int(n) for n in re.findall(rf"session {session.id}: (\d+) tasks done", out)]
            assert done and sum(done) > 0, out
            assert summary.tasks_done > 0
            _assert_consistent(cs.store, session.id)
            # The planner mirrored the workers' matches: every one up to the seq it synced to.
            (planner,) = planners
            synced = [m for m in cs.store.list_matches(session.id) if m.seq <= planner._match_seq]
            assert synced and planner.state.matches_done >= len(synced)
            mirrored = planner.state.ratings
            assert all(mirrored[m.winner_id].matches > 0 for m in synced)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        errors.close()
