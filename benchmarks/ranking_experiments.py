"""Ideas for the tournament measured and not adopted (benchmarks/README.md, issue 10).

Each experiment plays the pairing policy against hidden qualities drawn as in
ranking.py's policy mode (64 hypotheses, N(0, 1)), with the session simulator's
judge (ranking_calibration.SimulatorJudge: 5 % random verdicts, a log-odds
first-position offset of 0.4), and prints the mean top-10 recall of each variant
and its paired difference from the baseline with the standard error over seeds.

- ranking: the same matches ranked by TrueSkill's mu - 2 sigma (the leaderboard)
  or by the judge fit's MAP strengths (tournament/judge_fit.py).
- lucb: our policy against LUCB-style racing (after 4 random rounds, the weakest
  lower bound inside the top 10 meets the strongest upper bound outside it).
- debates: a fifth of the matches forced inside the top 12 (as the planner's
  debates), least-met pairs (main's rule) against pairs that lean to the boundary,
  and against no forced pairs.
- prior: TrueSkill started from sigma 8.3 (ours), 5 or 3.5.
- thompson: our policy against pairs drawn from the judge fit's posterior (refitted
  every 8 verdicts): in each draw, the strongest hypothesis the draw puts in the top 10
  and the fit does not, against the weakest the fit puts there and the draw does not
  (top-two Thompson sampling for a top-k set); both ranked by the fit.

Run: python benchmarks/ranking_experiments.py EXPERIMENT [--seeds N] [--budget B]
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
from collections.abc import Callable, Sequence

import numpy as np
from ranking import N, leaderboard_order, recall
from ranking_calibration import SimulatorJudge

from coscientist.tournament import judge_fit, ratings
from coscientist.tournament.judge_fit import Verdict
from coscientist.tournament.pairing import PairingPolicy

TOP = 10
Rating = tuple[float, float]


class Play:
    """One seed's judge, ratings and verdicts, updated as the session's store does."""

    def __init__(self, seed: int, sigma0: float = ratings.INITIAL_SIGMA) -> None:
        self.judge = SimulatorJudge(random.Random(seed), 1.0)
        self.rng = random.Random(1000 + seed)
        self.rating: dict[str, Rating] = {h: (ratings.INITIAL_MU, sigma0) for h in self.judge.ids}
        self.position = ratings.POSITION_PRIOR
        self.verdicts: list[Verdict] = []
        self.policy = PairingPolicy(self.rng, top_k=TOP)
        for hid, (mu, sigma) in self.rating.items():
            self.policy.add(hid, mu, sigma)

    def play(self, first: str, second: str) -> None:
        first_won = self.judge(first, second, self.rng) == first
        self.verdicts.append((first, second, first_won))
        rating = self.rating
        rating[first], rating[second], self.position = ratings.update_positioned(
            rating[first], rating[second], self.position, first_won=first_won
        )
        self.policy.update(first, *rating[first])
        self.policy.update(second, *rating[second])
        self.policy.settle(first, second)

    def chosen(self) -> None:
        pair = self.policy.choose()
        assert pair is not None
        self.policy.record(*pair)
        self.play(*pair)

    def board(self) -> list[str]:
        return sorted(
            self.judge.ids, key=lambda h: ratings.conservative(*self.rating[h]), reverse=True
        )

    def recall(self, order: Sequence[str] | None = None) -> float:
        return recall(order or self.board(), self.judge.truth)


def ranking_rules(seed: int, budget: float) -> dict[str, float]:
    game = Play(seed)
    for _ in range(round(budget * N)):
        game.chosen()
    fitted = judge_fit.fit(game.verdicts, game.judge.ids)
    assert fitted is not None
    strength = dict(zip(fitted.ids, fitted.strength.tolist(), strict=True))
    by_fit = sorted(game.judge.ids, key=strength.__getitem__, reverse=True)
    return {"trueskill_conservative": game.recall(), "judge_fit_map": game.recall(by_fit)}


def lucb(seed: int, budget: float) -> dict[str, float]:
    ours = Play(seed)
    for _ in range(round(budget * N)):
        ours.chosen()
    racing = Play(seed)
    ids, played = racing.judge.ids, 0
    shown_first = dict.fromkeys(ids, 0)

    def meet(a: str, b: str) -> None:
        first, second = (a, b) if shown_first[a] <= shown_first[b] else (b, a)
        shown_first[first] += 1
        racing.play(first, second)

    for _ in range(4):
        order = ids[:]
        racing.rng.shuffle(order)
        for i in range(0, len(order) - 1, 2):
            meet(order[i], order[i + 1])
            played += 1
    while played < round(budget * N):
        board = sorted(ids, key=lambda h: racing.rating[h][0], reverse=True)
        inside = min(board[:TOP], key=lambda h: racing.rating[h][0] - 3 * racing.rating[h][1])
        outside = max(board[TOP:], key=lambda h: racing.rating[h][0] + 3 * racing.rating[h][1])
        meet(inside, outside)
        played += 1
    by_mu = sorted(ids, key=lambda h: racing.rating[h][0], reverse=True)
    return {"ours": ours.recall(), "lucb": racing.recall(by_mu)}


def _forced_pair(game: Play, top: list[str], lean: float) -> tuple[str, str]:
    """The top-12 pair that met least; `lean` > 0 prefers pairs placed lower (the boundary)."""
    place = {h: i for i, h in enumerate(top)}

    def cost(p: tuple[str, str]) -> float:
        met = game.policy.shown(*p) + game.policy.shown(p[1], p[0])
        return met - lean * min(place[p[0]], place[p[1]])

    return min(((a, b) for i, a in enumerate(top) for b in top[i + 1 :]), key=cost)


def debates(seed: int, budget: float) -> dict[str, float]:
    found = {}
    for variant in ("least_met", "none", "boundary"):
        game = Play(seed)
        forced = 0
        for played in range(round(budget * N)):
            pair = game.policy.choose()
            assert pair is not None
            top = game.board()[:12]
            if variant != "none" and forced < 0.2 * (played + 1) and not set(pair) <= set(top):
                game.policy.release(*pair)
                lean = 0.25 if variant == "boundary" else 0.0
                pair = game.policy.hand_out(*_forced_pair(game, top, lean))
            forced += set(pair) <= set(top)
            game.policy.record(*pair)
            game.play(*pair)
        found[variant] = game.recall()
    return found


def prior(seed: int, budget: float) -> dict[str, float]:
    found = {}
    for sigma0 in (ratings.INITIAL_SIGMA, 5.0, 3.5):
        game = Play(seed, sigma0)
        for _ in range(round(budget * N)):
            game.chosen()
        found[f"sigma0_{sigma0:.1f}"] = game.recall()
    return found


def thompson(seed: int, budget: float) -> dict[str, float]:
    ours = Play(seed)
    for _ in range(round(budget * N)):
        ours.chosen()
    drawn = Play(seed)
    ids = drawn.judge.ids
    generator = np.random.default_rng(seed)
    shown: dict[tuple[str, str], int] = {}
    fitted = judge_fit.fit([], ids)
    for played in range(round(budget * N)):
        if played % 8 == 0:
            fitted = judge_fit.fit(drawn.verdicts, ids, previous=fitted, climb=played % 64 == 0)
        assert fitted is not None
        believed = set(np.argsort(-fitted.strength)[:TOP].tolist())
        pair = None
        for _ in range(20):  # a draw that disagrees with the fit about the top
            draw = fitted.draws(1, generator)[0]
            drawn_top = set(np.argsort(-draw)[:TOP].tolist())
            if drawn_top != believed:
                rising = max(drawn_top - believed, key=lambda i: draw[i])
                falling = min(believed - drawn_top, key=lambda i: draw[i])
                pair = (ids[rising], ids[falling])
                break
        if pair is None:
            ranked = np.argsort(-fitted.strength)
            pair = (ids[ranked[TOP - 1]], ids[ranked[TOP]])
        a, b = pair
        first, second = (a, b) if shown.get((a, b), 0) <= shown.get((b, a), 0) else (b, a)
        shown[first, second] = shown.get((first, second), 0) + 1
        drawn.play(first, second)
    return {
        "ours": ours.recall(leaderboard_order(ids, ours.rating, ours.verdicts)),
        "thompson": drawn.recall(leaderboard_order(ids, drawn.rating, drawn.verdicts)),
    }


EXPERIMENTS: dict[str, Callable[[int, float], dict[str, float]]] = {
    "ranking": ranking_rules,
    "lucb": lucb,
    "debates": debates,
    "prior": prior,
    "thompson": thompson,
}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("experiment", choices=sorted(EXPERIMENTS))
    parser.add_argument("--seeds", type=int, default=40)
    parser.add_argument("--budget", type=float, default=8.0, help="comparisons per hypothesis")
    args = parser.parse_args(argv)
    rows = [EXPERIMENTS[args.experiment](seed, args.budget) for seed in range(args.seeds)]
    base = next(iter(rows[0]))
    for name in rows[0]:
        values = [row[name] for row in rows]
        diff = [row[name] - row[base] for row in rows]
        se = statistics.stdev(diff) / math.sqrt(len(diff)) if len(set(diff)) > 1 else 0.0
        print(
            f"{args.experiment} B={args.budget:g} seeds={args.seeds} {name:24s}"
            f" recall {statistics.fmean(values):.3f}"
            f"  vs {base}: {statistics.fmean(diff):+.3f} +- {se:.3f}"
        )


if __name__ == "__main__":
    main()
