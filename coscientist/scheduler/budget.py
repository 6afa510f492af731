"""Budgets of one run (calls, tokens, wall time) and the provenance records of its calls.

Calls and tokens are session totals: a resumed run continues to the same budget,
counting what the store already recorded; the time limit is per run. The model
client awaits `Budget.gate` before every backend attempt (it is given the gate
when it is built): over budget, or once the loop is stopping, the gate blocks,
so no task fails because of a budget. `CallLog` collects one record per attempt
for the loop to write in batches.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import anyio

from coscientist.config import Limits
from coscientist.scheduler.wakeup import Wakeup
from coscientist.schemas import CallRecord


@dataclass
class RunSummary:
    """What one run did and spent; `error` is set when it stopped because of a fault."""

    session_id: str
    stop_reason: str
    tasks_done: int
    tasks_failed: int
    calls: int
    tokens_in: int
    tokens_out: int
    hypotheses: int
    matches: int
    elapsed_s: float
    max_in_flight: int
    error: str | None = None


@dataclass
class Budget:
    limits: Limits
    wake: Wakeup = field(default_factory=Wakeup)
    calls: int = 0  # calls started (reserved at the gate), this session
    tokens: int = 0  # tokens in + out recorded, this session
    started: float = field(default_factory=time.monotonic)
    blocked: int = 0  # calls waiting at the gate
    closed: bool = False  # the loop is stopping: no new call starts

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

    def restart(self, limits: Limits) -> None:
        """A new run of the session: new limits and clock, the session's counts kept."""
        self.limits = limits
        self.started = time.monotonic()
        self.closed = False

    async def gate(self) -> None:
        """Awaited before every model attempt: budgets are enforced by waiting, never by failing."""
        if self.closed or self.spent():
            self.blocked += 1
            self.wake.set()  # the loop may now be able to stop
            try:
                await anyio.sleep_forever()
            finally:
                self.blocked -= 1
        self.calls += 1


@dataclass
class CallLog:
    """Provenance records waiting to be written (batched: one transaction per flush)."""

    budget: Budget
    pending: list[CallRecord] = field(default_factory=list)

    async def record(self, record: CallRecord) -> None:
        self.budget.tokens += record.tokens_in + record.tokens_out
        self.pending.append(record)

    def take(self) -> list[CallRecord]:
        batch, self.pending = self.pending, []
        return batch
