"""Does the tournament's stated confidence match what it achieves? (policy mode, fast)

The pairing policy plays against hidden qualities exactly as in ranking.py's
policy mode; at a few budgets the benchmark reads the expected top-10 recall the
tournament would state (tournament.confidence) two ways, from the judge fit over
every verdict (what sessions state) and from TrueSkill's posteriors (what they
stated before), beside the recall realised by the reported top ten. Means over
seeds; a calibrated statement matches the realised mean.

Two judges: ranking.py's (Bradley-Terry plus 0.1 in probability for the first
shown, no random verdicts: the fit's 5 % lapse is then a wrong assumption) and
the session simulator's (hidden_quality.py: 5 % random verdicts and a log-odds
offset of 0.4 for the first shown).
"""

from __future__ import annotations

import random
import statistics
from typing import Any

import hidden_quality
from ranking import Judge, N, leaderboard_order, recall

from coscientist.tournament import ratings
from coscientist.tournament.confidence import confidence_of
from coscientist.tournament.judge_fit import Verdict
from coscientist.tournament.pairing import PairingPolicy

BUDGETS = (3.0, 4.0, 8.0, 12.0)  # comparisons per hypothesis, as in ranking.py
TOP = 10


class SimulatorJudge(Judge):
    """The session simulator's judge: random verdicts and a log-odds first-position offset."""

    def __call__(self, first: str, second: str, rng: random.Random) -> str:
        self.calls += 1
        won = hidden_quality.first_wins(self.quality[first], self.quality[second], rng)
        return first if won else second


def one_run(judge: Judge, seed: int) -> list[tuple[float, float, float, float, float]]:
    """(budget, realised and stated recall of the leaderboard's top (the judge fit's order),
    realised and stated recall of TrueSkill's mu - 2 sigma top) per budget."""
    rng = random.Random(1000 + seed)
    policy = PairingPolicy(rng, top_k=TOP)
    rating = {hid: (ratings.INITIAL_MU, ratings.INITIAL_SIGMA) for hid in judge.ids}
    position = ratings.POSITION_PRIOR
    for hid, (mu, sigma) in rating.items():
        policy.add(hid, mu, sigma)
    verdicts: list[Verdict] = []
    checkpoints = {round(budget * N): budget for budget in BUDGETS}
    found = []
    for played in range(1, max(checkpoints) + 1):
        pair = policy.choose()
        assert pair is not None
        first, second = pair
        policy.record(first, second)
        first_won = judge(first, second, rng) == first
        verdicts.append((first, second, first_won))
        rating[first], rating[second], position = ratings.update_positioned(
            rating[first], rating[second], position, first_won=first_won
        )
        policy.update(first, *rating[first])
        policy.update(second, *rating[second])
        policy.settle(first, second)
        if played in checkpoints:
            shown = leaderboard_order(judge.ids, rating, verdicts)
            fitted = confidence_of([(h, *rating[h]) for h in shown], TOP, verdicts, seed=seed)
            order = sorted(judge.ids, key=lambda h: ratings.conservative(*rating[h]), reverse=True)
            plain = confidence_of([(h, *rating[h]) for h in order], TOP, seed=seed)
            found.append(
                (
                    checkpoints[played],
                    recall(shown, judge.truth),
                    fitted.expected_recall,
                    recall(order, judge.truth),
                    plain.expected_recall,
                )
            )
    return found


def calibration(seeds: int, spreads: tuple[float, ...] = (1.0, 2.0)) -> dict[str, Any]:
    """Stated against realised expected top-10 recall, by judge, spread and budget."""
    out: dict[str, Any] = {}
    for name, judge_type in (("ranking_judge", Judge), ("simulator_judge", SimulatorJudge)):
        for spread in spreads:
            rows: dict[float, list[tuple[float, ...]]] = {}
            for seed in range(seeds):
                judge = judge_type(random.Random(seed), spread)
                for budget, *figures in one_run(judge, seed):
                    rows.setdefault(budget, []).append(tuple(figures))
            names = ("realised", "stated_judge_fit", "realised_trueskill_order", "stated_trueskill")
            out[f"{name}_spread_{spread:g}"] = {
                f"{budget:g}": {
                    key: round(statistics.fmean(row[i] for row in got), 3)
                    for i, key in enumerate(names)
                }
                for budget, got in sorted(rows.items())
            }
    return out
