"""When to stop ranking: once the top k is known, or once more matches would not change it.

A session stops on its own when three things hold:

- the pool is complete (no more hypotheses may be created) and every ranked
  hypothesis has played at least `min_matches`;
- either the expected top-k recall (tournament.confidence: the expected share
  of the reported top k that truly belongs there, from the judge model fitted on
  every verdict, or TrueSkill's posteriors without verdicts) has reached
  `confidence`,
- or more matches would hardly change it: another `lookahead` matches per
  hypothesis are expected to raise it by less than `min_gain`
  (tournament.lookahead, a preposterior estimate on the same posterior). When the
  hypotheses around the k-th place are nearly equal, or the judge cannot tell them
  apart (a small model answering near chance), no affordable number of verdicts
  resolves the top; the session then stops and says how sure its ranking is,
  instead of spending the budget on matches that change nothing.

The reported top k is the judge fit's own order (the leaderboard's, see
confidence.annotate). Pure: the caller hands in plain ratings, counts, verdicts and
each evolved hypothesis' parents. `StopWatch` recomputes only every few matches,
since a check fits the judge model and samples it a few hundred times.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from coscientist.errors import CoscientistError
from coscientist.tournament import judge_fit, lookahead
from coscientist.tournament.confidence import (
    TopConfidence,
    effective_k,
    fitted_order,
    fitted_top_k_confidence,
    top_k_confidence,
)
from coscientist.tournament.judge_fit import Verdict

Parents = Mapping[str, Sequence[str]]

DEFAULT_CONFIDENCE = 0.8
# The confidence is recomputed every max(8, n / 8) matches (a stop comes at most a quarter
# match per hypothesis late): a judge fit costs O(n^3) (about 8 ms at 64 hypotheses, 130 ms
# at 400), so this keeps it near 1-3 ms per match. Every CLIMB_EVERY-th fit looks for the
# pool's spread again; the others keep the last one (one fit instead of three or four).
# Another two matches per hypothesis must be expected to add 0.01 to the expected top-k
# recall (a tenth of a hypothesis in a top 10), or the session stops. Chosen on the
# hidden-quality simulator (benchmarks/README.md): sessions then stop at about 12 matches per
# hypothesis where the old "no gain over 6 matches per hypothesis" arm played 19-24, for the
# same realised recall within noise.
DEFAULT_MIN_GAIN = 0.01
CHECKS_PER_ROUND = 8
MIN_CHECK_EVERY = 8
CLIMB_EVERY = 4


@dataclass(frozen=True)
class StopRule:
    """The rule's settings; the defaults are what a session uses."""

    k: int = 10
    confidence: float = DEFAULT_CONFIDENCE  # expected top-k recall to reach
    # Every ranked hypothesis, before any stop: the pairing policy's first matches of a new
    # hypothesis (pairing._FRESH_MATCHES). Beyond them the judge fit's posterior carries a
    # hypothesis' own uncertainty; at 3, a low-rated one waited 10 matches per hypothesis of
    # the session for its third match, and every session played them (benchmarks/README.md).
    min_matches: int = 2
    lookahead: float = lookahead.DEFAULT_LOOKAHEAD  # matches per hypothesis looked ahead at
    min_gain: float = DEFAULT_MIN_GAIN  # expected recall those must add, or stop

    def __post_init__(self) -> None:
        if self.k < 1 or not 0.0 < self.confidence < 1.0 or self.lookahead <= 0:
            raise CoscientistError(
                f"a stop rule needs k >= 1, 0 < confidence < 1 and lookahead > 0; got k={self.k},"
                f" confidence={self.confidence}, lookahead={self.lookahead}"
            )


@dataclass(frozen=True)
class Decision:
    stop: bool
    reason: str  # why it stops, or what it waits for
    confidence: TopConfidence | None = None  # with `ahead`: what another round would add


class StopWatch:
    """Applies a StopRule as matches come in."""

    def __init__(self, rule: StopRule | None = None, *, seed: int = 0) -> None:
        self.rule = rule or StopRule()
        self._seed = seed
        self._checked_at = -1  # matches_done of the last confidence computed
        self._fit: judge_fit.JudgeFit | None = None  # the last one: the next starts from it
        self._fits = 0
        self.last: Decision = Decision(False, "not checked yet")

    @property
    def latest_fit(self) -> judge_fit.JudgeFit | None:
        """The last judge fit a check made (None before the first). Past judge_fit.MAX_FIT the
        checks fit no more and this stays the last one made: callers compare the pool's size."""
        return self._fit

    def due(self, *, ranked: int, matches_done: int, pool_complete: bool) -> bool:
        """Whether `check` would list and fit now (cheap: neither listing nor fit)."""
        if not pool_complete or self._checked_at < 0:
            return True
        return matches_done - self._checked_at >= max(MIN_CHECK_EVERY, ranked // CHECKS_PER_ROUND)

    def check(
        self,
        ratings: Callable[[], Sequence[tuple[str, float, float, int]]],
        *,
        ranked: int,
        matches_done: int,
        pool_complete: bool,
        verdicts: Callable[[], Sequence[Verdict]] | None = None,
        parents: Callable[[], Parents] | None = None,
    ) -> Decision:
        """Decide from `ratings()`: (id, mu, sigma, matches) of every ranked hypothesis, in the
        store's order, `verdicts()`: every recorded (first, second, first won), and
        `parents()`: each evolved hypothesis' parents. They are called only when a check is
        due (`ranked` of them, the count), so the caller's O(n) listing is not paid on every
        look."""
        rule = self.rule
        if not pool_complete:
            self.last = Decision(False, "the pool is still growing", self.last.confidence)
            return self.last
        every = max(MIN_CHECK_EVERY, ranked // CHECKS_PER_ROUND)
        if self._checked_at >= 0 and matches_done - self._checked_at < every:
            return self.last
        self._checked_at = matches_done
        rows = ratings()
        if len(rows) < 2 or min(r[3] for r in rows) < rule.min_matches:
            self.last = Decision(False, f"every hypothesis plays {rule.min_matches} matches first")
            return self.last
        found, ahead = self._confidence(rows, effective_k(rule.k, len(rows)), verdicts, parents)
        found = replace(found, ahead=ahead)
        recall = found.expected_recall
        if recall >= rule.confidence:
            decision = Decision(
                True,
                f"top {found.k} known: expected recall {recall:.2f} >= {rule.confidence:.2f}",
                found,
            )
        elif ahead.gain < rule.min_gain:
            decision = Decision(
                True,
                f"more matches would hardly change the top {found.k}: expected recall"
                f" {recall:.2f}, another {ahead.matches_per_hypothesis:g} matches per hypothesis"
                f" would add {ahead.gain:.3f} (< {rule.min_gain:g})",
                found,
            )
        else:
            decision = Decision(
                False,
                f"expected top-{found.k} recall {recall:.2f} < {rule.confidence:.2f}; another"
                f" {ahead.matches_per_hypothesis:g} matches per hypothesis would add"
                f" {ahead.gain:.3f}",
                found,
            )
        self.last = decision
        return decision

    def _confidence(
        self,
        rows: Sequence[tuple[str, float, float, int]],
        k: int,
        verdicts: Callable[[], Sequence[Verdict]] | None,
        parents: Callable[[], Parents] | None,
    ) -> tuple[TopConfidence, lookahead.Lookahead]:
        """From the judge fit when it applies (in its own order, as the leaderboard shows it),
        else TrueSkill's posteriors; the same draws every time (one seed), so a change is the
        evidence's, not noise."""
        rule = self.rule
        order = [row[0] for row in rows]
        found = None
        if verdicts is not None:
            climb = self._fits % CLIMB_EVERY == 0
            lineage = parents() if parents is not None else None
            found = judge_fit.fit(
                verdicts(), order, previous=self._fit, climb=climb, parents=lineage
            )
            self._fits += 1
        if found is None:
            confidence = top_k_confidence(
                [(h, mu, sigma) for h, mu, sigma, _ in rows], k, seed=self._seed
            )
            mu = np.array([row[1] for row in rows])
            sigma = np.array([row[2] for row in rows])
            ahead = lookahead.for_normals(mu, sigma, k, lookahead=rule.lookahead, seed=self._seed)
            return confidence, ahead
        self._fit = found
        order = fitted_order(order, found)
        confidence = fitted_top_k_confidence(order, found, k, seed=self._seed)
        ahead = lookahead.for_fit(found, order, k, lookahead=rule.lookahead, seed=self._seed)
        return confidence, ahead
