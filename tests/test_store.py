"""The Store on real databases: sessions, hypotheses, reviews, applying results, ratings."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from coscientist.errors import LeaseLostError, NotFoundError, StoreError
from coscientist.schemas import (
    GraphEdge,
    GraphNode,
    HypothesisStatus,
    MatchVerdict,
    MetaReviewDraft,
    ReviewDraft,
    ReviewKind,
    SessionInfo,
    SessionStatus,
    TaskResult,
    TaskState,
)
from coscientist.store import Store
from coscientist.store.tables import metadata
from coscientist.tournament.ratings import INITIAL_MU, INITIAL_SIGMA
from tests.store_support import add, beat, claim_one, hyp

pytest_plugins = ["tests.store_fixtures"]


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
    done = store.get_task(task_id)
    assert done.state == TaskState.DONE and done.finished_at is not None
    assert done.lease_owner is None
    assert store.task_counts(sid) == {"match": {"done": 1}}


@pytest.mark.parametrize("failing_part", ["hypothesis id collision", "unknown hypothesis"])
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
            status_changes={"missing": HypothesisStatus.RETIRED},
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
    # Ranked by the conservative rating, the lower end of the interval the entry shows.
    assert board[0].elo > board[1].elo > board[2].elo
    assert all(e.elo < e.elo_mean < e.elo_high for e in board)
    assert board[0].elo_mean > 1200 > board[2].elo_mean
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


def test_an_evolved_hypothesis_starts_at_its_parents_mean_and_the_judge_bias_is_learned(
    store: Store, sid: str
) -> None:
    a, _, c = add(store, sid, 3)
    # a is shown first and wins every time: the offset absorbs part of each win.
    for _ in range(4):
        verdict = MatchVerdict(first_id=a.id, second_id=c.id, winner_id=a.id)
        store.complete_task(claim_one(store, sid), "w1", TaskResult(matches=[verdict]))
    rated = store.ratings(sid)
    child = hyp(sid, "child").model_copy(update={"parent_ids": [a.id, c.id]})
    store.add_hypotheses([child])
    start = store.ratings(sid)[child.id]
    assert start.mu == pytest.approx((rated[a.id].mu + rated[c.id].mu) / 2)
    assert start.sigma == INITIAL_SIGMA and start.matches == 0
    info = store.get_session(sid)
    assert info.position_mu > 0.0  # four wins from the first position: the judge leans first
    assert info.position_sigma < 2.0
