"""The co-scientist's method where it touches the loop: who needs which review, who may compete.

Kept apart from the policy and the runner so that their own logic stays small:

- `MethodMemory`, held by `SessionState`: the scientist's observations, titles
  for duplicate checks, and the matches each hypothesis lost (for tournament reviews).
- `deep_reviews_due` / `tournament_reviews_due`: what the policy schedules for the top k.
- `admission`: what a new hypothesis becomes (duplicate, unsafe) before it is stored.
- `consequence`: what a review does to its hypothesis's status (flawed, unsafe).
"""

from __future__ import annotations

import re
from collections import Counter, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from coscientist import safety
from coscientist.schemas import (
    Hypothesis,
    HypothesisStatus,
    Match,
    MatchMode,
    Observation,
    Rating,
    Review,
    ReviewDraft,
    ReviewKind,
    SafetyVerdict,
)

ENTRY_MATCHES = 2  # matches played before a place in the top k counts as entering it
LOSSES_KEPT = 3  # lost matches remembered per hypothesis, for its tournament review
OTHER_DEEP_KINDS = (ReviewKind.FULL, ReviewKind.OBSERVATION, ReviewKind.SIMULATION)
_BESIDES_FULL = frozenset({ReviewKind.OBSERVATION, ReviewKind.SIMULATION})
_NON_WORD = re.compile(r"[^a-z0-9]+")


def title_key(title: str) -> str:
    """Titles that differ only in case, spacing or punctuation are the same title."""
    return _NON_WORD.sub(" ", title.lower()).strip()


def debate_k(pool: int, configured: int | None = None) -> int:
    """The top k whose matches are debates and whose members get deeper reviews."""
    return configured if configured else max(5, pool // 5)


@dataclass
class MethodMemory:
    observations: list[Observation] = field(default_factory=list)
    titles: dict[str, str] = field(default_factory=dict)  # title key -> first hypothesis id
    losses: dict[str, deque[Match]] = field(default_factory=dict)
    lost: Counter[str] = field(default_factory=Counter)
    tournament_seen: dict[str, int] = field(default_factory=dict)  # losses read by its last review
    debates: int = 0  # matches played as debates

    def on_hypothesis(self, h: Hypothesis) -> None:
        if h.status not in (HypothesisStatus.DUPLICATE, HypothesisStatus.UNSAFE):
            self.titles.setdefault(title_key(h.title), h.id)

    def on_match(self, m: Match) -> None:
        self.debates += m.mode == MatchMode.DEBATE
        loser = m.second_id if m.winner_id == m.first_id else m.first_id
        self.lost[loser] += 1
        self.losses.setdefault(loser, deque(maxlen=LOSSES_KEPT)).append(m)

    def on_review(self, r: Review) -> None:
        if r.kind == ReviewKind.TOURNAMENT:
            seen = int(r.details.get("losses_seen", 0))
            self.tournament_seen[r.hypothesis_id] = max(
                seen, self.tournament_seen.get(r.hypothesis_id, 0)
            )


# --- what the policy schedules ------------------------------------------------------


def deep_reviews_due(
    top_ids: Iterable[str],
    reviews: Mapping[str, Sequence[Review]],
    ratings: Mapping[str, Rating],
    min_matches: int = ENTRY_MATCHES,
    literature: bool = False,
) -> list[tuple[str, frozenset[ReviewKind]]]:
    """Top hypotheses still lacking a deep verification or one more deeper review.

    A hypothesis enters the top by its matches: one that has played fewer than
    `min_matches` sits there on its initial rating only. Each comes with the kinds it
    already has, so the policy picks a missing one. An evolved child is a hypothesis of
    its own: entering the top, it gets both again.
    """
    due = []
    for hid in top_ids:
        rating = ratings.get(hid)
        if rating is None or rating.matches < min_matches:
            continue
        kinds = frozenset(r.kind for r in reviews.get(hid, ()))
        if ReviewKind.DEEP_VERIFICATION not in kinds or not kinds & set(OTHER_DEEP_KINDS):
            due.append((hid, kinds))
        elif literature and (ReviewKind.FULL not in kinds or not kinds & _BESIDES_FULL):
            # With literature on, the full review (its sources and checked citations) comes
            # on top of the simulation or observation review, not instead of it.
            due.append((hid, kinds))
    return due


def tournament_reviews_due(top_ids: Iterable[str], memory: MethodMemory) -> list[str]:
    """Top hypotheses that lost a match since their last tournament review."""
    return [hid for hid in top_ids if memory.lost[hid] > memory.tournament_seen.get(hid, 0)]


# --- what a new hypothesis becomes ----------------------------------------------------


@dataclass(frozen=True)
class Admission:
    status: HypothesisStatus
    duplicate_of: str | None = None
    reason: str | None = None


def screen_hypothesis(h: Hypothesis) -> SafetyVerdict:
    text = safety.hypothesis_text(h.title, h.statement, h.rationale, h.experiment, *h.predictions)
    return safety.screen(text)


def admission(
    h: Hypothesis, titles: Mapping[str, str], near_duplicate_of: str | None
) -> Admission | None:
    """Unsafe (our screen, whatever the model), else a duplicate (same title, or a near-identical
    statement found by proximity); None when it competes."""
    verdict = screen_hypothesis(h)
    if not verdict.safe:
        return Admission(HypothesisStatus.UNSAFE, reason=verdict.reason)
    same_title = titles.get(title_key(h.title))
    if same_title is not None:
        return Admission(HypothesisStatus.DUPLICATE, same_title, f"same title as {same_title}")
    if near_duplicate_of is not None:
        return Admission(
            HypothesisStatus.DUPLICATE, near_duplicate_of, f"near-identical to {near_duplicate_of}"
        )
    return None


# --- what a review does ----------------------------------------------------------------


def consequence(review: ReviewDraft, h: Hypothesis, binding: bool) -> Admission | None:
    """The status a review gives its hypothesis, or None.

    Safety: a reviewer's safety score of 1 withholds it (where the model's reviews bind).
    A fatal flaw in deep verification, or a simulation that fails, takes it out of the
    tournament unless the scientist pinned it; with a model whose reviews are advisory the
    verdict is recorded and nothing else happens.
    """
    if not binding or h.status != HypothesisStatus.ACTIVE:
        return None
    if review.kind == ReviewKind.INITIAL and review.scores.get("safety", 5.0) <= 1.0:
        return Admission(HypothesisStatus.UNSAFE, reason=safety.MODEL_REASON)
    if h.pinned or review.passed:
        return None
    if review.kind == ReviewKind.DEEP_VERIFICATION:
        fatal = [str(f) for f in review.details.get("fatal", [])]
        what = f": {fatal[0]}" if fatal else ""
        return Admission(
            HypothesisStatus.FLAWED, reason=f"deep verification found a fatal flaw{what}"
        )
    if review.kind == ReviewKind.SIMULATION:
        step = review.details.get("fails_at")
        return Admission(HypothesisStatus.FLAWED, reason=f"simulation failed at step {step}")
    return None
