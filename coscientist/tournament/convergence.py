"""When to stop ranking: once the top k is known with the stated confidence.

A session stops on its own when three things hold:

- the pool is complete (no more hypotheses may be created) and every ranked
  hypothesis has played at least `min_matches`;
- either the expected top-k recall (tournament.confidence: the expected share
  of the reported top k that truly belongs there, from the judge model fitted on
  every verdict, or TrueSkill's posteriors without verdicts) has reached
  `confidence`,
- or it has stopped rising: no gain of `min_gain` over the last `patience`
  matches per ranked hypothesis. A judge that cannot tell the hypotheses apart
  (a small model answering near chance) never resolves the top; more matches
  then only spend the budget, and the stop says how sure the ranking is.

Pure: the caller hands in plain ratings and counts. `StopWatch` remembers the
best confidence seen and recomputes it only every few matches, since a check
samples every rating a few hundred times.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from coscientist.errors import CoscientistError
from coscientist.tournament import judge_fit
from coscientist.tournament.confidence import (
    TopConfidence,
    effective_k,
    fitted_top_k_confidence,
    top_k_confidence,
)
from coscientist.tournament.judge_fit import Verdict

DEFAULT_CONFIDENCE = 0.8
# The confidence is recomputed every max(8, n / 8) matches (a stop comes at most a quarter
# match per hypothesis late): a judge fit costs O(n^3) (about 8 ms at 64 hypotheses, 130 ms
# at 400), so this keeps it near 1-3 ms per match. Every CLIMB_EVERY-th fit looks for the
# pool's spread again; the others keep the last one (one fit instead of three or four).
CHECKS_PER_ROUND = 8
MIN_CHECK_EVERY = 8
CLIMB_EVERY = 4


@dataclass(frozen=True)
class StopRule:
    """The rule's settings; the defaults are what a session uses."""

    k: int = 10
    confidence: float = DEFAULT_CONFIDENCE  # expected top-k recall to reach
    min_matches: int = 3  # every ranked hypothesis, before any stop
    patience: float = 6.0  # matches per ranked hypothesis without a gain, then give up
    min_gain: float = 0.01

    def __post_init__(self) -> None:
        if self.k < 1 or not 0.0 < self.confidence < 1.0 or self.patience <= 0:
            raise CoscientistError(
                f"a stop rule needs k >= 1, 0 < confidence < 1 and patience > 0; got k={self.k},"
                f" confidence={self.confidence}, patience={self.patience}"
            )


@dataclass(frozen=True)
class Decision:
    stop: bool
    reason: str  # why it stops, or what it waits for
    confidence: TopConfidence | None = None


class StopWatch:
    """Applies a StopRule as matches come in."""

    def __init__(self, rule: StopRule | None = None, *, seed: int = 0) -> None:
        self.rule = rule or StopRule()
        self._seed = seed
        self._checked_at = -1  # matches_done of the last confidence computed
        self._best = -1.0
        self._best_at = 0
        self._fit: judge_fit.JudgeFit | None = None  # the last one: the next starts from it
        self._fits = 0
        self.last: Decision = Decision(False, "not checked yet")

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
    ) -> Decision:
        """Decide from `ratings()`: (id, mu, sigma, matches) of every ranked hypothesis, in the
        leaderboard's order, and `verdicts()`: every recorded (first, second, first won). They
        are called only when a check is due (`ranked` of them, the count), so the caller's
        O(n) listing is not paid on every look."""
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
        n = len(rows)
        found = self._confidence(rows, effective_k(rule.k, n), verdicts)
        recall = found.expected_recall
        if self._best < 0 or recall >= self._best + rule.min_gain:
            self._best, self._best_at = max(recall, self._best), matches_done
        stalled = matches_done - self._best_at
        if recall >= rule.confidence:
            decision = Decision(
                True,
                f"top {found.k} known: expected recall {recall:.2f} >= {rule.confidence:.2f}",
                found,
            )
        elif stalled >= rule.patience * n / 2.0:  # matches: each involves two hypotheses
            decision = Decision(
                True,
                f"confidence stopped rising: expected top-{found.k} recall {recall:.2f},"
                f" no gain in {stalled} matches",
                found,
            )
        else:
            decision = Decision(
                False, f"expected top-{found.k} recall {recall:.2f} < {rule.confidence:.2f}", found
            )
        self.last = decision
        return decision

    def _confidence(
        self,
        rows: Sequence[tuple[str, float, float, int]],
        k: int,
        verdicts: Callable[[], Sequence[Verdict]] | None,
    ) -> TopConfidence:
        """From the judge fit when it applies, else TrueSkill's posteriors; the same draws
        every time (one seed), so a change is the evidence's, not noise."""
        found = None
        if verdicts is not None:
            order = [row[0] for row in rows]
            climb = self._fits % CLIMB_EVERY == 0
            found = judge_fit.fit(verdicts(), order, previous=self._fit, climb=climb)
            self._fits += 1
        if found is None:
            return top_k_confidence(
                [(h, mu, sigma) for h, mu, sigma, _ in rows], k, seed=self._seed
            )
        self._fit = found
        return fitted_top_k_confidence(order, found, k, seed=self._seed)
