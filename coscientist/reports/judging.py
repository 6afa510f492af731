"""The judge audit: how consistent the judge is when a pair is shown the other way round.

The pairing policy re-shows pairs of the top region in the reverse order (and
repeated pairs alternate their order anyway). A pair judged in both orders is
a check of the judge: the same hypothesis should win both times. Per pair the
first verdict in each order is compared. A top hypothesis is flagged when a
verdict about it flipped with the order: its place rests partly on the order
it happened to be shown in.
"""

from __future__ import annotations

from collections.abc import Sequence

from coscientist.reports.analysis import wilson_interval
from coscientist.reports.model import AuditFlag, JudgeAudit, LeaderboardRow
from coscientist.schemas import Match


def judge_audit(matches: Sequence[Match], board: Sequence[LeaderboardRow], k: int) -> JudgeAudit:
    first_seen: dict[tuple[str, str], str] = {}  # (first, second) -> winner, earliest
    for m in sorted(matches, key=lambda m: m.seq):
        first_seen.setdefault((m.first_id, m.second_id), m.winner_id)
    checked: dict[str, int] = {}
    flipped: dict[str, int] = {}
    agree = total = 0
    for (first, second), winner in first_seen.items():
        if first > second or (second, first) not in first_seen:
            continue  # each pair once, and only pairs seen both ways
        total += 1
        same = winner == first_seen[(second, first)]
        agree += same
        for hid in (first, second):
            checked[hid] = checked.get(hid, 0) + 1
            flipped[hid] = flipped.get(hid, 0) + (not same)
    flags = [
        AuditFlag(
            id=row.id,
            rank=row.rank,
            title=row.title,
            checked=checked[row.id],
            flipped=flipped[row.id],
        )
        for row in board[:k]
        if flipped.get(row.id, 0) > 0
    ]
    return JudgeAudit(
        pairs_checked=total,
        consistent=agree,
        consistency=agree / total if total else None,
        interval=wilson_interval(agree, total),
        top_k=k,
        flagged=flags,
    )
