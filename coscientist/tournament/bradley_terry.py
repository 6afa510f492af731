"""A plain Bradley-Terry fit over all matches, and the Elo scale every rating is shown on.

P(i beats j) = 1 / (1 + exp(s_j - s_i)), fitted by maximum likelihood with a small
prior. The leaderboard's own model of the judge (random verdicts, the first-position
offset, the lineage, a posterior) is tournament/judge_fit.py; this plain fit serves the
benchmarks' reference methods (a round robin, an oracle, the plain loop).

Scale: natural-log strengths centred on mean 0 (a difference of 1.0 means odds
of e:1). `to_elo` maps them to an Elo-like scale (400 points = odds of 10:1,
1200 = the average hypothesis).

The prior is `prior` virtual wins and as many virtual losses of every item
against a fixed reference of strength 0. It keeps undefeated and winless items
finite, ties together items whose matches form disconnected groups, and is
negligible once an item has played more than a few matches.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import partial

import numpy as np
import numpy.typing as npt

from coscientist.errors import CoscientistError

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.intp]

DEFAULT_PRIOR = 0.5
ELO_START = 1200.0
ELO_PER_LOG_ODDS = 400.0 / math.log(10.0)


def fit(
    outcomes: Sequence[tuple[str, str]],
    ids: Sequence[str] | None = None,
    *,
    prior: float = DEFAULT_PRIOR,
) -> dict[str, float]:
    """Log-strength of every id (those in `ids` plus any in `outcomes`), centred on 0.

    `outcomes` holds (winner, loser) pairs. An id without matches gets the mean, 0.
    """
    names, winners, losers = _index(outcomes, ids)
    strengths = _fit_indices(winners, losers, len(names), prior)
    return dict(zip(names, strengths.tolist(), strict=True))


def to_elo(strength: float) -> float:
    """Elo-like number of a log-strength: 1200 for the average, 400 points per factor 10 in odds."""
    return ELO_START + ELO_PER_LOG_ODDS * strength


def win_probability(a: float, b: float) -> float:
    """P(a beats b) under the model."""
    return 1.0 / (1.0 + math.exp(b - a))


def _index(
    outcomes: Sequence[tuple[str, str]], ids: Sequence[str] | None
) -> tuple[list[str], Ints, Ints]:
    position: dict[str, int] = {}
    for name in ids or ():
        position.setdefault(name, len(position))
    winners = np.empty(len(outcomes), dtype=np.intp)
    losers = np.empty(len(outcomes), dtype=np.intp)
    for row, (winner, loser) in enumerate(outcomes):
        if winner == loser:
            raise CoscientistError(f"a match needs two different hypotheses, got {winner!r} twice")
        winners[row] = position.setdefault(winner, len(position))
        losers[row] = position.setdefault(loser, len(position))
    return list(position), winners, losers


def _fit_indices(
    winners: Ints, losers: Ints, size: int, prior: float, *, start: Floats | None = None
) -> Floats:
    """Log-strengths centred on 0, by Newton's method on the log-posterior.

    Each Newton system is solved by preconditioned conjugate gradients with Hessian-vector
    products built from the match list: no n x n matrix, no multithreaded BLAS (which
    thrashes when other processes share the cores), O(matches) per product.
    """
    if prior <= 0.0:
        raise CoscientistError(f"the Bradley-Terry prior must be positive, got {prior}")
    if size == 0:
        return np.zeros(0)
    theta = np.zeros(size) if start is None else start.copy()
    wins = np.bincount(winners, minlength=size).astype(np.float64)
    current = _log_posterior(theta, winners, losers, prior)
    for _ in range(100):
        p_win = 1.0 / (1.0 + np.exp(theta[losers] - theta[winners]))
        p_self = 1.0 / (1.0 + np.exp(-theta))
        expected = np.bincount(winners, p_win, size) + np.bincount(losers, 1.0 - p_win, size)
        gradient = wins - expected + prior * (1.0 - 2.0 * p_self)
        if float(np.max(np.abs(gradient))) < 1e-9:
            break
        weight: Floats = p_win * (1.0 - p_win)
        diagonal: Floats = 2.0 * prior * p_self * (1.0 - p_self)
        diagonal += np.bincount(winners, weight, size) + np.bincount(losers, weight, size)
        curvature = partial(
            _curvature, winners=winners, losers=losers, weight=weight, diagonal=diagonal
        )
        step = _conjugate_gradient(curvature, gradient, diagonal)
        scale = 1.0
        while True:  # the posterior is concave: halve the step until it does not drop
            trial = theta + scale * step
            value = _log_posterior(trial, winners, losers, prior)
            if value >= current - 1e-12 or scale < 1e-6:
                break
            scale /= 2.0
        theta, current = trial, value
        if float(np.max(np.abs(scale * step))) < 1e-10:
            break
    centred: Floats = theta - theta.mean()
    return centred


def _curvature(
    v: Floats, *, winners: Ints, losers: Ints, weight: Floats, diagonal: Floats
) -> Floats:
    """(-Hessian) @ v straight from the match list, without the n x n matrix."""
    size = len(v)
    product: Floats = diagonal * v
    product -= np.bincount(winners, weight * v[losers], size)
    product -= np.bincount(losers, weight * v[winners], size)
    return product


def _conjugate_gradient(
    apply: Callable[[Floats], Floats], target: Floats, diagonal: Floats
) -> Floats:
    """Solve A x = target for symmetric positive definite A, Jacobi-preconditioned."""
    solution = np.zeros_like(target)
    residual = target.copy()
    preconditioned = residual / diagonal
    direction = preconditioned.copy()
    aligned = float(np.dot(residual, preconditioned))
    bound = 1e-6 * float(np.linalg.norm(target))
    for _ in range(len(target) + 10):
        image = apply(direction)
        alpha = aligned / float(np.dot(direction, image))
        solution += alpha * direction
        residual -= alpha * image
        if float(np.linalg.norm(residual)) <= bound:
            break
        preconditioned = residual / diagonal
        renewed = float(np.dot(residual, preconditioned))
        direction = preconditioned + (renewed / aligned) * direction
        aligned = renewed
    return solution


def _log_posterior(theta: Floats, winners: Ints, losers: Ints, prior: float) -> float:
    # log sigmoid(x) = -log(1 + exp(-x)); the prior is one virtual win and loss against 0
    matches = -np.logaddexp(0.0, theta[losers] - theta[winners]).sum()
    virtual = -(np.logaddexp(0.0, -theta) + np.logaddexp(0.0, theta)).sum()
    return float(matches + prior * virtual)
