"""An audit of one session's records: what a crash, a kill or two writers must never break.

Used by the scale-out benchmark and tests after killing a worker, and cheap enough
to run on any session: no task left running, every match applied once (distinct
ids, sequence numbers 1..n, at most one match per task), and the stored ratings equal to a
replay of the stored matches from where each hypothesis started.
"""

from __future__ import annotations

from collections import Counter

from pydantic import BaseModel

from coscientist.schemas import TaskState
from coscientist.store.repository import Store
from coscientist.tournament import ratings

TOLERANCE = 1e-6


class Audit(BaseModel):
    tasks_by_state: dict[str, int]
    running: int
    matches: int
    duplicate_match_ids: int
    seqs_contiguous: bool
    tasks_with_two_matches: int
    ratings_off_replay: list[str]

    @property
    def intact(self) -> bool:
        return (
            self.running == 0
            and self.duplicate_match_ids == 0
            and self.seqs_contiguous
            and self.tasks_with_two_matches == 0
            and not self.ratings_off_replay
        )


def starting_ratings(store: Store, session_id: str) -> dict[str, tuple[float, float]]:
    """Each hypothesis' rating before its first match (an evolved one starts where its parents
    stood: tournament.ratings.inherited), or its stored rating if it never played."""
    start = {hid: (r.mu, r.sigma) for hid, r in store.ratings(session_id).items()}
    seen: set[str] = set()
    for row in store.rating_history(session_id):  # in seq order
        hid = row["hypothesis_id"]
        if hid not in seen:
            seen.add(hid)
            start[hid] = (row["mu_before"], row["sigma_before"])
    return start


def audit(store: Store, session_id: str) -> Audit:
    tasks = store.list_tasks(session_id)
    matches = sorted(store.list_matches(session_id), key=lambda m: m.seq)
    stored = store.ratings(session_id)
    start = starting_ratings(store, session_id)
    # As the store applies them: with the judge's first-position offset learned along the way.
    replay, _ = ratings.replay(
        ((m.first_id, m.second_id, m.winner_id == m.first_id) for m in matches), start
    )
    off = sorted(
        hid
        for hid, (mu, sigma) in replay.items()
        if abs(stored[hid].mu - mu) > TOLERANCE or abs(stored[hid].sigma - sigma) > TOLERANCE
    )
    per_task = Counter(m.task_id for m in matches if m.task_id)
    states = Counter(t.state.value for t in tasks)
    return Audit(
        tasks_by_state=dict(states),
        running=states.get(TaskState.RUNNING.value, 0),
        matches=len(matches),
        duplicate_match_ids=len(matches) - len({m.id for m in matches}),
        seqs_contiguous=[m.seq for m in matches] == list(range(1, len(matches) + 1)),
        tasks_with_two_matches=sum(1 for n in per_task.values() if n > 1),
        ratings_off_replay=off,
    )
