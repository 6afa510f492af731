"""Confidence in the top k and the stop rule: small cases with known answers."""

from __future__ import annotations

import math
import random

import pytest

from coscientist.errors import CoscientistError
from coscientist.tournament import ratings
from coscientist.tournament.confidence import effective_k, top_k_confidence
from coscientist.tournament.convergence import StopRule, StopWatch


def test_a_settled_top_is_certain_and_an_unplayed_pool_is_not() -> None:
    settled = [(f"h{i}", 40.0 - 3.0 * i, 0.5) for i in range(20)]  # gaps of 6 sigma
    found = top_k_confidence(settled, 5)
    assert found.expected_recall == 1.0 and found.expected_outsiders == 0.0
    assert all(found.in_top[f"h{i}"] == 1.0 for i in range(5))
    assert found.in_top.get("h5", 0.0) == 0.0
    fresh = [(f"h{i}", 25.0, 25.0 / 3.0) for i in range(20)]
    unsure = top_k_confidence(fresh, 5, samples=4000)
    # Twenty exchangeable hypotheses: each is in the top 5 a quarter of the time.
    assert unsure.expected_recall == pytest.approx(0.25, abs=0.03)


def test_two_hypotheses_one_place_matches_the_normal_formula() -> None:
    # P(a > b) for independent normals: Phi((mu_a - mu_b) / sqrt(sa^2 + sb^2)).
    a, b = ("a", 27.0, 2.0), ("b", 25.0, 1.5)
    found = top_k_confidence([a, b], 1, samples=20_000, seed=3)
    expected = 0.5 * math.erfc(-(27.0 - 25.0) / math.sqrt(2.0 * (4.0 + 2.25)))
    assert found.in_top["a"] == pytest.approx(expected, abs=0.01)
    assert found.in_top["a"] + found.in_top["b"] == pytest.approx(1.0)
    assert found.expected_recall == found.in_top["a"]


def test_hopeless_hypotheses_are_left_out_and_everyone_counts_when_few() -> None:
    ranked = [("top", 40.0, 1.0), ("next", 39.0, 1.0), ("far", 10.0, 1.0)]
    found = top_k_confidence(ranked, 1)
    assert "far" not in found.in_top  # 30 mu below with sigma 1: not a single draw reaches
    small = top_k_confidence(ranked[:2], 5)
    assert small.k == 2 and small.expected_recall == 1.0


def test_the_same_seed_gives_the_same_answer() -> None:
    rng = random.Random(1)
    ranked = sorted(
        ((f"h{i}", rng.gauss(25, 3), rng.uniform(1, 4)) for i in range(50)),
        key=lambda r: -r[1],
    )
    assert top_k_confidence(ranked, 10, seed=4) == top_k_confidence(ranked, 10, seed=4)
    with pytest.raises(CoscientistError):
        top_k_confidence(ranked, 0)


def _rows(mus: list[float], sigma: float, matches: int) -> list[tuple[str, float, float, int]]:
    return [(f"h{i:02d}", mu, sigma, matches) for i, mu in enumerate(sorted(mus, reverse=True))]


def test_stops_once_the_top_is_known_and_not_before() -> None:
    watch = StopWatch(StopRule(k=3, confidence=0.9))
    clear = _rows([40.0 - 4.0 * i for i in range(10)], 1.0, 6)
    growing = watch.check(lambda: clear, ranked=10, matches_done=30, pool_complete=False)
    assert not growing.stop and "growing" in growing.reason
    decision = watch.check(lambda: clear, ranked=10, matches_done=31, pool_complete=True)
    assert decision.stop and decision.confidence is not None
    assert decision.confidence.expected_recall >= 0.9
    assert "top 3 known" in decision.reason


def test_waits_while_a_hypothesis_has_too_few_matches() -> None:
    watch = StopWatch(StopRule(k=3, confidence=0.9, min_matches=3))
    rows = _rows([40.0 - 4.0 * i for i in range(10)], 1.0, 6)
    rows[-1] = (*rows[-1][:3], 2)  # one newcomer with two matches
    decision = watch.check(lambda: rows, ranked=10, matches_done=31, pool_complete=True)
    assert not decision.stop and "3 matches" in decision.reason


def test_an_unresolvable_top_stops_once_more_matches_would_not_change_it() -> None:
    # A judge at chance, already measured: every rating equal and narrow, so another round
    # of matches cannot tell the top apart. The first check stops, saying how unsure it is.
    watch = StopWatch(StopRule(k=3, confidence=0.9))
    flat = _rows([25.0] * 10, 0.15, 60)
    decision = watch.check(lambda: flat, ranked=10, matches_done=300, pool_complete=True)
    assert decision.stop and "hardly change" in decision.reason
    found = decision.confidence
    assert found is not None and found.expected_recall < 0.5
    assert found.ahead is not None and found.ahead.gain < 0.01


def test_a_min_gain_of_zero_never_stops_on_the_look_ahead() -> None:
    watch = StopWatch(StopRule(k=3, confidence=0.9, min_gain=0.0))
    flat = _rows([25.0] * 10, 0.15, 60)
    decision = watch.check(lambda: flat, ranked=10, matches_done=300, pool_complete=True)
    assert not decision.stop and "would add" in decision.reason


def test_keeps_judging_while_another_round_would_raise_the_confidence() -> None:
    # Wide ratings in a clear order: the top is not known yet, and more matches would tell.
    watch = StopWatch(StopRule(k=3, confidence=0.9))
    wide = _rows([25.0 + 0.5 * i for i in range(10)], 6.0, 3)
    decision = watch.check(lambda: wide, ranked=10, matches_done=15, pool_complete=True)
    assert not decision.stop and "would add" in decision.reason
    found = decision.confidence
    assert found is not None and found.ahead is not None and found.ahead.gain >= 0.01


def test_rejects_a_confidence_outside_zero_and_one() -> None:
    with pytest.raises(CoscientistError):
        StopRule(confidence=1.0)


# --- the judge's first-position bias -----------------------------------------------------


def test_without_an_offset_the_positioned_update_is_trueskills() -> None:
    rng = random.Random(2)
    for _ in range(200):
        a = (rng.uniform(10, 40), rng.uniform(0.5, 8))
        b = (rng.uniform(10, 40), rng.uniform(0.5, 8))
        first_won = rng.random() < 0.5
        new_a, new_b, position = ratings.update_positioned(
            a, b, (0.0, 0.0), first_won=first_won, drift=0.0
        )
        won, lost = ratings.update(a, b) if first_won else ratings.update(b, a)
        expected = (*won, *lost) if first_won else (*lost, *won)
        assert (*new_a, *new_b) == pytest.approx(expected, rel=1e-9)
        assert position == pytest.approx((0.0, 0.0), abs=1e-5)


def test_the_offset_is_learned_from_a_biased_judge() -> None:
    """Equal hypotheses, a judge that picks the first-shown 70 % of the time: the offset
    converges to that rate, and the ratings stay level instead of following the order."""
    rng = random.Random(5)
    current = {h: (ratings.INITIAL_MU, ratings.INITIAL_SIGMA) for h in "abcdefgh"}
    position = ratings.POSITION_PRIOR
    for _ in range(1500):
        first, second = rng.sample(sorted(current), 2)
        current[first], current[second], position = ratings.update_positioned(
            current[first], current[second], position, first_won=rng.random() < 0.7
        )
    assert ratings.position_win_rate((position[0], 0.0)) == pytest.approx(0.7, abs=0.04)
    mus = [mu for mu, _ in current.values()]
    assert max(mus) - min(mus) < 4.0


def test_a_win_from_the_favoured_position_counts_for_less() -> None:
    start = (ratings.INITIAL_MU, 3.0)
    biased = (3.0, 0.5)  # the judge is known to favour the first-shown
    plain, _ = ratings.update(start, start)
    first_won, _, _ = ratings.update_positioned(start, start, biased, first_won=True)
    assert first_won[0] - start[0] < plain[0] - start[0]  # an expected win: a small gain
    _, second_won, _ = ratings.update_positioned(start, start, biased, first_won=False)
    assert second_won[0] - start[0] > plain[0] - start[0]  # an upset: a large gain


def test_bias_correction_recovers_the_order_when_the_order_is_not_balanced() -> None:
    """The better hypotheses happen to be shown second more often, to a judge that favours
    the first: without the offset the ranking inverts; with it, the truth comes back."""
    rng = random.Random(11)
    quality = {f"h{i}": 0.15 * i for i in range(10)}  # h9 best, small steps
    plain = {h: (ratings.INITIAL_MU, ratings.INITIAL_SIGMA) for h in quality}
    fixed = dict(plain)
    position = ratings.POSITION_PRIOR
    for _ in range(3000):
        a, b = rng.sample(sorted(quality), 2)
        first, second = (a, b) if quality[a] < quality[b] else (b, a)  # better one second
        if rng.random() < 0.2:
            first, second = second, first
        p_first = 1.0 / (1.0 + math.exp(quality[second] - quality[first] - 1.2))
        first_won = rng.random() < p_first
        winner, loser = (first, second) if first_won else (second, first)
        plain[winner], plain[loser] = ratings.update(plain[winner], plain[loser])
        fixed[first], fixed[second], position = ratings.update_positioned(
            fixed[first], fixed[second], position, first_won=first_won
        )

    def top3(table: dict[str, tuple[float, float]]) -> set[str]:
        return set(sorted(table, key=lambda h: table[h][0], reverse=True)[:3])

    truth = {"h9", "h8", "h7"}
    assert len(top3(fixed) & truth) >= 2
    assert len(top3(fixed) & truth) > len(top3(plain) & truth)


def test_the_top_in_question_is_at_most_half_the_pool() -> None:
    assert effective_k(10, 64) == 10
    assert effective_k(10, 6) == 3  # six hypotheses: the top three, not "all six are top"
    assert effective_k(10, 1) == 1
