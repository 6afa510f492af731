"""TrueSkill ratings, shown also on an Elo-like scale that starts at 1200.

The Elo mapping matches win probabilities: TrueSkill predicts P(win) =
Phi(dmu / (sqrt(2) * beta)); Elo predicts 1 / (1 + 10 ** (-d / 400)). With the
logistic approximation Phi(x) ~ logistic(1.702 x) one mu point is about 50 Elo.

The leaderboard ranks by a conservative rating, the lower end of the ~95 %
interval, mu - 2 sigma (`conservative`): two lucky wins leave a hypothesis
uncertain, so it stays below one that won as often over forty matches. `to_elo`
of a (mu, sigma) pair is that conservative figure on the Elo scale; `mean_elo`
is mu's.

A judge may favour the hypothesis it reads first. `update_positioned` takes that
out of the update: the first position is one more player on the first
hypothesis' team, a shared offset with its own (mu, sigma) that every match
updates, so the offset is learned from the verdicts as they come and a win from
the favoured position counts for less.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache

import trueskill

INITIAL_MU = 25.0
INITIAL_SIGMA = INITIAL_MU / 3.0
BETA = INITIAL_SIGMA / 2.0
ELO_START = 1200.0
ELO_PER_MU = 1.702 * 400.0 / (math.log(10.0) * math.sqrt(2.0) * BETA)
CONSERVATIVE_SIGMAS = 2.0  # the leaderboard ranks by mu - 2 sigma
# The first-position offset before any match: none, give or take a win probability of
# about 0.25 between equals.
POSITION_PRIOR = (0.0, 2.0)
POSITION_TAU = 0.05  # lets the offset drift slowly, should the judge change its habits

Rating = tuple[float, float]


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


def update_positioned(
    first: Rating,
    second: Rating,
    position: Rating,
    *,
    first_won: bool,
    drift: float = POSITION_TAU,
) -> tuple[Rating, Rating, Rating]:
    """New (mu, sigma) of the first-shown, the second-shown and the first-position offset.

    P(first wins) = Phi((mu_first + mu_position - mu_second) / c): the offset joins the
    first hypothesis' team without performance noise of its own, so with the offset held
    at (0, 0) and no drift this is exactly `update`.
    """
    env = environment()
    tau2 = env.tau * env.tau
    var_f = first[1] * first[1] + tau2
    var_s = second[1] * second[1] + tau2
    var_p = position[1] * position[1] + drift * drift
    c2 = 2.0 * env.beta * env.beta + var_f + var_s + var_p
    c = math.sqrt(c2)
    sign = 1.0 if first_won else -1.0  # +1: the first team won
    t = sign * (first[0] + position[0] - second[0]) / c
    try:
        v = env.v_win(t, 0.0)
        w = env.w_win(t, 0.0)
    except FloatingPointError:  # an extreme upset: as far as the formula goes
        v, w = -t, 1.0
    w = min(max(w, 0.0), 1.0)

    def moved(mu: float, var: float, direction: float) -> Rating:
        return mu + direction * var / c * v, math.sqrt(max(var * (1.0 - var / c2 * w), 1e-12))

    return (
        moved(first[0], var_f, sign),
        moved(second[0], var_s, -sign),
        moved(position[0], var_p, sign),
    )


def inherited(parents: Sequence[float]) -> Rating:
    """Where an evolved hypothesis starts: the mean mu of its parents, with a new hypothesis'
    sigma. Evolution mostly keeps what it starts from, so the child is first paired where
    its parents stand; the wide sigma lets its own matches move it from there."""
    if not parents:
        return INITIAL_MU, INITIAL_SIGMA
    return sum(parents) / len(parents), INITIAL_SIGMA


def replay(
    verdicts: Iterable[tuple[str, str, bool]],
    start: Mapping[str, Rating] | None = None,
    position: Rating = POSITION_PRIOR,
) -> tuple[dict[str, Rating], Rating]:
    """Ratings and first-position offset after (first_id, second_id, first_won) verdicts in
    order, as the store applies them; ids not in `start` begin at the initial rating."""
    current = dict(start or {})
    initial = (INITIAL_MU, INITIAL_SIGMA)
    for first, second, first_won in verdicts:
        current[first], current[second], position = update_positioned(
            current.get(first, initial), current.get(second, initial), position, first_won=first_won
        )
    return current, position


def first_win_probability(first: Rating, second: Rating, position: Rating = (0.0, 0.0)) -> float:
    """The model's P(the first-shown wins), given both ratings and the position offset."""
    env = environment()
    spread = 2.0 * env.beta**2 + first[1] ** 2 + second[1] ** 2 + position[1] ** 2
    return 0.5 * math.erfc(-(first[0] + position[0] - second[0]) / math.sqrt(2.0 * spread))


def position_win_rate(position: Rating) -> float:
    """P(the first-shown wins) between two equal, well-known hypotheses: the judge's bias."""
    return first_win_probability((INITIAL_MU, 0.0), (INITIAL_MU, 0.0), position)


def conservative(mu: float, sigma: float) -> float:
    """The leaderboard's ranking score: the lower end of the ~95 % interval."""
    return mu - CONSERVATIVE_SIGMAS * sigma


def match_quality(a: tuple[float, float], b: tuple[float, float]) -> float:
    """TrueSkill's draw probability of the pair: high means the outcome is uncertain."""
    env = environment()
    return float(env.quality_1vs1(env.create_rating(*a), env.create_rating(*b)))


def mean_elo(mu: float) -> float:
    """mu on the Elo-like scale: 1200 for the starting mu, ~50 points per mu point."""
    return ELO_START + ELO_PER_MU * (mu - INITIAL_MU)


def to_elo(mu: float, sigma: float = 0.0) -> float:
    """The rating the leaderboard shows and ranks by: `conservative(mu, sigma)` on the Elo
    scale (a new hypothesis, mu 25 and sigma 8.3, shows about 370)."""
    return mean_elo(conservative(mu, sigma))


def elo_interval(mu: float, sigma: float) -> tuple[float, float]:
    """The ~95 % interval of the rating on the Elo scale; `to_elo` is its lower end."""
    half = CONSERVATIVE_SIGMAS * sigma
    return mean_elo(mu - half), mean_elo(mu + half)
