"""TrueSkill ratings, shown also on an Elo-like scale that starts at 1200.

The Elo mapping matches win probabilities: TrueSkill predicts P(win) =
Phi(dmu / (sqrt(2) * beta)); Elo predicts 1 / (1 + 10 ** (-d / 400)). With the
logistic approximation Phi(x) ~ logistic(1.702 x) one mu point is about 50 Elo.
"""

from __future__ import annotations

import math
from functools import lru_cache

import trueskill

INITIAL_MU = 25.0
INITIAL_SIGMA = INITIAL_MU / 3.0
BETA = INITIAL_SIGMA / 2.0
ELO_START = 1200.0
ELO_PER_MU = 1.702 * 400.0 / (math.log(10.0) * math.sqrt(2.0) * BETA)


@lru_cache(maxsize=1)
def environment() -> trueskill.TrueSkill:
    # Draws never happen: a judge always names a winner.
    return trueskill.TrueSkill(
        mu=INITIAL_MU,
        sigma=INITIAL_SIGMA,
        beta=BETA,
        tau=INITIAL_SIGMA / 100.0,
        draw_probability=0.0,
    )


def update(
    winner: tuple[float, float], loser: tuple[float, float]
) -> tuple[tuple[float, float], tuple[float, float]]:
    """New (mu, sigma) of winner and loser after one match.

    Two players, no draws: the factor graph reduces to closed form, computed with
    the trueskill environment's own v/w functions (the same numbers as
    `trueskill.rate_1vs1`, at a fraction of its cost: it runs once per match,
    inside the store's transaction).
    """
    env = environment()
    (mu_w, sigma_w), (mu_l, sigma_l) = winner, loser
    var_w = sigma_w * sigma_w + env.tau * env.tau
    var_l = sigma_l * sigma_l + env.tau * env.tau
    c2 = 2.0 * env.beta * env.beta + var_w + var_l
    c = math.sqrt(c2)
    t = (mu_w - mu_l) / c
    try:
        v = env.v_win(t, 0.0)
        w = env.w_win(t, 0.0)
    except FloatingPointError:  # extreme gaps: let the library's factor graph decide
        won, lost = trueskill.rate_1vs1(
            env.create_rating(*winner), env.create_rating(*loser), env=env
        )
        return (won.mu, won.sigma), (lost.mu, lost.sigma)
    new_w = (mu_w + var_w / c * v, math.sqrt(var_w * (1.0 - var_w / c2 * w)))
    new_l = (mu_l - var_l / c * v, math.sqrt(var_l * (1.0 - var_l / c2 * w)))
    return new_w, new_l


def match_quality(a: tuple[float, float], b: tuple[float, float]) -> float:
    """TrueSkill's draw probability of the pair: high means the outcome is uncertain."""
    env = environment()
    return float(env.quality_1vs1(env.create_rating(*a), env.create_rating(*b)))


def to_elo(mu: float, sigma: float = INITIAL_SIGMA) -> float:
    """Elo-like number: 1200 for a new hypothesis, ~50 points per mu point."""
    return ELO_START + ELO_PER_MU * (mu - INITIAL_MU)
