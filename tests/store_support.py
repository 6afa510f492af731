"""Builders for the store tests: hypotheses, claimed tasks, verdicts."""

from __future__ import annotations

from coscientist.schemas import Hypothesis, MatchVerdict, TaskKind, TaskSpec, new_id
from coscientist.store import Store


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
