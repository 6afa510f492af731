"""The words and numbers every display uses for the ranking and its confidence.

One place, so `show`, the TUI and the reports state the same rule and the same
figures.
"""

from __future__ import annotations

from typing import Any

from coscientist.schemas import SessionInfo
from coscientist.tournament import ratings
from coscientist.tournament.confidence import TopConfidence

_P_TOP = (
    " P(top): the chance it truly belongs among the best ten (the best half of a pool"
    " under twenty)."
)
FIT_RANK_RULE = (
    "Ranked by Elo: each hypothesis' strength in a Bradley-Terry model of the judge fitted on"
    " every verdict (random verdicts, the judge's first-position bias and evolution's average"
    " gain over the parents included), at 1200 + 174 per log-odds unit, so 400 points are"
    " 10:1 odds of winning; the interval is ~95%. Few matches leave a rating near its prior"
    " (its parents' strength for an evolved hypothesis, the pool's middle for a new one), so"
    " two lucky wins do not lift it above one as good with forty." + _P_TOP
)
TRUESKILL_RANK_RULE = (
    "Ranked by Elo: the lower end of each rating's ~95% interval (TrueSkill mu - 2 sigma),"
    " so a hypothesis with few matches ranks below one as good with many." + _P_TOP
)


def rank_rule(rated_by: str) -> str:
    """The rule behind a board: `rated_by` of its entries ("judge fit" or "trueskill")."""
    return FIT_RANK_RULE if rated_by == "judge fit" else TRUESKILL_RANK_RULE


def position_bias(info: SessionInfo) -> tuple[float, float, float]:
    """How often the judge would pick the first-shown of two equals: estimate, 95 % interval."""
    mu, sigma = info.position_mu, info.position_sigma

    def rate(offset: float) -> float:
        return ratings.position_win_rate((offset, 0.0))

    return rate(mu), rate(mu - 2.0 * sigma), rate(mu + 2.0 * sigma)


def confidence_summary(info: SessionInfo, found: TopConfidence) -> dict[str, Any]:
    """The session-level confidence as JSON-ready numbers."""
    rate, low, high = position_bias(info)
    return {
        "k": found.k,
        "expected_recall": round(found.expected_recall, 4),
        "expected_outsiders": round(found.expected_outsiders, 3),
        "first_position_win_rate": round(rate, 4),
        "first_position_interval": [round(low, 4), round(high, 4)],
        "confidence_model": found.model,
        "next_round": None
        if found.ahead is None
        else {
            "matches_per_hypothesis": found.ahead.matches_per_hypothesis,
            "expected_recall_gain": round(found.ahead.gain, 4),
        },
        "rank_rule": rank_rule(found.model),
    }


def confidence_line(info: SessionInfo, found: TopConfidence) -> str:
    """One sentence for a terminal or a report."""
    rate, low, high = position_bias(info)
    return (
        f"Top {found.k}: expected recall {found.expected_recall:.2f} (about"
        f" {found.expected_outsiders:.1f} of the {found.k} may not truly belong there)."
        f" Judge picks the first-shown of two equals {rate:.0%} of the time"
        f" ({low:.0%}-{high:.0%}); ratings are corrected for it.{ahead_clause(found)}"
    )


def ahead_clause(found: TopConfidence) -> str:
    """What another round of matches would add, as a sentence to append ("" if unknown)."""
    if found.ahead is None:
        return ""
    return (
        f" Another {found.ahead.matches_per_hypothesis:g} matches per hypothesis would raise"
        f" the expected recall by about {found.ahead.gain:.3f}."
    )
