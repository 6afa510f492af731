"""The answers table (migration 0007) on SQLite and, when configured, PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from coscientist.errors import NotFoundError, StoreError
from coscientist.schemas import Answer, FollowUp, FollowUpKind, utcnow
from coscientist.store import Store

pytest_plugins = ["tests.store_fixtures"]


def answer(sid: str, n: int, **fields: object) -> Answer:
    return Answer(
        id=f"ans{n:09d}",
        session_id=sid,
        question=f"question {n}?",
        answer=f"answer {n}",
        created_at=utcnow() + timedelta(seconds=n),
        model="scripted",
        **fields,  # type: ignore[arg-type]
    )


def test_answers_round_trip_in_order_with_their_follow_up(store: Store, sid: str) -> None:
    follow = FollowUp(kind=FollowUpKind.REVIEW, text="needs dose data", hypothesis_id="h1")
    items = [
        answer(sid, 1, cited_ids=["h1", "h2"], dropped_ids=["nope"], follow_up=follow),
        answer(sid, 2),
        answer(sid, 3, follow_up=FollowUp(kind=FollowUpKind.HYPOTHESIS, text="T cells")),
    ]
    for item in reversed(items):
        store.add_answer(item)
    assert store.list_answers(sid) == items  # oldest first, whatever the insert order
    assert store.list_answers(sid, limit=2) == items[1:]  # the newest two, oldest first
    assert store.get_answer(sid, "ans000000001") == items[0]
    with pytest.raises(NotFoundError, match="ambiguous"):
        store.get_answer(sid, "ans00000000")
    with pytest.raises(NotFoundError, match="no answer"):
        store.get_answer(sid, "zzz")


def test_an_answer_is_marked_applied_once_and_goes_with_its_session(store: Store, sid: str) -> None:
    store.add_answer(answer(sid, 1))
    assert store.mark_answer_applied("ans000000001", "goal refined")
    assert not store.mark_answer_applied("ans000000001", "goal refined again")
    assert store.get_answer(sid, "ans000000001").applied == "goal refined"
    store.delete_session(sid)
    assert store.list_answers(sid) == []


def test_an_answer_needs_its_session(store: Store) -> None:
    with pytest.raises((NotFoundError, StoreError)):
        store.add_answer(answer("nosuchsession", 1))


@pytest.mark.anyio
async def test_deleting_a_session_leaves_no_row_of_it_in_any_table(tmp_path: Path) -> None:
    """Every table with a session_id column, the graph's merges and series included."""
    from sqlalchemy import func, select

    from coscientist.config import Limits, Settings
    from coscientist.session import CoScientist
    from coscientist.store import tables

    settings = Settings(db=f"sqlite:///{tmp_path / 'd.db'}", model="scripted", seed=2)
    with CoScientist(settings) as cs:
        session = cs.start("Why do migrating birds not get lost?")
        await session.run(Limits(max_calls=60))
        owned = [t for t in tables.metadata.sorted_tables if "session_id" in t.c]

        def counts() -> dict[str, int]:
            with cs.store.engine.connect() as conn:
                return {
                    t.name: conn.execute(
                        select(func.count()).where(t.c.session_id == session.id)
                    ).scalar_one()
                    for t in owned
                }

        before = counts()
        assert before["kg_series"] > 0 and before["hypotheses"] > 0  # there was something
        cs.store.delete_session(session.id)
        assert counts() == dict.fromkeys(before, 0)
