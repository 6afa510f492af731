"""Ratings: the closed-form update equals trueskill's factor graph; the Elo scale."""

from __future__ import annotations

import random

import pytest
import trueskill

from coscientist.tournament import ratings


def test_closed_form_update_matches_trueskill_rate_1vs1() -> None:
    rng = random.Random(7)
    env = ratings.environment()
    for _ in range(500):
        w = (rng.uniform(0, 50), rng.uniform(0.5, 9))
        l = (rng.uniform(0, 50), rng.uniform(0.5, 9))  # noqa: E741
        ours_w, ours_l = ratings.update(w, l)
        ref_w, ref_l = trueskill.rate_1vs1(env.create_rating(*w), env.create_rating(*l), env=env)
        assert ours_w == pytest.approx((ref_w.mu, ref_w.sigma), rel=1e-6, abs=1e-6)
        assert ours_l == pytest.approx((ref_l.mu, ref_l.sigma), rel=1e-6, abs=1e-6)


def test_winner_gains_loser_drops_and_both_grow_more_certain() -> None:
    start = (ratings.INITIAL_MU, ratings.INITIAL_SIGMA)
    (mw, sw), (ml, sl) = ratings.update(start, start)
    assert mw > ratings.INITIAL_MU > ml
    assert sw < ratings.INITIAL_SIGMA and sl < ratings.INITIAL_SIGMA


def test_elo_scale_starts_at_1200_and_matches_win_probabilities() -> None:
    assert ratings.to_elo(ratings.INITIAL_MU) == 1200.0
    # 400 Elo points mean 10:1 odds; the same gap in mu gives TrueSkill about that probability.
    gap_mu = 400.0 / ratings.ELO_PER_MU
    p = trueskill.backends.cdf(gap_mu / (2**0.5 * ratings.BETA))
    assert p == pytest.approx(10 / 11, abs=0.01)
