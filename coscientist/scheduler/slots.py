"""What is in flight (running here, or queued for workers), by kind and by hypothesis.

The policy reads it so that it does not plan the same work twice: a hypothesis
under review or in a match is busy, and kinds with a cap (one graph step, one
meta-review at a time) see how many are already going.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from coscientist.schemas import TaskKind

_HYPOTHESIS_KEYS = ("hypothesis_id", "first_id", "second_id")


def payload_hypotheses(payload: dict[str, Any]) -> list[str]:
    return [str(payload[k]) for k in _HYPOTHESIS_KEYS if payload.get(k)]


class InFlight:
    def __init__(self) -> None:
        self.kinds: Counter[TaskKind] = Counter()
        self._busy: Counter[str] = Counter()

    def hold(self, kind: TaskKind, payload: dict[str, Any]) -> None:
        self.kinds[kind] += 1
        for hid in payload_hypotheses(payload):
            self._busy[hid] += 1

    def drop(self, kind: TaskKind, payload: dict[str, Any]) -> None:
        self.kinds[kind] -= 1
        for hid in payload_hypotheses(payload):
            self._busy[hid] -= 1
            if self._busy[hid] <= 0:
                del self._busy[hid]  # only busy ids stay: exclusion lists stay short

    def busy(self, hid: str) -> bool:
        return self._busy[hid] > 0

    def busy_ids(self) -> frozenset[str]:
        return frozenset(self._busy)
