"""What another round of matches would buy (tournament/lookahead.py): known answers."""

from __future__ import annotations

import numpy as np
import pytest

from coscientist.errors import CoscientistError
from coscientist.tournament import lookahead
from coscientist.tournament.lookahead import expected_gain, for_normals

INFO = lookahead.logistic_information(0.05)


def _independent(means: list[float], sd: float, seed: int = 0) -> tuple[np.ndarray, ...]:
    mu = np.array(means)
    sds = np.full(len(means), sd)
    draws = mu + sds * np.random.default_rng(seed).standard_normal((2000, len(means)))
    return mu, sds, draws


def test_a_settled_top_gains_nothing() -> None:
    mu, sd, draws = _independent([10.0 - i for i in range(12)], 0.05)
    found = expected_gain(mu, sd, draws, 3, info=INFO)
    assert found.now == 1.0 and found.after == 1.0 and found.gain == 0.0


def test_a_wide_posterior_gains_and_a_longer_look_gains_more() -> None:
    mu, sd, draws = _independent([0.3 * (12 - i) for i in range(12)], 1.0)
    short = expected_gain(mu, sd, draws, 3, info=INFO, lookahead=2.0)
    long = expected_gain(mu, sd, draws, 3, info=INFO, lookahead=20.0)
    assert 0.3 < short.now < 0.95
    assert short.gain > 0.02
    assert long.gain > short.gain and long.after <= 1.0


def test_a_judge_at_chance_already_measured_gains_next_to_nothing() -> None:
    mu, sd, draws = _independent([0.0] * 12, 0.08)
    found = expected_gain(mu, sd, draws, 3, info=INFO)
    assert found.gain < 0.01


def test_the_round_is_spread_over_the_hypotheses_in_doubt_only() -> None:
    # Two hopeless ones far below change nothing: the same answer with or without them.
    mu, sd, draws = _independent([1.0, 0.9, 0.8, 0.7, 0.6], 0.5)
    alone = expected_gain(mu, sd, draws, 2, info=INFO, pool=7)
    far = np.concatenate([draws, np.full((len(draws), 2), -50.0)], axis=1)
    padded = expected_gain(
        np.append(mu, [-50.0, -50.0]), np.append(sd, [0.5, 0.5]), far, 2, info=INFO
    )
    assert padded.now == pytest.approx(alone.now)
    assert padded.after == pytest.approx(alone.after, abs=0.01)


def test_trueskill_posteriors_are_looked_ahead_over_those_that_can_reach_the_top() -> None:
    mu = np.array([40.0, 38.0, 36.0, 34.0] + [0.0] * 100)
    sigma = np.array([3.0] * 4 + [1.0] * 100)
    found = for_normals(mu, sigma, 2, seed=3)
    assert 0.5 < found.now < 1.0 and found.gain > 0.0
    assert lookahead.reachable(mu, sigma, 2).tolist() == [0, 1, 2, 3]


def test_bad_shapes_are_refused() -> None:
    mu, sd, draws = _independent([1.0, 0.0, -1.0], 0.5)
    with pytest.raises(CoscientistError):
        expected_gain(mu[:2], sd, draws, 1, info=INFO)
    with pytest.raises(CoscientistError):
        expected_gain(mu, sd, draws, 0, info=INFO)
    with pytest.raises(CoscientistError):
        expected_gain(mu, sd, draws, 1, info=0.0)


def _lineage_like(n: int = 12, shared: float = 1.5, own: float = 0.8) -> tuple[np.ndarray, ...]:
    """A posterior as a deep lineage gives: every strength = a shared part (the parents' level,
    evolution's gain) + its own part, so the marginal sds are wide and the differences narrow."""
    mu = np.array([0.25 * (n - i) for i in range(n)])
    covariance = shared**2 * np.ones((n, n)) + own**2 * np.eye(n)
    factor = np.linalg.cholesky(covariance)
    draws = mu + np.random.default_rng(5).standard_normal((4000, n)) @ factor.T
    return mu, np.sqrt(np.diag(covariance)), draws, covariance


def test_a_shared_uncertainty_is_updated_jointly() -> None:
    mu, sd, draws, covariance = _lineage_like()
    joint = expected_gain(mu, sd, draws, 3, info=INFO, covariance=covariance)
    # More information never makes the Bayes choice worse on average: the joint update gains.
    assert 0.5 < joint.now < 0.8 and joint.after > joint.now + 0.03
    # Taken as independent, the wide marginals swamp the narrow differences: the look-ahead
    # wrongly sees no gain (and the stop rule would stop), the error the joint update removes.
    independent = expected_gain(mu, sd, draws, 3, info=INFO)
    assert independent.now == joint.now and independent.after < joint.now < joint.after
