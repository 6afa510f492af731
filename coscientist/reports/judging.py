"""The judge audit: how consistent the judge is when a pair is shown the other way round.

The pairing policy re-shows pairs of the top region in the reverse order (and
repeated pairs alternate their order anyway). A pair judged in both orders is
a check of the judge: the same hypothesis should win both times. Per pair the
first verdict in each order is compared. A top hypothesis is flagged when a
verdict about it flipped with the order: its place rests partly on the order
it happened to be shown in.

With a second judge configured (the `audit` role on its own model), each top pair
the judge debates is also judged once by the second judge (scheduler/runner.py);
its agreement with the judge's verdict of the same task is the second check, and
a top hypothesis is flagged when the second judge gave one of its wins away.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from coscientist.reports.analysis import wilson_interval
from coscientist.reports.model import AuditFlag, JudgeAudit, SecondJudgeAudit
from coscientist.schemas import Match, SecondOpinion


class Ranked(Protocol):
    """A leaderboard row as the audit reads it (LeaderboardEntry, reports' LeaderboardRow)."""

    @property
    def id(self) -> str: ...
    @property
    def rank(self) -> int: ...
    @property
    def title(self) -> str: ...


def judge_audit(
    matches: Sequence[Match],
    board: Sequence[Ranked],
    k: int,
    opinions: Sequence[SecondOpinion] = (),
) -> JudgeAudit:
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
    return JudgeAudit(
        pairs_checked=total,
        consistent=agree,
        consistency=agree / total if total else None,
        interval=wilson_interval(agree, total),
        top_k=k,
        flagged=_flags(board[:k], checked, flipped),
        second_judge=second_judge(matches, board[:k], opinions) if opinions else None,
    )


def second_judge(
    matches: Sequence[Match], top: Sequence[Ranked], opinions: Sequence[SecondOpinion]
) -> SecondJudgeAudit:
    """The second judge's verdicts against the judge's verdict of the same task and pair."""
    by_task: dict[tuple[str | None, str, str], str] = {
        (m.task_id, m.first_id, m.second_id): m.winner_id for m in matches if m.task_id
    }
    checked: dict[str, int] = {}
    reversed_: dict[str, int] = {}
    agreed = total = 0
    for o in opinions:
        judged = by_task.get((o.task_id, o.first_id, o.second_id))
        if judged is None:
            continue  # its match is gone (a hypothesis removed with its matches)
        total += 1
        agreed += o.winner_id == judged
        checked[judged] = checked.get(judged, 0) + 1
        reversed_[judged] = reversed_.get(judged, 0) + (o.winner_id != judged)
    return SecondJudgeAudit(
        models=list(dict.fromkeys(o.model for o in opinions)),
        checked=total,
        agreed=agreed,
        agreement=agreed / total if total else None,
        interval=wilson_interval(agreed, total),
        flagged=_flags(top, checked, reversed_),
    )


def _flags(
    top: Sequence[Ranked], checked: Mapping[str, int], changed: Mapping[str, int]
) -> list[AuditFlag]:
    """The top rows with a verdict that changed on the second look, best first."""
    return [
        AuditFlag(
            id=row.id,
            rank=row.rank,
            title=row.title,
            checked=checked[row.id],
            flipped=changed[row.id],
        )
        for row in top
        if changed.get(row.id, 0) > 0
    ]


def audit_sentence(audit: Mapping[str, Any]) -> str:
    """One line for `show` and the TUI from a JudgeAudit's JSON."""
    if audit["pairs_checked"]:
        found = (
            f"self-consistency {100 * audit['consistency']:.0f} % ({audit['consistent']} of"
            f" {audit['pairs_checked']} pairs shown both ways kept their winner)"
        )
    else:
        found = "no pair shown both ways yet"
    flipped = [str(f["rank"]) for f in audit["flagged"]]
    if flipped:
        found += f"; top ranks on a verdict that flipped: {', '.join(flipped)}"
    second = audit.get("second_judge")
    if second:
        models = ", ".join(second["models"])
        if second["checked"]:
            found += (
                f"; second judge {models} agreed on {second['agreed']} of {second['checked']}"
                f" top debates ({100 * second['agreement']:.0f} %)"
            )
        else:
            found += f"; second judge {models}: no debate judged yet"
        reversed_ = [str(f["rank"]) for f in second["flagged"]]
        if reversed_:
            found += f", reversing a win of rank {', '.join(reversed_)}"
    return f"Judge audit: {found}"
