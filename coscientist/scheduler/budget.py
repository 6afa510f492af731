"""Budgets of one run (calls, tokens, cost, wall time) and the provenance records of its calls.

Calls, tokens and cost are session totals: a resumed run continues to the same
budget, counting what the store already recorded; the time limit is per run. The
model client awaits `Budget.gate` before every backend attempt (it is given the
gate when it is built): over budget, or once the loop is stopping, the gate
blocks, so no task fails because of a budget. `CallLog` collects one record per
attempt for the loop to write in batches.

The gate hands the client a reservation: one call and the attempt's worst-case
cost. While calls in flight hold enough of `max_cost` that this one might not
fit, it waits for them to settle; once even the settled cost leaves no room for
its worst case, the budget is spent. So a run stops before it spends more than
allowed, never after (leaving up to one call's worst case unspent). An attempt
the backend never answered is refunded: it is not a budgeted call.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

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
    calls: int = 0  # calls reserved at the gate and not refunded, this session
    tokens: int = 0  # tokens in + out recorded, this session
    cost: float = 0.0  # USD of answered calls, this session
    reserved_cost: float = 0.0  # worst-case USD of calls in flight
    cost_refused: bool = False  # a call's worst case no longer fits in max_cost
    started: float = field(default_factory=time.monotonic)
    blocked: int = 0  # calls waiting at the gate
    closed: bool = False  # the loop is stopping: no new call starts
    _settled: anyio.Event | None = field(default=None, repr=False, compare=False)
    held_back: int = 0  # calls kept from max_calls for the research overview at the end

    @property
    def deadline(self) -> float | None:
        t = self.limits.time_limit
        return self.started + t if t else None

    def out_of_time(self) -> bool:
        deadline = self.deadline
        return deadline is not None and time.monotonic() >= deadline

    def spent(self) -> str | None:
        """Which budget is used up, if any: the stop reason."""
        if (
            self.limits.max_calls is not None
            and self.calls >= self.limits.max_calls - self.held_back
        ):
            return "call budget"
        if self.limits.max_tokens is not None and self.tokens >= self.limits.max_tokens:
            return "token budget"
        max_cost = self.limits.max_cost
        if max_cost is not None and (self.cost_refused or self.cost > max_cost):
            return "cost budget"
        return None

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def restart(self, limits: Limits) -> None:
        """A new run of the session: new limits and clock, the session's counts kept."""
        self.limits = limits
        self.started = time.monotonic()
        self.closed = False
        self.cost_refused = False

    def load(self, stats: dict[str, Any]) -> None:
        """Start from the store's totals (Store.call_stats): answered calls, tokens, cost."""
        self.calls = int(stats.get("answered", stats.get("calls", 0)))
        self.tokens = int(stats.get("tokens_in", 0)) + int(stats.get("tokens_out", 0))
        self.cost = float(stats.get("cost_usd", 0.0))

    def catch_up(self, stats: dict[str, Any]) -> None:
        """Count what other processes recorded (workers and their planner share a budget)."""
        stored_tokens = int(stats.get("tokens_in", 0)) + int(stats.get("tokens_out", 0))
        self.calls = max(self.calls, int(stats.get("answered", stats.get("calls", 0))))
        self.tokens = max(self.tokens, stored_tokens)
        self.cost = max(self.cost, float(stats.get("cost_usd", 0.0)))

    def reserve(self, worst_case_cost: float = 0.0) -> CallReservation | None:
        """Hold one call and its worst-case cost, or None when there is no room for it now."""
        if self.spent():
            return None
        max_cost = self.limits.max_cost
        if max_cost is not None:
            if self.cost + worst_case_cost > max_cost:
                self.cost_refused = True  # no room even once the calls in flight settle
                return None
            if self.cost + self.reserved_cost + worst_case_cost > max_cost:
                return None  # room, perhaps, once the calls in flight have settled
        self.calls += 1
        self.reserved_cost += worst_case_cost
        return CallReservation(self, worst_case_cost)

    async def acquire(self, worst_case_cost: float = 0.0) -> CallReservation | None:
        """`reserve`, waiting for calls in flight to settle while that may make room;
        None once a budget is spent."""
        while True:
            reservation = self.reserve(worst_case_cost)
            if reservation is not None or self.spent() or self.reserved_cost <= 0:
                return reservation
            if self._settled is None:
                self._settled = anyio.Event()
            await self._settled.wait()

    async def gate(self, worst_case_cost: float = 0.0) -> CallReservation:
        """Awaited before every model attempt: budgets are enforced by waiting, never by failing."""
        reservation = None if self.closed else await self.acquire(worst_case_cost)
        if reservation is None or self.closed:
            if reservation is not None:
                reservation.refund()  # the loop closed while this call waited for room
            self.blocked += 1
            self.wake.set()  # the loop may now be able to stop
            try:
                await anyio.sleep_forever()
            finally:
                self.blocked -= 1
        assert reservation is not None  # sleep_forever ends only by cancellation
        return reservation

    def _settle(self) -> None:
        if self._settled is not None:
            self._settled.set()
            self._settled = None
        self.wake.set()  # a spent cost budget may now stop the loop


@dataclass
class CallReservation:
    """One reserved call (coscientist.llm.base.Reservation): settled or refunded exactly once."""

    budget: Budget
    worst_case_cost: float
    done: bool = False

    def settle(self, cost_usd: float | None) -> None:
        """The backend answered; `cost_usd` None means unknown: the worst case counts."""
        if self._close():
            self.budget.cost += self.worst_case_cost if cost_usd is None else cost_usd

    def refund(self) -> None:
        """No answer: the call does not count."""
        if self._close():
            self.budget.calls -= 1

    def _close(self) -> bool:
        if self.done:
            return False
        self.done = True
        self.budget.reserved_cost -= self.worst_case_cost
        self.budget._settle()
        return True


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
