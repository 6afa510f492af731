"""How the outside reaches a running loop: commands, queued and applied by the loop itself.

`Session` writes the store first, then puts a command here; the loop drains the
inbox before each decision. The inbox exists before any loop does, so a stop
asked during start-up is honoured when the loop starts, and nothing outside the
loop ever touches its state.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from coscientist.scheduler.wakeup import Wakeup
from coscientist.schemas import Hypothesis, HypothesisStatus, Observation, ResearchPlan, Review


@dataclass(frozen=True)
class Pause:
    pass


@dataclass(frozen=True)
class Resume:
    pass


@dataclass(frozen=True)
class Stop:
    reason: str = "stopped by the scientist"


@dataclass(frozen=True)
class AddHypothesis:
    """The scientist's hypothesis, already in the store."""

    hypothesis: Hypothesis


@dataclass(frozen=True)
class AddReview:
    review: Review


@dataclass(frozen=True)
class RefineGoal:
    goal: str


@dataclass(frozen=True)
class SetPreferences:
    preferences: str


@dataclass(frozen=True)
class SetPlan:
    """The scientist changed the research plan (already stored): tasks starting now use it."""

    plan: ResearchPlan


@dataclass(frozen=True)
class AddObservation:
    """An observation the scientist gave (already stored), for observation reviews."""

    observation: Observation


@dataclass(frozen=True)
class SetPinned:
    hypothesis_id: str
    pinned: bool


@dataclass(frozen=True)
class SetStatus:
    hypothesis_id: str
    status: HypothesisStatus


Command = (
    Pause
    | Resume
    | Stop
    | AddHypothesis
    | AddReview
    | RefineGoal
    | SetPreferences
    | SetPlan
    | AddObservation
    | SetPinned
    | SetStatus
)


class Inbox:
    """Commands for the loop, in the order they were given."""

    def __init__(self) -> None:
        self._items: deque[Command] = deque()
        self._wake: Wakeup | None = None

    def put(self, command: Command) -> None:
        self._items.append(command)
        if self._wake is not None:
            self._wake.set()

    def attach(self, wake: Wakeup) -> None:
        """A loop starts listening (commands given before it started are still there)."""
        self._wake = wake
        if self._items:
            wake.set()

    def detach(self) -> None:
        """The loop ended: commands addressed to it are void."""
        self._wake = None
        self._items.clear()

    def drain(self) -> list[Command]:
        items = list(self._items)
        self._items.clear()
        return items
