"""Turn an answer's proposed next step into the real thing, through the Session's own methods.

Nothing here writes the goal, the plan, a review or a hypothesis itself: a
refined goal passes the goal's safety screen, a new hypothesis the hypothesis
screen, and a running loop hears of each, exactly as when the scientist does
it by hand. The answer then records what its follow-up became, once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from coscientist.errors import ConfigError
from coscientist.schemas import Answer, FollowUpKind
from coscientist.store.repository import Store


class Steerable(Protocol):
    """What a Session offers the scientist (coscientist/session/steering.py)."""

    def refine_goal(self, goal: str) -> None: ...

    def update_plan(self, *, preferences: Sequence[str] = ...) -> Any: ...

    def add_review(self, hypothesis_id: str, text: str) -> Any: ...

    def add_hypothesis(self, text: str) -> Any: ...


def describe(answer: Answer) -> str:
    """The follow-up in words, e.g. `add hypothesis: ...`."""
    follow = answer.follow_up
    if follow is None:
        return "no follow-up"
    if follow.kind == FollowUpKind.REVIEW:
        return f"review {follow.hypothesis_id}: {follow.text}"
    label = {
        FollowUpKind.REFINE_GOAL: "refine the goal to",
        FollowUpKind.PREFERENCE: "add a preference",
        FollowUpKind.HYPOTHESIS: "add hypothesis",
    }[follow.kind]
    return f"{label}: {follow.text}"


def apply(session: Steerable, store: Store, answer: Answer) -> Answer:
    """Apply the answer's follow-up; ConfigError when it has none or was applied before."""
    follow = answer.follow_up
    if follow is None:
        raise ConfigError(f"answer {answer.id} proposes no follow-up: nothing to apply")
    if answer.applied:
        raise ConfigError(f"answer {answer.id} was applied already ({answer.applied})")
    if follow.kind == FollowUpKind.REFINE_GOAL:
        session.refine_goal(follow.text)
        done = "goal refined"
    elif follow.kind == FollowUpKind.PREFERENCE:
        session.update_plan(preferences=[follow.text])
        done = "preference added to the research plan"
    elif follow.kind == FollowUpKind.REVIEW:
        if follow.hypothesis_id is None:
            raise ConfigError(f"answer {answer.id} proposes a review of no hypothesis")
        review = session.add_review(follow.hypothesis_id, follow.text)
        done = f"review {review.id} of {follow.hypothesis_id}"
    else:
        hypothesis = session.add_hypothesis(follow.text)
        done = f"hypothesis {hypothesis.id} added"
    if not store.mark_answer_applied(answer.id, done):
        raise ConfigError(f"answer {answer.id} was applied meanwhile by another process")
    return answer.model_copy(update={"applied": done})
