"""How sure the tournament is of its top k.

One plausible true order is one joint draw of every hypothesis' strength from a
posterior; over a few hundred draws, the share in which a hypothesis lands among
the k best is the probability that it truly belongs there. From those:

- `in_top[id]`: P(the hypothesis is truly among the best k);
- `expected_recall`: the expected share of the reported top k that truly belongs
  there (the mean of `in_top` over the reported top k): what the benchmark's
  top-k recall measures, so stated and realised confidence can be compared;
- `expected_outsiders`: the expected number of hypotheses outside the reported
  top k that truly belong in it (k x (1 - expected_recall)).

The posterior, given the verdicts (`verdicts=`): the Bradley-Terry model of the
judge fitted on all of them (tournament/judge_fit.py: random verdicts, the
first-position offset and the pool's spread in the model, correlations kept).
On the hidden-quality simulator its stated confidence matched the realised
recall within 0.03, where TrueSkill's stated 0.11-0.17 too much
(benchmarks/README.md). Without verdicts, or past judge_fit.MAX_FIT hypotheses,
TrueSkill's independent normal posteriors (mu, sigma), optimistic as said; a
hypothesis whose rating cannot plausibly reach the top (its mu + 4 sigma below
the k-th best mu - 4 sigma) is then left out of the draws (probability < 1e-8).
Draws come from a generator seeded by the caller, so one state gives one answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from coscientist.errors import CoscientistError
from coscientist.schemas import LeaderboardEntry
from coscientist.tournament import judge_fit, lookahead
from coscientist.tournament.bradley_terry import to_elo
from coscientist.tournament.judge_fit import JudgeFit, Verdict

DEFAULT_SAMPLES = 400
DEFAULT_K = 10  # the top the leaderboard, the stop rule and the benchmark speak of


@dataclass(frozen=True)
class TopConfidence:
    """What the tournament knows about its top k (see the module docstring)."""

    k: int
    expected_recall: float
    in_top: dict[str, float] = field(default_factory=dict)
    samples: int = 0
    model: str = "trueskill"  # the posterior drawn from: "judge fit" or "trueskill"
    ahead: lookahead.Lookahead | None = None  # what another round of matches would add

    @property
    def expected_outsiders(self) -> float:
        return self.k * (1.0 - self.expected_recall)


def top_k_confidence(
    ranked: Sequence[tuple[str, float, float]],
    k: int,
    *,
    samples: int = DEFAULT_SAMPLES,
    seed: int = 0,
) -> TopConfidence:
    """Confidence in the first k of `ranked`: (id, mu, sigma) in the order the user reads them."""
    if k < 1 or samples < 1:
        raise CoscientistError(f"need k >= 1 and samples >= 1, got k={k}, samples={samples}")
    n = len(ranked)
    if n <= k:  # everyone is in the top k
        return TopConfidence(k=n, expected_recall=1.0, in_top={h: 1.0 for h, _, _ in ranked})
    ids = [hid for hid, _, _ in ranked]
    mu = np.fromiter((m for _, m, _ in ranked), dtype=np.float64, count=n)
    sigma = np.fromiter((s for _, _, s in ranked), dtype=np.float64, count=n)
    reach = lookahead.reachable(mu, sigma, k)
    draws = np.random.default_rng(seed).standard_normal((samples, len(reach)))
    values = mu[reach] + draws * sigma[reach]
    width = len(reach)
    best = (
        np.argpartition(-values, k - 1, axis=1)[:, :k]
        if width > k
        else np.tile(np.arange(width), (samples, 1))
    )
    counts = np.bincount(best.ravel(), minlength=width) / samples
    in_top = {ids[i]: float(p) for i, p in zip(reach.tolist(), counts.tolist(), strict=True)}
    recall = float(sum(in_top.get(hid, 0.0) for hid in ids[:k]) / k)
    return TopConfidence(k=k, expected_recall=recall, in_top=in_top, samples=samples)


def fitted_top_k_confidence(
    order: Sequence[str],
    found: JudgeFit,
    k: int,
    *,
    samples: int = DEFAULT_SAMPLES,
    seed: int = 0,
) -> TopConfidence:
    """Confidence in the first k of `order` (the ids as the user reads them) from joint draws of
    the judge model's posterior. Hypotheses of the fit that are not in `order` (retired ones
    whose matches still inform the others) take no place in the top."""
    if k < 1 or samples < 1:
        raise CoscientistError(f"need k >= 1 and samples >= 1, got k={k}, samples={samples}")
    n = len(order)
    if n <= k:
        return TopConfidence(k=n, expected_recall=1.0, in_top=dict.fromkeys(order, 1.0))
    column = {hid: i for i, hid in enumerate(found.ids)}
    missing = [hid for hid in order if hid not in column]
    if missing:
        raise CoscientistError(f"the judge fit does not know {missing[0]!r}")
    values = found.draws(samples, np.random.default_rng(seed))[:, [column[h] for h in order]]
    best = np.argpartition(-values, k - 1, axis=1)[:, :k]
    counts = np.bincount(best.ravel(), minlength=n) / samples
    in_top = {hid: float(p) for hid, p in zip(order, counts.tolist(), strict=True)}
    recall = float(counts[:k].mean())
    return TopConfidence(
        k=k, expected_recall=recall, in_top=in_top, samples=samples, model="judge fit"
    )


def confidence_of(
    ranked: Sequence[tuple[str, float, float]],
    k: int,
    verdicts: Sequence[Verdict] | None = None,
    *,
    seed: int = 0,
    parents: Mapping[str, Sequence[str]] | None = None,
) -> TopConfidence:
    """Confidence in the first k of `ranked` as given: from the judge fit when there are
    verdicts and it applies, else from TrueSkill."""
    if verdicts:
        order = [hid for hid, _, _ in ranked]
        found = judge_fit.fit(verdicts, order, parents=parents)
        if found is not None:
            return fitted_top_k_confidence(order, found, k, seed=seed)
    return top_k_confidence(ranked, k, seed=seed)


def fitted_order(ids: Sequence[str], found: JudgeFit) -> list[str]:
    """`ids` best first by the judge fit's strengths (posterior means), then by id."""
    column = {hid: i for i, hid in enumerate(found.ids)}
    strength = found.strength
    return sorted(ids, key=lambda hid: (-float(strength[column[hid]]), hid))


def rated_by_fit(board: Sequence[LeaderboardEntry], found: JudgeFit) -> list[LeaderboardEntry]:
    """The leaderboard as the judge fit ranks it: best first by strength, each rating on the Elo
    scale (1200 + 400 / ln 10 per log-odds unit) with its ~95 % interval. An untested evolved
    hypothesis ranks where its prior puts it (its parents' strength plus the gain), with a wide
    interval: listing untested ones last cost the reported top 8 0.35 sd of true quality at a
    fixed budget, where the newest children are the best (benchmarks/README.md)."""
    column = {hid: i for i, hid in enumerate(found.ids)}
    sd = found.sd()
    by_id = {e.id: e for e in board}
    order = fitted_order(list(by_id), found)
    rated = []
    for rank, hid in enumerate(order, start=1):
        at = column[hid]
        strength, spread = float(found.strength[at]), float(sd[at])
        rated.append(
            by_id[hid].model_copy(
                update={
                    "rank": rank,
                    "elo": to_elo(strength),
                    "elo_mean": to_elo(strength),
                    "elo_low": to_elo(strength - 2.0 * spread),
                    "elo_high": to_elo(strength + 2.0 * spread),
                    "rated_by": "judge fit",
                }
            )
        )
    return rated


def effective_k(k: int, n: int) -> int:
    """The top that can be in question among n hypotheses: k, but at most half of them (the
    top 10 of 12 says little; the top 6 of 12 does), and at least one."""
    return max(1, min(k, n // 2))


def annotate(
    board: Sequence[LeaderboardEntry],
    k: int = DEFAULT_K,
    *,
    seed: int = 0,
    verdicts: Sequence[Verdict] | None = None,
    parents: Mapping[str, Sequence[str]] | None = None,
) -> tuple[list[LeaderboardEntry], TopConfidence]:
    """The whole leaderboard (best first) with each entry's `in_top`, and the confidence
    about its top `effective_k(k, len(board))`.

    `verdicts` (every recorded match) and `parents` (each evolved hypothesis' parents) feed
    the judge fit, which then ranks the board and rates it (`rated_by_fit`). Without
    verdicts, or past judge_fit.MAX_FIT hypotheses, the board keeps the store's TrueSkill
    order (mu - 2 sigma) and the confidence comes from TrueSkill's posteriors."""
    if not board:
        return [], TopConfidence(k=0, expected_recall=1.0)
    top = effective_k(k, len(board))
    fitted = judge_fit.fit(verdicts, [e.id for e in board], parents=parents) if verdicts else None
    if fitted is None:
        found = top_k_confidence([(e.id, e.mu, e.sigma) for e in board], top, seed=seed)
        ranked = list(board)
        mu = np.array([e.mu for e in board])
        ahead = lookahead.for_normals(mu, np.array([e.sigma for e in board]), top, seed=seed)
    else:
        ranked = rated_by_fit(board, fitted)
        order = [e.id for e in ranked]
        found = fitted_top_k_confidence(order, fitted, top, seed=seed)
        ahead = lookahead.for_fit(fitted, order, top, seed=seed)
    found = replace(found, ahead=ahead)
    marked = [e.model_copy(update={"in_top": found.in_top.get(e.id, 0.0)}) for e in ranked]
    return marked, found
