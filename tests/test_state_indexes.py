"""SessionState keeps its top-k and unreviewed indexes equal to a full scan after every change."""

from __future__ import annotations

import heapq
import random

import pytest

from coscientist.scheduler.state import SessionState
from coscientist.schemas import (
    Hypothesis,
    HypothesisStatus,
    Match,
    Rating,
    Review,
    ReviewKind,
)
from coscientist.tournament.ratings import conservative


def _scan_top(state: SessionState) -> list[str]:
    def score(hid: str) -> tuple[float, str]:  # the leaderboard's rule
        r = state.ratings[hid]
        return conservative(r.mu, r.sigma), hid

    return heapq.nlargest(state.top_k, state.policy_members, key=score)


def _scan_unreviewed(state: SessionState) -> list[str]:
    return [
        h.id
        for h in state.hypotheses.values()
        if h.status == HypothesisStatus.ACTIVE and not h.reviewed
    ]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_indexes_match_a_full_scan_through_random_changes(seed: int) -> None:
    rng = random.Random(seed)
    state = SessionState(rng=random.Random(seed))
    ids: list[str] = []
    for step in range(400):
        op = rng.random()
        if op < 0.25 or len(ids) < 3:
            hid = f"h{len(ids):03d}"
            ids.append(hid)
            words = " ".join(rng.choice(["gut", "tumour", "T cell", "butyrate"]) for _ in range(4))
            state.add_hypothesis(
                Hypothesis(id=hid, session_id="s", title=hid, statement=words, origin="test")
            )
        elif op < 0.5:
            hid = rng.choice(ids)
            state.add_review(
                Review(
                    id=f"r{step}",
                    session_id="s",
                    hypothesis_id=hid,
                    kind=ReviewKind.INITIAL,
                    passed=rng.random() < 0.8,
                )
            )
        elif op < 0.6:
            state.set_status(rng.choice(ids), rng.choice(list(HypothesisStatus)))
        elif op < 0.65:
            state.set_pinned(rng.choice(ids), rng.random() < 0.5)
        else:
            a, b = rng.sample(ids, 2)
            # Equal scores now and then: ties must break by id, as a scan does.
            mu_a = rng.choice([25.0, rng.uniform(15, 35)])
            mu_b = rng.choice([25.0, rng.uniform(15, 35)])
            state.add_match(
                Match(
                    id=f"m{step}", session_id="s", seq=step, first_id=a, second_id=b, winner_id=a
                ),
                Rating(hypothesis_id=a, mu=mu_a, sigma=rng.choice([2.0, rng.uniform(1, 8)])),
                Rating(hypothesis_id=b, mu=mu_b, sigma=rng.choice([2.0, rng.uniform(1, 8)])),
            )
        assert state.top_ids() == _scan_top(state), step
        assert state.unreviewed() == _scan_unreviewed(state), step
    assert state.policy_members and state.top_ids()
