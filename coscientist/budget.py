"""Budgets and stop rules of one run: calls, tokens, wall time.

Calls and tokens are session totals (a resumed run continues to the same
budget, counting what the store already recorded); the time limit is per run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from coscientist.config import Limits


@dataclass
class Budget:
    limits: Limits
    calls: int = 0  # calls started (reserved at the gate), this session
    tokens: int = 0  # tokens in + out recorded, this session
    started: float = field(default_factory=time.monotonic)

    @property
    def deadline(self) -> float | None:
        t = self.limits.time_limit
        return self.started + t if t else None

    def out_of_time(self) -> bool:
        deadline = self.deadline
        return deadline is not None and time.monotonic() >= deadline

    def spent(self) -> str | None:
        """Which budget is used up, if any: the stop reason."""
        if self.limits.max_calls is not None and self.calls >= self.limits.max_calls:
            return "call budget"
        if self.limits.max_tokens is not None and self.tokens >= self.limits.max_tokens:
            return "token budget"
        return None

    def elapsed(self) -> float:
        return time.monotonic() - self.started
