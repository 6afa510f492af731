"""The Store's task queue, owners, provenance and cache, and concurrent writers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from datetime import timedelta

import pytest

from coscientist.errors import LeaseLostError, NotFoundError, StoreError
from coscientist.schemas import (
    CallRecord,
    SessionInfo,
    SessionStatus,
    TaskKind,
    TaskResult,
    TaskSpec,
    TaskState,
    new_id,
    utcnow,
)
from coscientist.store import Store, owner_is_dead
from coscientist.store.tables import owners
from tests.store_support import add, beat, hyp

pytest_plugins = ["tests.store_fixtures"]


def test_claim_takes_highest_priority_then_oldest_and_respects_leases(
    store: Store, sid: str
) -> None:
    low, high, high2, other = store.enqueue(
        sid,
        [
            TaskSpec(kind=TaskKind.GENERATE, priority=0),
            TaskSpec(kind=TaskKind.MATCH, priority=5),
            TaskSpec(kind=TaskKind.MATCH, priority=5),
            TaskSpec(kind=TaskKind.REVIEW, priority=9),
        ],
    )
    first = store.claim(sid, "w1", limit=2, kinds={TaskKind.MATCH, TaskKind.GENERATE})
    assert [t.id for t in first] == [high.id, high2.id]
    assert all(t.state == TaskState.RUNNING and t.lease_owner == "w1" for t in first)
    assert first[0].lease_expires is not None and first[0].lease_expires > utcnow()
    assert [t.id for t in store.claim(sid, "w2", limit=5)] == [other.id, low.id]
    assert store.claim(sid, "w3") == []
    assert store.get_task(high.id).lease_owner == "w1"
    assert store.claim(sid, "w3", limit=0) == []


def test_a_task_started_in_memory_is_written_with_its_result(store: Store, sid: str) -> None:
    a, b = add(store, sid, 2)
    spec = TaskSpec(kind=TaskKind.MATCH, payload={"x": 1})
    task = store.running_task(sid, spec, "w1", 30)
    assert (task.state, task.lease_owner) == (TaskState.RUNNING, "w1")
    with pytest.raises(NotFoundError):
        store.get_task(task.id)  # nothing written yet
    # A commit that fails leaves neither the result nor the task's row.
    with pytest.raises(StoreError):
        store.complete_task(task.id, "w1", TaskResult(matches=[beat(a, a)]), new=task)
    with pytest.raises(NotFoundError):
        store.get_task(task.id)
    store.complete_task(task.id, "w1", TaskResult(matches=[beat(a, b)]), new=task)
    done = store.get_task(task.id)
    assert (done.state, done.payload, done.lease_owner) == (TaskState.DONE, {"x": 1}, None)
    assert [m.task_id for m in store.list_matches(sid)] == [task.id]
    # A failure is written the same way: a row, failed, claimable again.
    other = store.running_task(sid, spec, "w1", 30)
    failed = store.fail_task(other.id, "w1", "model timed out", new=other)
    assert (failed.state, failed.attempts, failed.error) == (TaskState.FAILED, 1, "model timed out")
    assert [t.id for t in store.claim(sid, "w2")] == [other.id]
    with pytest.raises((StoreError, NotFoundError)):  # no such session: refused either way
        store.complete_task(
            "t-x", "w1", TaskResult(), new=store.running_task("nope", spec, "w1", 1)
        )


def test_claim_without_a_session_serves_only_running_sessions(store: Store, sid: str) -> None:
    idle = store.create_session(SessionInfo(id=new_id(), goal="idle", model_spec="m"))
    store.enqueue(idle.id, [TaskSpec(kind=TaskKind.GENERATE, priority=10)])
    (mine,) = store.enqueue(sid, [TaskSpec(kind=TaskKind.GENERATE)])
    assert store.claim(None, "worker") == []
    store.update_session(sid, status=SessionStatus.RUNNING)
    assert [t.id for t in store.claim(None, "worker", limit=5)] == [mine.id]


def test_failures_are_retried_until_they_die(store: Store, sid: str) -> None:
    (task,) = store.enqueue(sid, [TaskSpec(kind=TaskKind.REVIEW, max_attempts=2)])
    store.claim(sid, "w1")
    with pytest.raises(LeaseLostError):
        store.fail_task(task.id, "w2", "not mine")
    failed = store.fail_task(task.id, "w1", "timeout")
    assert (failed.state, failed.attempts, failed.error, failed.lease_owner) == (
        TaskState.FAILED,
        1,
        "timeout",
        None,
    )
    assert [t.id for t in store.claim(sid, "w1")] == [task.id]
    dead = store.fail_task(task.id, "w1", "timeout again")
    assert (dead.state, dead.attempts) == (TaskState.DEAD, 2)
    assert dead.finished_at is not None
    assert store.claim(sid, "w1") == []
    assert store.get_task(task.id) == dead

    (fatal,) = store.enqueue(sid, [TaskSpec(kind=TaskKind.REVIEW)])
    store.claim(sid, "w1")
    assert store.fail_task(fatal.id, "w1", "bad input", retry=False).state == TaskState.DEAD


def test_release_and_renew_touch_only_the_owners_tasks(store: Store, sid: str) -> None:
    mine, theirs = store.enqueue(sid, [TaskSpec(kind=TaskKind.MATCH)] * 2)
    store.claim(sid, "w1", lease_seconds=5)
    store.claim(sid, "w2", lease_seconds=5)
    before = store.get_task(mine.id).lease_expires
    assert store.renew_leases("w1", 600) == 1
    renewed = store.get_task(mine.id).lease_expires
    assert before is not None and renewed is not None and renewed - before > timedelta(seconds=500)
    assert store.release("w1") == 1
    back = store.get_task(mine.id)
    assert (back.state, back.lease_owner, back.attempts) == (TaskState.PENDING, None, 0)
    assert store.get_task(theirs.id).state == TaskState.RUNNING
    assert store.release("w1") == 0


def test_reclaim_returns_expired_and_dead_owners_tasks(store: Store, sid: str) -> None:
    expired, dead, alive = store.enqueue(sid, [TaskSpec(kind=TaskKind.MATCH)] * 3)
    store.claim(sid, "alive-expired", lease_seconds=-1)
    store.claim(sid, "dead", lease_seconds=600)
    store.claim(sid, "alive", lease_seconds=600)
    asked: list[str] = []

    def is_dead(owner: str) -> bool:
        asked.append(owner)
        return owner == "dead"

    assert store.reclaim(sid, is_dead) == 2
    assert sorted(asked) == ["alive", "alive-expired", "dead"]
    states = {t.id: t.state for t in store.list_tasks(sid)}
    assert states == {
        expired.id: TaskState.PENDING,
        dead.id: TaskState.PENDING,
        alive.id: TaskState.RUNNING,
    }
    assert (
        store.list_tasks(sid, states={TaskState.PENDING}, kinds={TaskKind.MATCH})[0].attempts == 0
    )


def test_owner_liveness(store: Store) -> None:
    host = socket.gethostname()
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    store.register_owner("me", os.getpid(), host)
    store.register_owner("gone", finished.pid, host)
    store.register_owner("remote", 1, "elsewhere")
    store.heartbeat("remote")
    assert not owner_is_dead(store, "me")
    assert owner_is_dead(store, "gone")
    assert owner_is_dead(store, "unknown")
    assert not owner_is_dead(store, "remote", lease_seconds=60)
    with store.engine.begin() as conn:
        stale = utcnow() - timedelta(minutes=10)
        conn.execute(owners.update().where(owners.c.id == "remote").values(heartbeat_at=stale))
    assert owner_is_dead(store, "remote", lease_seconds=60)
    owner = store.get_owner("me")
    assert owner is not None and (owner.pid, owner.host) == (os.getpid(), host)
    with pytest.raises(NotFoundError):
        store.heartbeat("unknown")


# --- provenance and cache -----------------------------------------------------


def test_call_stats_sum_by_role_and_outcome(store: Store, sid: str) -> None:
    for role, outcome, tin, tout in (
        ("generation", "ok", 100, 50),
        ("generation", "repaired", 120, 60),
        ("ranking", "ok", 80, 10),
    ):
        store.record_call(
            CallRecord(
                role=role,
                model="m",
                prompt_hash="h",
                tokens_in=tin,
                tokens_out=tout,
                outcome=outcome,
                session_id=sid,
            )
        )
    store.record_call(CallRecord(role="other", model="m", prompt_hash="h", outcome="ok"))
    batch = [
        CallRecord(role="ranking", model="m", prompt_hash="h", outcome="invalid", session_id=sid)
    ] * 2
    store.record_calls(batch)
    store.record_calls([])
    stats = store.call_stats(sid)
    assert (stats["calls"], stats["tokens_in"], stats["tokens_out"]) == (5, 300, 120)
    assert stats["by_role"]["generation"] == {"calls": 2, "tokens_in": 220, "tokens_out": 110}
    assert stats["by_role"]["ranking"]["calls"] == 3
    assert stats["by_outcome"] == {"ok": 2, "repaired": 1, "invalid": 2}


def test_literature_cache(store: Store) -> None:
    assert store.cache_get("doi:1") is None
    store.cache_put("doi:1", "first")
    store.cache_put("doi:1", "second")
    assert store.cache_get("doi:1") == "second"
    assert store.cache_get("doi:1", max_age=60) == "second"
    assert store.cache_get("doi:1", max_age=-1) is None


# --- concurrency --------------------------------------------------------------


def test_threads_completing_tasks_at_once_lose_nothing(store: Store, sid: str) -> None:
    pool = add(store, sid, 6)
    per_thread = 15
    store.enqueue(sid, [TaskSpec(kind=TaskKind.MATCH)] * (2 * per_thread))
    errors: list[BaseException] = []

    def work(owner: str) -> None:
        try:
            for i in range(per_thread):
                (task,) = store.claim(sid, owner)
                a, b = pool[i % 6], pool[(i + 1 + len(owner)) % 6]
                result = TaskResult(hypotheses=[hyp(sid, owner)], matches=[beat(a, b)])
                store.complete_task(task.id, owner, result)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(name,)) for name in ("t1", "t22")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.task_counts(sid) == {"match": {"done": 2 * per_thread}}
    assert [m.seq for m in store.list_matches(sid)] == list(range(1, 2 * per_thread + 1))
    assert store.count_hypotheses(sid) == 6 + 2 * per_thread
    ratings = store.ratings(sid)
    assert sum(r.matches for r in ratings.values()) == 4 * per_thread
    assert sum(r.wins for r in ratings.values()) == 2 * per_thread


_WORKER = """
import sys
from coscientist.schemas import MatchVerdict, TaskResult
from coscientist.store import Store

url, sid, owner, a, b = sys.argv[1:]
with Store.open(url) as store:
    while tasks := store.claim(sid, owner):
        verdict = MatchVerdict(first_id=a, second_id=b, winner_id=a if owner == "p1" else b)
        store.complete_task(tasks[0].id, owner, TaskResult(matches=[verdict]))
"""


def test_processes_sharing_the_store_serialise_their_writes(
    store: Store, store_url: str, sid: str
) -> None:
    a, b = add(store, sid, 2)
    store.enqueue(sid, [TaskSpec(kind=TaskKind.MATCH)] * 24)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, store_url, sid, owner, a.id, b.id],
            stderr=subprocess.PIPE,
        )
        for owner in ("p1", "p2")
    ]
    errors = [p.communicate(timeout=120)[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    assert store.task_counts(sid) == {"match": {"done": 24}}
    assert [m.seq for m in store.list_matches(sid)] == list(range(1, 25))
    ratings = store.ratings(sid)
    assert ratings[a.id].matches == ratings[b.id].matches == 24
    assert ratings[a.id].wins + ratings[b.id].wins == 24
