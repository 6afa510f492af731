"""Where the next new hypothesis should come from: a fresh idea, or a child of the best.

The co-scientist's supervisor moves effort to the agents whose work pays. Here the
two ways to fill a place under the hypothesis cap are scored on one yardstick, the
expected improvement (EI, as in Bayesian optimisation) on the best rating: how far
the new hypothesis is expected to rise above today's best, counting zero when it
stays below. Both estimates come from the ratings the judge's verdicts set:

- a generated hypothesis is a draw from the distribution of the generated ones
  rated so far (normal: their mean and spread of mu). One more draw rarely beats
  the best of many, so its EI falls as the pool grows;
- an evolved one is its best parent plus the gain evolution has shown: for every
  rated child, its mu minus its best parent's mu (what raises the best is a child
  above its best parent, not above their mean), averaged with a prior of no gain
  worth PRIOR_CHILDREN children, and the spread of those gains (prior: the
  generated spread). A child of the best therefore has EI(gain, spread of gains).

The planner splits the weight of creating between the two in proportion to their
EI, each keeping at least FLOOR of it, so that neither estimate can starve the
other of the evidence that would correct it. Evolution strategies are weighed the
same way, each by its own gain (shrunk to the common one by the same prior), and
parents are drawn in proportion to the EI of their child, which favours the best
and still lets a close second (or a young child whose rating is still wide) be
evolved.
"""

from __future__ import annotations

import heapq
import math
import statistics
from dataclasses import dataclass, field

from coscientist.schemas import Hypothesis, Rating

MIN_MATCHES = 3  # a rating counts as evidence once it rests on this many matches
MIN_GENERATED = 3  # rated generated hypotheses before the outlook says anything
PRIOR_CHILDREN = 2.0  # the prior "evolution gains nothing" weighs as much as this many children
FLOOR = 0.1  # least share of the creating weight each of generation and evolution keeps
PARENT_CANDIDATES = 10  # rated hypotheses, best mu first, a parent is drawn from
# A parent needs one verdict; its rating's sigma carries the rest of its uncertainty into the
# EI of its child, so a young child of the best can be evolved before its rating settles.
PARENT_MIN_MATCHES = 1


def expected_improvement(mean: float, sd: float) -> float:
    """E[max(0, X)] for X ~ Normal(mean, sd^2)."""
    if sd <= 0.0:
        return max(0.0, mean)
    z = mean / sd
    cdf = 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))
    pdf = math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    return mean * cdf + sd * pdf


@dataclass(frozen=True)
class Outlook:
    """The two estimates, in TrueSkill mu units, and what they rest on."""

    generated: int  # rated generated hypotheses
    children: int  # rated evolved hypotheses whose parents are rated too
    gain: float  # expected mu of a child minus its best parent's mu
    child_spread: float  # spread of that difference
    spread: float  # spread of the generated hypotheses' mu
    best: float  # the best rated mu
    generation_ei: float
    evolution_ei: float
    # per evolution strategy (origin "evolution:<name>"): rated children, sum of their gains
    by_strategy: dict[str, tuple[int, float]] = field(default_factory=dict)
    # parent candidates: ids of the members with a verdict and the highest mu, best first
    candidates: tuple[str, ...] = ()

    def evolution_share(self) -> float:
        """The share of the creating weight that goes to evolution."""
        total = self.generation_ei + self.evolution_ei
        share = self.evolution_ei / total if total > 0.0 else 0.5
        return min(1.0 - FLOOR, max(FLOOR, share))

    def strategy_weights(self, strategies: list[str]) -> list[float]:
        """A weight for each evolution strategy: the EI of a child by it, its gain shrunk to
        the common gain by the prior, as a share of the best one's, at least FLOOR."""
        eis = []
        for name in strategies:
            n, total = self.by_strategy.get(name, (0, 0.0))
            gain = (total + PRIOR_CHILDREN * self.gain) / (n + PRIOR_CHILDREN)
            eis.append(expected_improvement(gain, self.child_spread))
        top = max(eis, default=0.0)
        return [max(FLOOR, ei / top) if top > 0.0 else 1.0 for ei in eis]

    def parent_weight(self, mu: float, sigma: float) -> float:
        """EI of a child of a parent rated (mu, sigma): the parent's uncertainty adds to the
        child's."""
        sd = math.sqrt(self.child_spread**2 + sigma**2)
        return expected_improvement(mu + self.gain - self.best, sd)


def outlook(hypotheses: dict[str, Hypothesis], ratings: dict[str, Rating]) -> Outlook | None:
    """The estimates from the rated members of `ratings` (the rankable ones), or None while
    fewer than MIN_GENERATED generated hypotheses are rated."""
    rated = {hid: r for hid, r in ratings.items() if r.matches >= MIN_MATCHES}
    generated = [r.mu for hid, r in rated.items() if _created_by(hypotheses.get(hid)) == "gen"]
    if len(generated) < MIN_GENERATED:
        return None
    mean, spread = statistics.fmean(generated), statistics.stdev(generated)
    gains = []
    by_strategy: dict[str, tuple[int, float]] = {}
    for hid, r in rated.items():
        h = hypotheses.get(hid)
        if _created_by(h) != "evo" or h is None:
            continue
        parents = [ratings[p].mu for p in h.parent_ids if p in ratings]
        if parents:
            gains.append(r.mu - max(parents))
            name = h.origin.partition(":")[2]
            count, total = by_strategy.get(name, (0, 0.0))
            by_strategy[name] = (count + 1, total + gains[-1])
    weight = len(gains) + PRIOR_CHILDREN
    gain = sum(gains) / weight  # the prior's mean is 0
    squares = sum((g - gain) ** 2 for g in gains) + PRIOR_CHILDREN * (spread**2 + gain**2)
    child_spread = math.sqrt(squares / weight)
    best = max(r.mu for r in rated.values())
    return Outlook(
        generated=len(generated),
        children=len(gains),
        gain=gain,
        child_spread=child_spread,
        spread=spread,
        best=best,
        generation_ei=expected_improvement(mean - best, spread),
        evolution_ei=expected_improvement(gain, child_spread),
        by_strategy=by_strategy,
        candidates=tuple(r.hypothesis_id for r in parent_candidates(ratings)),
    )


def parent_candidates(ratings: dict[str, Rating], k: int = PARENT_CANDIDATES) -> list[Rating]:
    """The k ratings with a verdict and the highest mu, best first."""
    rated = (r for r in ratings.values() if r.matches >= PARENT_MIN_MATCHES)
    return heapq.nlargest(k, rated, key=lambda r: (r.mu, r.hypothesis_id))


def _created_by(h: Hypothesis | None) -> str | None:
    if h is None:
        return None
    if h.origin.startswith("generation"):
        return "gen"
    if h.origin.startswith("evolution") and h.parent_ids:
        return "evo"
    return None
