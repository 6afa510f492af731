"""The words and numbers every display uses for the ranking and its confidence.

One place, so `show`, the TUI and the reports state the same rule and the same
figures.
"""

from __future__ import annotations

from typing import Any

from coscientist.schemas import SessionInfo
from coscientist.tournament import ratings
from coscientist.tournament.confidence import TopConfidence

RANK_RULE = (
    "Ranked by Elo: the lower end of each rating's ~95% interval (TrueSkill mu - 2 sigma),"
    " so a hypothesis with few matches ranks below one as good with many."
    " P(top): the chance it truly belongs among the best ten (the best half of a pool"
    " under twenty), from a Bradley-Terry model of the judge fitted on every verdict"
    " (random verdicts and the first-position bias included)."
)


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
        "rank_rule": RANK_RULE,
    }


def confidence_line(info: SessionInfo, found: TopConfidence) -> str:
    """One sentence for a terminal or a report."""
    rate, low, high = position_bias(info)
    return (
        f"Top {found.k}: expected recall {found.expected_recall:.2f} (about"
        f" {found.expected_outsiders:.1f} of the {found.k} may not truly belong there)."
        f" Judge picks the first-shown of two equals {rate:.0%} of the time"
        f" ({low:.0%}-{high:.0%}); ratings are corrected for it."
    )
