"""Rating against compute: the best rating and the mean of the top k over model calls.

Derived from what the store keeps (the rating history of every match and the
time of every model call), so every session has its curve, however it ran.
The rating is the one the tournament kept while it ran: TrueSkill's conservative Elo
(tournament.ratings.to_elo) after each match. The leaderboard's Elo comes from the judge fit
over every verdict, refitted for a display; refitting it after every match of a history
would cost a fit per point, so the curve keeps the online rating and says so.
`plot` turns the curve into polyline coordinates for an inline SVG: numbers
only, nothing a model wrote.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from coscientist.reports.model import ComputeCurve, CurvePoint
from coscientist.tournament.ratings import to_elo

MAX_POINTS = 60
WIDTH, HEIGHT, PAD = 560.0, 180.0, 34.0


def compute_curve(
    history: Sequence[Mapping[str, Any]], call_times: Sequence[datetime], k: int = 10
) -> ComputeCurve:
    """`history`: the store's rating history (rows with seq, hypothesis_id, mu_after,
    sigma_after, created_at), in seq order; `call_times`: when each call was made, sorted."""
    by_match: list[list[Mapping[str, Any]]] = []
    for row in history:
        if by_match and by_match[-1][0]["seq"] == row["seq"]:
            by_match[-1].append(row)
        else:
            by_match.append([row])
    if not by_match:
        return ComputeCurve(top_k=k)
    step = max(1, len(by_match) // MAX_POINTS)
    elo: dict[str, float] = {}
    points = []
    for i, rows in enumerate(by_match, start=1):
        for row in rows:
            elo[row["hypothesis_id"]] = to_elo(row["mu_after"], row["sigma_after"])
        if i % step and i != len(by_match):
            continue
        best = heapq.nlargest(k, elo.values())
        points.append(
            CurvePoint(
                calls=bisect.bisect_right(call_times, rows[0]["created_at"]),
                matches=i,
                best_elo=best[0],
                top_mean_elo=sum(best) / len(best),
            )
        )
    return ComputeCurve(top_k=k, points=points)


class Plot(BaseModel):
    """An SVG's worth of geometry: polyline points and the axis labels."""

    best: str
    top_mean: str
    calls_max: int
    elo_low: float
    elo_high: float


def plot(curve: ComputeCurve) -> Plot | None:
    if len(curve.points) < 2:
        return None
    xs = [p.calls for p in curve.points]
    ys = [v for p in curve.points for v in (p.best_elo, p.top_mean_elo)]
    x_span = max(max(xs) - min(xs), 1)
    low, high = min(ys), max(ys)
    y_span = max(high - low, 1.0)

    def line(values: list[float]) -> str:
        return " ".join(
            f"{PAD + (WIDTH - 2 * PAD) * (x - min(xs)) / x_span:.1f},"
            f"{HEIGHT - PAD - (HEIGHT - 2 * PAD) * (y - low) / y_span:.1f}"
            for x, y in zip(xs, values, strict=True)
        )

    return Plot(
        best=line([p.best_elo for p in curve.points]),
        top_mean=line([p.top_mean_elo for p in curve.points]),
        calls_max=max(xs),
        elo_low=low,
        elo_high=high,
    )


def sparkline(values: Sequence[float], width: int = 24) -> str:
    """Block characters for a terminal: the last `width` values, scaled to their range."""
    bars = "▁▂▃▄▅▆▇█"
    tail = list(values)[-width:]
    if not tail:
        return ""
    low, high = min(tail), max(tail)
    span = high - low or 1.0
    return "".join(bars[min(len(bars) - 1, int((v - low) / span * len(bars)))] for v in tail)
