"""What more matches would buy: the expected top-k recall after another round of them.

The stop rule asks whether the tournament should keep judging. Knowing the top k
with high confidence may be out of reach: when the hypotheses around the k-th
place are nearly equal, no affordable number of verdicts separates them, and the
confidence creeps up for ever. The useful question is then prospective: if each
hypothesis played `lookahead` more matches, how much would the expected top-k
recall rise? When the answer is "hardly", more matches would not change what the
scientist reads, and the session can stop and say how sure it is.

The answer is a preposterior estimate on the posterior the caller has (the judge
fit, or TrueSkill's independent normals):

1. draw plausible true strengths from the posterior (joint draws);
2. spread the next round's comparisons over the hypotheses whose membership is
   in doubt, in proportion to P(in top) x P(not in top): where a good pairing
   policy spends them;
3. for each draw, simulate what those comparisons would tell: a noisy reading of
   each strength with the precision of its comparisons (`info` per comparison,
   the Fisher information of one verdict on the posterior's scale), combined with
   the current posterior into a future posterior mean. With the judge fit that
   update is the joint Gaussian one (the covariance kept): hypotheses of one
   lineage share their parents' strength and evolution's average gain, so their
   marginal sds are wide while their differences are known far better. Treated as
   independent, a reading of each would pull the means apart by their wide
   marginals, and the future top would come out *worse* than today's, which made
   the look-ahead say "no gain" in any pool with a deep lineage;
4. the expected recall of the top k chosen by the future means, against the
   expected recall of the top k chosen by today's means, both scored against the
   same draws.

It ignores the opponents' own uncertainty, so it is, if anything, optimistic
about what more matches buy: it errs towards judging more, never towards a
premature stop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from coscientist.errors import CoscientistError
from coscientist.tournament.judge_fit import JudgeFit
from coscientist.tournament.ratings import BETA

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.intp]

DEFAULT_LOOKAHEAD = 2.0  # matches per hypothesis in the round looked ahead at
SAMPLES = 1000  # posterior draws (the gain is a difference of two recalls on the same draws)
REACH = 4.0  # standard deviations within which a hypothesis may still reach the top
# Fisher information of one verdict about a strength difference between equals, per unit of
# the posterior's scale squared: the judge fit's log-odds with 5 % random verdicts, and
# TrueSkill's probit with performance sd beta (mu units).
_WEIGHT_FLOOR = 1e-9


@dataclass(frozen=True)
class Lookahead:
    """Expected top-k recall now and after `matches_per_hypothesis` more matches each."""

    now: float
    after: float
    matches_per_hypothesis: float

    @property
    def gain(self) -> float:
        return max(0.0, self.after - self.now)


def logistic_information(lapse: float) -> float:
    """Information of one verdict between equals under P = lapse/2 + (1 - lapse) logistic(d)."""
    slope = (1.0 - lapse) * 0.25
    return slope * slope / 0.25


def probit_information(beta: float) -> float:
    """Information of one verdict between equals under P = Phi(d / (sqrt(2) beta))."""
    density = 1.0 / np.sqrt(2.0 * np.pi)
    return float(density * density / 0.25 / (2.0 * beta * beta))


def expected_gain(
    means: Floats,
    sds: Floats,
    draws: Floats,
    k: int,
    *,
    info: float,
    lookahead: float = DEFAULT_LOOKAHEAD,
    seed: int = 0,
    pool: int | None = None,
    covariance: Floats | None = None,
) -> Lookahead:
    """`means`, `sds`: the posterior per hypothesis; `draws`: joint draws, one row each, the
    same columns. `info`: information of one comparison (logistic_ or probit_information).
    `pool`: the number of ranked hypotheses, when the columns are only those that can still
    reach the top (the round's size is lookahead x pool comparisons). `covariance`: the
    posterior's joint covariance of those columns, for the joint update (else the hypotheses
    are taken as independent, as TrueSkill's posteriors are)."""
    samples, n = draws.shape
    if k < 1 or n != len(means) or n != len(sds) or info <= 0 or lookahead < 0:
        raise CoscientistError(
            f"lookahead needs k >= 1, matching shapes and positive information; got k={k},"
            f" {n} columns for {len(means)} means, info={info}, lookahead={lookahead}"
        )
    if n <= k:
        return Lookahead(1.0, 1.0, lookahead)
    best = np.argpartition(-draws, k - 1, axis=1)[:, :k]
    truly = np.zeros((samples, n), dtype=bool)
    np.put_along_axis(truly, best, True, axis=1)
    in_top = truly.mean(axis=0)
    today = np.argpartition(-means, k - 1)[:k]
    now = float(truly[:, today].mean())
    doubt = in_top * (1.0 - in_top)
    if float(doubt.sum()) <= _WEIGHT_FLOOR or lookahead == 0:
        return Lookahead(now, now, lookahead)
    comparisons = (
        lookahead * (pool or n) * doubt / doubt.sum()
    )  # each match is a comparison for two
    gained = np.maximum(comparisons * info, _WEIGHT_FLOOR)  # precision the round adds to each
    # Its own stream: the callers' draws come from default_rng(seed), and a reading noise equal
    # to the draws' noise would make every reading perfectly informative.
    noise = np.random.default_rng([seed, 1]).standard_normal((samples, n))
    reading = draws + noise / np.sqrt(gained)
    if covariance is None:
        precision = 1.0 / np.maximum(sds, 1e-12) ** 2
        future = (means * precision + reading * gained) / (precision + gained)
    else:  # m + S (S + R)^-1 (y - m), R the readings' noise: one solve serves every draw
        spread = covariance + np.diag(1.0 / gained)
        future = means + (reading - means) @ np.linalg.solve(spread, covariance)
    chosen = np.argpartition(-future, k - 1, axis=1)[:, :k]
    after = float(np.take_along_axis(truly, chosen, axis=1).mean())
    return Lookahead(now, after, lookahead)


def for_fit(
    found: JudgeFit,
    order: Sequence[str],
    k: int,
    *,
    lookahead: float = DEFAULT_LOOKAHEAD,
    seed: int = 0,
) -> Lookahead:
    """The look ahead on the judge fit's joint posterior, over the hypotheses of `order`."""
    column = {hid: i for i, hid in enumerate(found.ids)}
    at = [column[hid] for hid in order]
    draws = found.draws(SAMPLES, np.random.default_rng(seed))[:, at]
    rows = found.factor[at]
    covariance = rows @ rows.T
    return expected_gain(
        found.strength[at],
        np.sqrt(np.diag(covariance)),
        draws,
        k,
        info=logistic_information(found.lapse),
        lookahead=lookahead,
        seed=seed,
        covariance=covariance,
    )


def for_normals(
    mu: Floats, sigma: Floats, k: int, *, lookahead: float = DEFAULT_LOOKAHEAD, seed: int = 0
) -> Lookahead:
    """The look ahead on TrueSkill's independent posteriors, over the hypotheses that can still
    reach the top (the others take no place in any draw)."""
    pool = len(mu)
    reach = reachable(mu, sigma, k)
    mu, sigma = mu[reach], sigma[reach]
    noise = np.random.default_rng(seed).standard_normal((SAMPLES, len(reach)))
    return expected_gain(
        mu,
        sigma,
        mu + noise * sigma,
        k,
        info=probit_information(BETA),
        lookahead=lookahead,
        seed=seed,
        pool=pool,
    )


def reachable(mu: Floats, sigma: Floats, k: int) -> Ints:
    """Indices of the hypotheses whose mu + 4 sigma reaches the k-th largest mu - 4 sigma, and
    the first k (the reported top always counts)."""
    n = len(mu)
    if n <= k:
        return np.arange(n)
    floor = np.partition(mu - REACH * sigma, n - k)[n - k]  # k-th largest lower bound
    reach: Ints = np.union1d(np.flatnonzero(mu + REACH * sigma >= floor), np.arange(k))
    return reach
