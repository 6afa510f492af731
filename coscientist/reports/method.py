"""The parts of a report that show the co-scientist's method: safety, statuses, reviews, debates.

Pure functions over pydantic objects. Hypotheses withheld by the safety gate are
counted here and nowhere listed: `visible` is what every other part of a report
may show.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from coscientist.reports.model import DebateRecord, SafetySummary, StatusNote
from coscientist.schemas import (
    Hypothesis,
    HypothesisStatus,
    Match,
    MatchMode,
    Review,
    SafetyVerdict,
)

DEBATES_PER_HYPOTHESIS = 2
DEBATE_HYPOTHESES = 5  # how many of the best-ranked debated hypotheses a report shows
UNKNOWN_REASON = "no reason recorded"


def withheld_ids(hypotheses: Iterable[Hypothesis]) -> set[str]:
    return {h.id for h in hypotheses if h.status == HypothesisStatus.UNSAFE}


def visible(hypotheses: Iterable[Hypothesis]) -> list[Hypothesis]:
    """Every hypothesis a report may show: all but those the safety gate withheld."""
    return [h for h in hypotheses if h.status != HypothesisStatus.UNSAFE]


def safety_summary(hypotheses: Iterable[Hypothesis], goal: SafetyVerdict | None) -> SafetySummary:
    reasons = Counter(
        h.status_reason or UNKNOWN_REASON for h in hypotheses if h.status == HypothesisStatus.UNSAFE
    )
    return SafetySummary(
        goal=goal, withheld=sum(reasons.values()), by_reason=dict(sorted(reasons.items()))
    )


def out_of_tournament(hypotheses: Iterable[Hypothesis]) -> list[StatusNote]:
    """Visible hypotheses that left the tournament, flawed ones first, in creation order."""
    order = {
        HypothesisStatus.FLAWED: 0,
        HypothesisStatus.REJECTED: 1,
        HypothesisStatus.DUPLICATE: 2,
        HypothesisStatus.RETIRED: 3,
    }
    notes = [
        StatusNote(id=h.id, title=h.title, status=h.status, reason=h.status_reason or "")
        for h in hypotheses
        if h.status in order
    ]
    return sorted(notes, key=lambda n: order[n.status])


def reviews_by_kind(reviews: Iterable[Review], hidden: set[str]) -> dict[str, int]:
    counts = Counter(r.kind.value for r in reviews if r.hypothesis_id not in hidden)
    return dict(sorted(counts.items()))


def top_debates(
    matches: Sequence[Match],
    ranked_ids: Sequence[str],
    titles: Mapping[str, str],
    hypotheses: int = DEBATE_HYPOTHESES,
    per_hypothesis: int = DEBATES_PER_HYPOTHESIS,
) -> list[DebateRecord]:
    """The latest debates of the best-ranked hypotheses that have debated, best first.

    `ranked_ids` is the whole board in order. A board can put untested children of the
    best above everything that has played (their prior comes from their parents), so the
    first few ids need not have debated; they are skipped rather than leaving the section
    empty while debates exist. Debates with a withheld side (missing from `titles`) are
    never shown.
    """
    by_hypothesis: dict[str, list[Match]] = {}
    for m in reversed(matches):
        if m.mode == MatchMode.DEBATE and m.first_id in titles and m.second_id in titles:
            by_hypothesis.setdefault(m.first_id, []).append(m)
            by_hypothesis.setdefault(m.second_id, []).append(m)
    records: dict[str, DebateRecord] = {}
    for hid in [h for h in ranked_ids if h in by_hypothesis][:hypotheses]:
        for m in by_hypothesis[hid][:per_hypothesis]:
            records.setdefault(m.id, record(m, titles))
    return list(records.values())


def record(m: Match, titles: Mapping[str, str]) -> DebateRecord:
    return DebateRecord(
        id=m.id,
        seq=m.seq,
        mode=m.mode,
        first_id=m.first_id,
        first_title=titles.get(m.first_id, ""),
        second_id=m.second_id,
        second_title=titles.get(m.second_id, ""),
        winner_id=m.winner_id,
        rationale=m.rationale,
        turns=list(m.turns),
    )
