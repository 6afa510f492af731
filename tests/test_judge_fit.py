"""The Bradley-Terry model of the judge: small cases with known answers.

The fit must recover what a simulated judge does (strengths, its first-position
offset, the pool's spread), correct the offset when the show order is not
balanced, and give a confidence that is certain when the verdicts settle the top
and unsure when they cannot; the stop rule must follow it.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Mapping

import pytest

from coscientist.schemas import LeaderboardEntry
from coscientist.tournament import judge_fit
from coscientist.tournament.confidence import annotate, confidence_of, fitted_top_k_confidence
from coscientist.tournament.convergence import StopRule, StopWatch
from coscientist.tournament.judge_fit import Verdict


def _entry(hid: str, index: int, *, mu: float, elo: float, matches: int = 9) -> LeaderboardEntry:
    """A leaderboard row as the store gives it (TrueSkill's rating, rank in the given order)."""
    return LeaderboardEntry(
        id=hid,
        rank=index + 1,
        title=hid,
        statement=hid,
        mu=mu,
        sigma=1.0,
        elo=elo,
        elo_low=elo,
        matches=matches,
        wins=min(4, matches),
        origin="generation",
    )


def _judge(
    quality: Mapping[str, float],
    rounds: int,
    rng: random.Random,
    *,
    bias: float = 0.0,
    lapse: float = 0.0,
    better_second: float = 0.5,
) -> list[Verdict]:
    """Verdicts of a Bradley-Terry judge with a first-position offset and random verdicts;
    `better_second`: how often the better of a pair is shown second."""
    ids = sorted(quality)
    found: list[Verdict] = []
    for _ in range(rounds):
        a, b = rng.sample(ids, 2)
        worse, better = (a, b) if quality[a] < quality[b] else (b, a)
        first, second = (worse, better) if rng.random() < better_second else (better, worse)
        if rng.random() < lapse:
            first_won = rng.random() < 0.5
        else:
            odds = quality[first] - quality[second] + bias
            first_won = rng.random() < 1.0 / (1.0 + math.exp(-odds))
        found.append((first, second, first_won))
    return found


def test_recovers_strengths_offset_and_spread_of_a_known_judge() -> None:
    rng = random.Random(3)
    quality = {f"h{i:02d}": rng.gauss(0.0, 1.0) for i in range(12)}
    verdicts = _judge(quality, 4000, rng, bias=0.4, lapse=0.05)
    found = judge_fit.fit(verdicts)
    assert found is not None and found.verdicts == 4000
    strength = dict(zip(found.ids, found.strength.tolist(), strict=True))
    truth = statistics.fmean(quality.values())
    for hid, q in quality.items():  # strengths are identified up to a shift: compare centred
        assert strength[hid] - statistics.fmean(strength.values()) == pytest.approx(
            q - truth, abs=0.25
        )
    assert found.position == pytest.approx(0.4, abs=0.12)
    assert 0.5 <= found.spread <= 2.0  # the pool was drawn with sd 1
    assert all(0.05 < sd < 0.35 for sd in found.sd())  # ~670 verdicts each: narrow


def test_the_offset_is_taken_out_when_the_better_is_mostly_shown_second() -> None:
    """A judge that favours the first-shown, the better of each pair shown second 85 % of the
    time: without the offset in the model the order comes out nearly reversed; with it, the
    true order is recovered."""
    rng = random.Random(11)
    quality = {f"h{i}": 0.15 * i for i in range(8)}  # h7 best, small steps
    verdicts = _judge(quality, 3000, rng, bias=1.2, better_second=0.85)
    found = judge_fit.fit(verdicts)
    assert found is not None and found.position == pytest.approx(1.2, abs=0.2)
    strength = dict(zip(found.ids, found.strength.tolist(), strict=True))
    order = sorted(strength, key=strength.__getitem__, reverse=True)
    assert set(order[:3]) == {"h7", "h6", "h5"}
    # The same verdicts as plain wins and losses: who was shown first is forgotten.
    blind = judge_fit.fit(_forget_order(verdicts))
    assert blind is not None
    blind_strength = dict(zip(blind.ids, blind.strength.tolist(), strict=True))
    assert blind_strength["h0"] > blind_strength["h7"]  # the bias alone flips the ends


def _forget_order(verdicts: list[Verdict]) -> list[Verdict]:
    """Each verdict's winner listed first and second in turn, so no position is favoured."""
    pairs = [(a, b) if won else (b, a) for a, b, won in verdicts]
    return [(w, lo, True) if i % 2 else (lo, w, False) for i, (w, lo) in enumerate(pairs)]


def test_settled_verdicts_make_the_top_certain_and_coin_flips_do_not() -> None:
    rng = random.Random(5)
    spaced = {f"h{i}": 3.0 - 0.6 * i for i in range(10)}  # the best three far ahead
    decisive = _judge(spaced, 1500, rng)
    order = sorted(spaced, key=spaced.__getitem__, reverse=True)
    found = confidence_of([(h, 25.0, 1.0) for h in order], 3, decisive, seed=1)
    assert found.model == "judge fit"
    assert found.expected_recall > 0.95
    level = dict.fromkeys(spaced, 0.0)  # a judge at chance: nobody is known to be better
    flips = _judge(level, 300, rng)
    unsure = confidence_of([(h, 25.0, 1.0) for h in order], 3, flips, seed=1)
    assert unsure.expected_recall < 0.6


def test_a_lucky_newcomer_is_not_called_certain() -> None:
    """Two wins out of two against a settled pool do not make a hypothesis surely top."""
    rng = random.Random(2)
    pool = {f"h{i}": 1.0 - 0.25 * i for i in range(8)}
    verdicts = _judge(pool, 800, rng)
    verdicts += [("new", "h0", True), ("h1", "new", False)]
    order = ["new", *sorted(pool, key=pool.__getitem__, reverse=True)]
    found = confidence_of([(h, 25.0, 1.0) for h in order], 3, verdicts, seed=0)
    assert found.in_top["new"] < 0.9
    assert found.in_top["new"] > found.in_top["h7"]


def test_retired_hypotheses_inform_but_take_no_place() -> None:
    verdicts: list[Verdict] = [("a", "gone", True), ("gone", "b", True)] * 20
    found = judge_fit.fit(verdicts, ["a", "b"])
    assert found is not None and set(found.ids) == {"a", "b", "gone"}
    top = fitted_top_k_confidence(["a", "b"], found, 1, seed=0)
    assert set(top.in_top) == {"a", "b"} and top.in_top["a"] > 0.9


def test_too_large_or_empty_pools_fall_back_to_trueskill() -> None:
    assert judge_fit.fit([]) is None
    many = [(f"h{i}", f"h{i + 1}", True) for i in range(judge_fit.MAX_FIT + 1)]
    assert judge_fit.fit(many) is None
    ranked = [(f"h{i}", 40.0 - 4.0 * i, 1.0) for i in range(judge_fit.MAX_FIT + 2)]
    assert confidence_of(ranked, 3, many).model == "trueskill"


def test_the_board_states_the_judge_fits_confidence() -> None:
    rng = random.Random(4)
    spaced = {f"h{i}": 3.0 - 0.6 * i for i in range(10)}
    verdicts = _judge(spaced, 1500, rng)
    board = [
        _entry(h, i, mu=25.0, elo=1200.0)
        for i, h in enumerate(sorted(spaced, key=spaced.__getitem__, reverse=True))
    ]
    marked, found = annotate(board, 10, verdicts=verdicts)
    assert found.model == "judge fit" and found.k == 5  # the best half of ten
    assert marked[0].in_top is not None and marked[0].in_top > 0.95
    assert marked[-1].in_top is not None and marked[-1].in_top < 0.05


def _rows(order: list[str], matches: int) -> list[tuple[str, float, float, int]]:
    return [(h, 25.0, 8.0, matches) for h in order]  # TrueSkill alone would know nothing


def test_the_stop_rule_stops_when_the_verdicts_settle_the_top() -> None:
    rng = random.Random(7)
    spaced = {f"h{i}": 3.0 - 0.6 * i for i in range(10)}
    order = sorted(spaced, key=spaced.__getitem__, reverse=True)
    verdicts = _judge(spaced, 1500, rng)
    watch = StopWatch(StopRule(k=3, confidence=0.9))
    decision = watch.check(
        lambda: _rows(order, 300),
        ranked=10,
        matches_done=1500,
        pool_complete=True,
        verdicts=lambda: verdicts,
    )
    assert decision.stop and "top 3 known" in decision.reason
    assert decision.confidence is not None and decision.confidence.model == "judge fit"


def test_the_stop_rule_waits_while_the_verdicts_cannot_tell() -> None:
    rng = random.Random(8)
    level = {f"h{i}": 0.0 for i in range(10)}
    order = sorted(level)
    verdicts = _judge(level, 60, rng)
    watch = StopWatch(StopRule(k=3, confidence=0.8))
    decision = watch.check(
        lambda: _rows(order, 12),
        ranked=10,
        matches_done=60,
        pool_complete=True,
        verdicts=lambda: verdicts,
    )
    assert not decision.stop and "recall" in decision.reason
    assert decision.confidence is not None and decision.confidence.expected_recall < 0.6
    # 60 verdicts among ten cannot yet say the pool is level: another round could still tell
    assert decision.confidence.ahead is not None and decision.confidence.ahead.gain >= 0.01


# --- evolved hypotheses: the prior links a child to its parents ------------------------------


def _lineage_pool(rng: random.Random) -> tuple[dict[str, float], dict[str, list[str]]]:
    """Eight generated hypotheses and a child of each, one log-odds unit above its parent."""
    quality = {f"g{i}": rng.gauss(0.0, 1.0) for i in range(8)}
    parents = {f"c{i}": [f"g{i}"] for i in range(8)}
    quality.update({child: quality[made[0]] + 1.0 for child, made in parents.items()})
    return quality, parents


def test_an_unplayed_child_starts_at_its_parent_plus_the_learned_gain() -> None:
    rng = random.Random(11)
    quality, parents = _lineage_pool(rng)
    played = {h: q for h, q in quality.items() if h != "c7"}  # c7 has no verdict yet
    verdicts = _judge(played, 3000, rng)
    found = judge_fit.fit(verdicts, sorted(quality), parents=parents)
    assert found is not None
    assert found.gain == pytest.approx(1.0, abs=0.35)
    strength = dict(zip(found.ids, found.strength.tolist(), strict=True))
    assert strength["c7"] == pytest.approx(strength["g7"] + found.gain, abs=1e-6)
    # without the link the unplayed child sits at the prior's centre, whatever its parent
    plain = judge_fit.fit(verdicts, sorted(quality))
    assert plain is not None and plain.strength[plain.ids.index("c7")] == pytest.approx(0, abs=0.1)


def test_a_child_of_a_weak_parent_needs_more_than_two_lucky_wins() -> None:
    """Two wins over the best do not lift the child of the weakest above the settled top."""
    rng = random.Random(12)
    quality, parents = _lineage_pool(rng)
    weakest = min((g for g in quality if g.startswith("g")), key=quality.__getitem__)
    best = max(quality, key=quality.__getitem__)
    verdicts = _judge(quality, 3000, rng)
    verdicts += [("lucky", best, True), (best, "lucky", False)]
    lineage = {**parents, "lucky": [weakest]}
    found = judge_fit.fit(verdicts, [*quality, "lucky"], parents=lineage)
    assert found is not None
    strength = dict(zip(found.ids, found.strength.tolist(), strict=True))
    assert strength["lucky"] < strength[best]
    order = sorted(strength, key=strength.__getitem__, reverse=True)
    assert order.index("lucky") > 2


def test_the_board_is_ranked_and_rated_by_the_judge_fit() -> None:
    rng = random.Random(5)
    spaced = {f"h{i}": 2.0 - 0.5 * i for i in range(8)}
    verdicts = _judge(spaced, 1200, rng)
    # the store's TrueSkill order is the reverse of the truth; the verdicts say otherwise
    board = [
        _entry(h, i, mu=30.0 - i, elo=900.0 - 10 * i)
        for i, h in enumerate(sorted(spaced, key=spaced.__getitem__))
    ]
    marked, found = annotate(board, 3, verdicts=verdicts)
    assert [e.id for e in marked[:3]] == ["h0", "h1", "h2"]
    assert [e.rank for e in marked] == list(range(1, 9))
    assert all(e.rated_by == "judge fit" for e in marked)
    assert all(e.elo_low < e.elo < e.elo_high for e in marked)
    assert [e.elo for e in marked] == sorted((e.elo for e in marked), reverse=True)
    # 400 Elo points are 10:1 odds: h0 and h4 are two log-odds units apart
    gap = marked[0].elo - next(e.elo for e in marked if e.id == "h4")
    assert gap == pytest.approx(2.0 * 400.0 / math.log(10.0), rel=0.3)
    assert found.ahead is not None
    unrated, plain = annotate(board, 3)  # no verdicts: the store's order and TrueSkill's rule
    assert [e.id for e in unrated] == [e.id for e in board]
    assert all(e.rated_by == "trueskill" and e.elo_low == e.elo for e in unrated)
    assert plain.model == "trueskill"


def test_an_untested_child_of_the_best_ranks_where_its_parent_puts_it() -> None:
    rng = random.Random(13)
    quality, parents = _lineage_pool(rng)
    best = max(quality, key=quality.__getitem__)
    verdicts = _judge(quality, 2000, rng)
    board = [_entry(h, i, mu=25.0, elo=1200.0) for i, h in enumerate(sorted(quality))]
    board.append(_entry("unplayed", len(board), mu=25.0, elo=1200.0, matches=0))
    lineage = {**parents, "unplayed": [best]}
    marked, _ = annotate(board, 3, verdicts=verdicts, parents=lineage)
    child = next(e for e in marked if e.id == "unplayed")
    parent = next(e for e in marked if e.id == best)
    assert child.rank <= 3  # the best's strength plus a positive gain: at the top
    assert child.elo_high - child.elo_low > 2.0 * (parent.elo_high - parent.elo_low)
