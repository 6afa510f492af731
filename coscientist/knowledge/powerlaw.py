"""Maximum-likelihood fit of a discrete power law to a degree distribution (Clauset et al. 2009).

For each candidate lower bound x_min the exponent maximises the discrete
likelihood  L(a) = -n log zeta(a, x_min) - a sum(log x_i)  over the tail
x_i >= x_min; the x_min kept is the one whose fitted law is closest to the
tail's empirical distribution in Kolmogorov-Smirnov distance, which is also
the goodness figure reported. Numpy only: the Hurwitz zeta is a short sum plus
an Euler-Maclaurin tail.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

MIN_TAIL = 10  # fewer points say nothing about a tail
MAX_CANDIDATES = 40  # x_min values tried, smallest first
_ALPHA_RANGE = (1.01, 8.0)
_TERMS = 16


@dataclass(frozen=True)
class PowerLawFit:
    alpha: float
    xmin: int
    ks: float  # Kolmogorov-Smirnov distance between the tail and the fitted law
    tail: int  # points at or above xmin


def hurwitz_zeta(s: float, q: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """zeta(s, q) = sum_{k>=0} (q + k)^-s for s > 1 and every q >= 1 in `q` (vectorised)."""
    k = np.arange(_TERMS, dtype=np.float64)
    head: npt.NDArray[np.float64] = np.power(q[:, None] + k[None, :], -s).sum(axis=1)
    n = q + _TERMS
    tail: npt.NDArray[np.float64] = n ** (1.0 - s) / (s - 1.0) + 0.5 * n**-s
    tail += s * n ** (-s - 1.0) / 12.0
    tail -= s * (s + 1.0) * (s + 2.0) * n ** (-s - 3.0) / 720.0
    return head + tail


def _zeta(s: float, q: float) -> float:
    """Scalar Hurwitz zeta in plain Python: for one value it is ten times faster than numpy."""
    head = sum((q + k) ** -s for k in range(_TERMS))
    n = q + _TERMS
    tail = n ** (1.0 - s) / (s - 1.0) + 0.5 * n**-s + s * n ** (-s - 1.0) / 12.0
    return float(head + tail - s * (s + 1.0) * (s + 2.0) * n ** (-s - 3.0) / 720.0)


def _log_likelihood(alpha: float, xmin: int, n: int, log_sum: float) -> float:
    return -n * math.log(_zeta(alpha, float(xmin))) - alpha * log_sum


def _best_alpha(xmin: int, n: int, log_sum: float) -> float:
    """Golden-section search: the log-likelihood is concave in alpha. It starts around the
    continuous approximation (Clauset et al., eq. 3.7), which is within a few tenths."""
    guess = 1.0 + n / max(log_sum - n * math.log(xmin - 0.5), 1e-9)
    low = max(_ALPHA_RANGE[0], guess - 1.0)
    high = min(_ALPHA_RANGE[1], max(guess + 1.0, low + 0.5))
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    a, b = high - ratio * (high - low), low + ratio * (high - low)
    fa, fb = _log_likelihood(a, xmin, n, log_sum), _log_likelihood(b, xmin, n, log_sum)
    for _ in range(26):
        if fa < fb:
            low, a, fa = a, b, fb
            b = low + ratio * (high - low)
            fb = _log_likelihood(b, xmin, n, log_sum)
        else:
            high, b, fb = b, a, fa
            a = high - ratio * (high - low)
            fa = _log_likelihood(a, xmin, n, log_sum)
    return (low + high) / 2.0


def _ks(tail: npt.NDArray[np.int64], alpha: float, xmin: int) -> float:
    values, counts = np.unique(tail, return_counts=True)
    empirical = np.cumsum(counts) / tail.size  # P(X <= x) at each distinct value
    norm = hurwitz_zeta(alpha, np.array([float(xmin)]))[0]
    model = 1.0 - hurwitz_zeta(alpha, values.astype(np.float64) + 1.0) / norm
    # Compare just before and at each jump of the empirical step function.
    before = np.concatenate(([0.0], empirical[:-1]))
    model_before = np.concatenate(([0.0], model[:-1]))
    return float(max(np.abs(empirical - model).max(), np.abs(before - model_before).max()))


def fit(degrees: Sequence[int] | npt.NDArray[np.int64]) -> PowerLawFit | None:
    """The best discrete power-law fit of the positive values, or None when there are too few."""
    data = np.asarray(degrees, dtype=np.int64)
    data = np.sort(data[data > 0])
    if data.size < MIN_TAIL or data[0] == data[-1]:
        return None
    best: PowerLawFit | None = None
    candidates = np.unique(data)[:MAX_CANDIDATES]
    for xmin in candidates:
        tail = data[data >= xmin]
        if tail.size < MIN_TAIL or tail[0] == tail[-1]:
            break
        log_sum = float(np.log(tail).sum())
        alpha = _best_alpha(int(xmin), int(tail.size), log_sum)
        ks = _ks(tail, alpha, int(xmin))
        if best is None or ks < best.ks:
            best = PowerLawFit(alpha=alpha, xmin=int(xmin), ks=ks, tail=int(tail.size))
    return best
