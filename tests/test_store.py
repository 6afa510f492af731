"""The Store's behaviour on real databases: SQLite files, and PostgreSQL when
COSCIENTIST_TEST_POSTGRES_URL points at a server (each test then gets a schema
of its own, dropped afterwards, so leftovers never matter)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from coscientist.errors import LeaseLostError, NotFoundError, StoreError
from coscientist.schemas import (
    CallRecord,
    GraphEdge,
    GraphNode,
    Hypothesis,
    HypothesisStatus,
    MatchVerdict,
    MetaReviewDraft,
    ReviewDraft,
    ReviewKind,
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
from coscientist.store.tables import metadata, owners
from coscientist.tournament.ratings import INITIAL_MU, INITIAL_SIGMA

PG_ENV = "COSCIENTIST_TEST_POSTGRES_URL"
PG_URL = os.environ.get(PG_ENV)


def _postgres_schema_url(base: str) -> Iterator[str]:
    """A fresh schema for one test, through the connection's search_path."""
    schema = f"t_{new_id()}"
    admin = create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(admin.url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param(
            "postgres",
            marks=[
                pytest.mark.postgres,
                pytest.mark.skipif(PG_URL is None, reason=f"{PG_ENV} is not set"),
            ],
        ),
    ]
)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
    else:
        assert PG_URL is not None
        yield from _postgres_schema_url(PG_URL)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with Store.open(store_url) as opened:
        yield opened


@pytest.fixture
def sid(store: Store) -> str:
    return store.create_session(SessionInfo(id=new_id(), goal="goal", model_spec="scripted")).id


def hyp(session_id: str, title: str = "h", hid: str | None = None) -> Hypothesis:
    return Hypothesis(
        id=hid or new_id(), session_id=session_id, title=title, statement="s", origin="test"
    )


def add(store: Store, session_id: str, n: int) -> list[Hypothesis]:
    items = [hyp(session_id, f"h{i}") for i in range(n)]
    store.add_hypotheses(items)
    return items


def claim_one(store: Store, session_id: str, owner: str = "w1") -> str:
    store.enqueue(session_id, [TaskSpec(kind=TaskKind.MATCH)])
    return store.claim(session_id, owner)[0].id


def beat(a: Hypothesis, b: Hypothesis) -> MatchVerdict:
    return MatchVerdict(first_id=b.id, second_id=a.id, winner_id=a.id)


def test_migrations_create_exactly_the_declared_tables(store: Store) -> None:
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


# --- sessions and hypotheses --------------------------------------------------


def test_sessions_by_prefix_newest_first_and_updated(store: Store) -> None:
    older = store.create_session(SessionInfo(id="abc111", goal="one", model_spec="m"))
    newer = store.create_session(SessionInfo(id="abc222", goal="two", model_spec="m"))
    assert store.get_session("abc2").id == newer.id
    assert store.get_session("abc111").goal == "one"
    assert [s.id for s in store.list_sessions()] == [newer.id, older.id]
    with pytest.raises(NotFoundError, match="ambiguous"):
        store.get_session("abc")
    with pytest.raises(NotFoundError, match=r"no session 'zzz' in sqlite|no session 'zzz' in post"):
        store.get_session("zzz")
    with pytest.raises(NotFoundError):
        store.get_session("")
    changed = store.update_session(
        older.id, status=SessionStatus.STOPPED, stop_reason="budget", limits={"max_calls": 5}
    )
    assert (changed.status, changed.stop_reason, changed.limits) == (
        SessionStatus.STOPPED,
        "budget",
        {"max_calls": 5},
    )
    assert changed.updated_at > older.updated_at
    assert store.get_session(older.id) == changed
    with pytest.raises(TypeError, match="seed"):
        store.update_session(older.id, seed=3)
    with pytest.raises(NotFoundError):
        store.update_session("nope", goal="x")


def test_a_prefix_is_matched_literally(store: Store) -> None:
    store.create_session(SessionInfo(id="a_b", goal="g", model_spec="m"))
    store.create_session(SessionInfo(id="axb", goal="g", model_spec="m"))
    assert store.get_session("a_").id == "a_b"  # "_" is not a wildcard


def test_hypotheses_start_at_the_initial_rating_and_keep_creation_order(
    store: Store, sid: str
) -> None:
    items = add(store, sid, 3)
    assert [h.id for h in store.list_hypotheses(sid)] == [h.id for h in items]
    assert store.list_hypotheses(sid)[0] == items[0]
    ratings = store.ratings(sid)
    assert {(r.mu, r.sigma, r.matches, r.wins) for r in ratings.values()} == {
        (INITIAL_MU, INITIAL_SIGMA, 0, 0)
    }
    assert set(ratings) == {h.id for h in items}
    store.set_hypothesis_status(items[1].id, HypothesisStatus.DUPLICATE, duplicate_of=items[0].id)
    store.set_pinned(items[2].id, True)
    assert store.count_hypotheses(sid) == 3
    assert store.count_hypotheses(sid, {HypothesisStatus.ACTIVE}) == 2
    dup = store.list_hypotheses(sid, {HypothesisStatus.DUPLICATE})
    assert [(h.id, h.duplicate_of) for h in dup] == [(items[1].id, items[0].id)]
    assert store.get_hypothesis(items[2].id[:8], session_id=sid).pinned
    with pytest.raises(NotFoundError):
        store.get_hypothesis(items[0].id, session_id="other")
    with pytest.raises(NotFoundError):
        store.set_pinned("missing", True)
    with pytest.raises(StoreError, match="refused"):
        store.add_hypotheses([hyp(sid, hid=items[0].id)])


def test_initial_reviews_mark_reviewed_and_failures_reject_unless_pinned(
    store: Store, sid: str
) -> None:
    passed, failed, pinned = add(store, sid, 3)
    store.set_pinned(pinned.id, True)
    for h, ok in ((passed, True), (failed, False), (pinned, False)):
        store.add_review(sid, ReviewDraft(hypothesis_id=h.id, kind=ReviewKind.INITIAL, passed=ok))
    store.add_review(sid, ReviewDraft(hypothesis_id=passed.id, kind=ReviewKind.FULL, passed=False))
    status = {h.id: (h.status, h.reviewed) for h in store.list_hypotheses(sid)}
    assert status == {
        passed.id: (HypothesisStatus.ACTIVE, True),
        failed.id: (HypothesisStatus.REJECTED, True),
        pinned.id: (HypothesisStatus.ACTIVE, True),
    }
    newest = store.list_reviews(sid, hypothesis_id=passed.id)
    assert [r.kind for r in newest] == [ReviewKind.FULL, ReviewKind.INITIAL]
    assert len(store.list_reviews(sid, limit=2)) == 2
    with pytest.raises(NotFoundError):
        store.add_review("other", ReviewDraft(hypothesis_id=passed.id, kind=ReviewKind.FULL))


# --- completing tasks ---------------------------------------------------------


def test_complete_task_applies_everything_and_marks_the_task_done(store: Store, sid: str) -> None:
    a, b, c, d = add(store, sid, 4)
    store.merge_graph(sid, [GraphNode(key="gut", label="Gut", iteration=0)], [])
    task_id = claim_one(store, sid)
    new = hyp(sid, "evolved")
    result = TaskResult(
        hypotheses=[new],
        reviews=[ReviewDraft(hypothesis_id=new.id, kind=ReviewKind.INITIAL)],
        matches=[beat(a, b), beat(a, c)],
        meta_review=MetaReviewDraft(critique=["vague"], gaps=["dose"]),
        graph_nodes=[GraphNode(key="gut", label="GUT again", iteration=4)],
        graph_edges=[GraphEdge(source="gut", target="tumour", relation="modulates", iteration=4)],
        status_changes={d.id: HypothesisStatus.RETIRED},
        duplicates={c.id: b.id},
        follow_ups=[TaskSpec(kind=TaskKind.REVIEW, payload={"id": new.id}, priority=2)],
    )
    applied = store.complete_task(task_id, "w1", result)

    assert applied.hypothesis_ids == [new.id]
    assert store.get_hypothesis(new.id).reviewed
    assert [r.id for r in store.list_reviews(sid)] == applied.review_ids
    assert [(m.id, m.seq) for m in store.list_matches(sid)] == [
        (m.id, m.seq) for m in applied.matches
    ]
    assert [m.seq for m in applied.matches] == [1, 2]
    assert all(m.task_id == task_id for m in store.list_matches(sid))
    meta = store.latest_meta_review(sid)
    assert meta is not None and (meta.id, meta.gaps) == (applied.meta_review_id, ["dose"])
    nodes, edges = store.graph(sid)
    assert [(n.key, n.label, n.iteration) for n in nodes] == [
        ("gut", "Gut", 0),
        ("tumour", "tumour", 4),
    ]
    assert edges == [GraphEdge(source="gut", target="tumour", relation="modulates", iteration=4)]
    assert store.get_hypothesis(d.id).status == HypothesisStatus.RETIRED
    assert (store.get_hypothesis(c.id).status, store.get_hypothesis(c.id).duplicate_of) == (
        HypothesisStatus.DUPLICATE,
        b.id,
    )
    (follow,) = store.list_tasks(sid, kinds={TaskKind.REVIEW})
    assert (follow.id, follow.payload, follow.state) == (
        applied.follow_up_ids[0],
        {"id": new.id},
        TaskState.PENDING,
    )
    done = store.get_task(task_id)
    assert done.state == TaskState.DONE and done.finished_at is not None
    assert done.lease_owner is None
    assert store.task_counts(sid) == {"match": {"done": 1}, "review": {"pending": 1}}


@pytest.mark.parametrize("failing_part", ["hypothesis id collision", "unknown duplicate"])
def test_a_failing_part_leaves_nothing_applied_and_the_task_running(
    store: Store, sid: str, failing_part: str
) -> None:
    a, b = add(store, sid, 2)
    task_id = claim_one(store, sid)
    new = hyp(sid, "new")
    if failing_part == "hypothesis id collision":
        result = TaskResult(hypotheses=[new, hyp(sid, hid=a.id)], matches=[beat(a, b)])
        error: type[Exception] = StoreError
    else:
        result = TaskResult(
            hypotheses=[new],
            reviews=[ReviewDraft(hypothesis_id=a.id, kind=ReviewKind.INITIAL, passed=False)],
            matches=[beat(a, b)],
            meta_review=MetaReviewDraft(gaps=["x"]),
            graph_edges=[GraphEdge(source="x", target="y", relation="r")],
            follow_ups=[TaskSpec(kind=TaskKind.REVIEW)],
            duplicates={"missing": a.id},
        )
        error = NotFoundError
    with pytest.raises(error):
        store.complete_task(task_id, "w1", result)
    assert [h.id for h in store.list_hypotheses(sid)] == [a.id, b.id]
    assert store.get_hypothesis(a.id).status == HypothesisStatus.ACTIVE
    assert store.list_reviews(sid) == [] and store.list_matches(sid) == []
    assert store.rating_history(sid) == []
    assert {r.mu for r in store.ratings(sid).values()} == {INITIAL_MU}
    assert store.latest_meta_review(sid) is None and store.graph(sid) == ([], [])
    assert len(store.list_tasks(sid)) == 1
    task = store.get_task(task_id)
    assert (task.state, task.lease_owner) == (TaskState.RUNNING, "w1")
    # The same task can still be completed once the result is sound.
    store.complete_task(task_id, "w1", TaskResult(matches=[beat(a, b)]))
    assert [m.seq for m in store.list_matches(sid)] == [1]


def test_only_the_lease_holder_completes_and_only_once(store: Store, sid: str) -> None:
    a, b = add(store, sid, 2)
    task_id = claim_one(store, sid, owner="w1")
    result = TaskResult(matches=[beat(a, b)])
    with pytest.raises(LeaseLostError, match="leased by w1, not w2"):
        store.complete_task(task_id, "w2", result)
    assert store.count_matches(sid) == 0
    store.complete_task(task_id, "w1", result)
    with pytest.raises(LeaseLostError, match="done"):
        store.complete_task(task_id, "w1", result)
    assert store.count_matches(sid) == 1
    assert store.ratings(sid)[a.id].matches == 1
    with pytest.raises(NotFoundError):
        store.complete_task("missing", "w1", result)


def test_invalid_matches_are_refused(store: Store, sid: str) -> None:
    a, b = add(store, sid, 2)
    task_id = claim_one(store, sid)
    for verdict in (
        MatchVerdict(first_id=a.id, second_id=a.id, winner_id=a.id),
        MatchVerdict(first_id=a.id, second_id=b.id, winner_id="other"),
    ):
        with pytest.raises(StoreError, match="invalid match"):
            store.complete_task(task_id, "w1", TaskResult(matches=[verdict]))
    with pytest.raises(StoreError, match="another session"):
        store.complete_task(task_id, "w1", TaskResult(hypotheses=[hyp("elsewhere")]))


# --- ratings and the leaderboard ----------------------------------------------


def test_ratings_follow_matches_and_order_the_leaderboard(store: Store, sid: str) -> None:
    a, b, c = add(store, sid, 3)
    for verdicts in ([beat(a, b)], [beat(a, c), beat(b, c)]):
        store.complete_task(claim_one(store, sid), "w1", TaskResult(matches=verdicts))
    ratings = store.ratings(sid)
    assert ratings[a.id].mu > INITIAL_MU > ratings[c.id].mu
    assert ratings[a.id].sigma < INITIAL_SIGMA
    assert [(ratings[h.id].matches, ratings[h.id].wins) for h in (a, b, c)] == [
        (2, 2),
        (2, 1),
        (2, 0),
    ]
    board = store.leaderboard(sid)
    assert [(e.id, e.rank) for e in board] == [(a.id, 1), (b.id, 2), (c.id, 3)]
    assert board[0].elo > 1200 > board[2].elo
    assert [m.seq for m in store.list_matches(sid)] == [1, 2, 3]
    assert [m.seq for m in store.list_matches(sid, since_seq=1)] == [2, 3]
    history = store.rating_history(sid, hypothesis_id=c.id)
    assert [(h["seq"], h["won"]) for h in history] == [(2, False), (3, False)]
    assert history[1]["mu_before"] == history[0]["mu_after"]
    assert history[1]["mu_after"] == ratings[c.id].mu
    assert len(store.rating_history(sid)) == 6

    store.set_hypothesis_status(a.id, HypothesisStatus.RETIRED)
    assert [e.id for e in store.leaderboard(sid)] == [b.id, c.id]
    everyone = store.leaderboard(sid, include_inactive=True)
    assert (everyone[0].id, everyone[0].status) == (a.id, HypothesisStatus.RETIRED)
    assert [e.id for e in store.leaderboard(sid, top=1)] == [b.id]


def test_equal_ratings_are_ordered_by_id(store: Store, sid: str) -> None:
    store.add_hypotheses([hyp(sid, hid=h) for h in ("bbb", "aaa", "ccc")])
    assert [e.id for e in store.leaderboard(sid)] == ["aaa", "bbb", "ccc"]


# --- the task queue -----------------------------------------------------------


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


def test_start_task_inserts_a_task_already_leased(store: Store, sid: str) -> None:
    a, b = add(store, sid, 2)
    task = store.start_task(sid, TaskSpec(kind=TaskKind.MATCH, payload={"x": 1}), "w1", 30)
    assert (task.state, task.lease_owner) == (TaskState.RUNNING, "w1")
    assert store.get_task(task.id) == task
    assert store.claim(sid, "w2") == []
    with pytest.raises(LeaseLostError):
        store.complete_task(task.id, "w2", TaskResult())
    store.complete_task(task.id, "w1", TaskResult(matches=[beat(a, b)]))
    assert store.get_task(task.id).state == TaskState.DONE
    with pytest.raises(StoreError):
        store.start_task("no-such-session", TaskSpec(kind=TaskKind.MATCH), "w1")


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
