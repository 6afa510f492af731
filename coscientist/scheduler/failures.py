"""What a failed task means, and when failures should end a run.

Three kinds of failure, handled differently (smolagents' rule: the model's
mistakes are retried, our own bugs are raised):

- the model's or the transport's (`ModelError`): the task goes back to the queue
  and is retried, up to its attempt limit; a long run of transport failures in a
  row means the model is unreachable and stops the run, its tasks kept pending;
- the store's transient ones (`StoreBusyError`): retried with backoff where they
  happen (see storage.py); if they persist the task is retried like a model fault;
- anything else is a bug in our code: the task is marked dead with its traceback
  in the store, and after a few the run stops with a clear message and a
  non-zero exit instead of retrying without end.
"""

from __future__ import annotations

import enum
import traceback
from dataclasses import dataclass

from coscientist.errors import (
    LeaseLostError,
    ModelError,
    ModelTransportError,
    StoreError,
    endpoint_is_dead,
)

MAX_BUGS = 3  # tasks that hit a bug before the run stops
MAX_UNREACHABLE = 10  # transport failures in a row before the model counts as unreachable
MAX_TRACEBACK_CHARS = 3500


class FailureKind(enum.StrEnum):
    MODEL = "model"  # retried
    UNREACHABLE = "unreachable"  # retried; many in a row stop the run
    STORE = "store"  # retried
    LEASE = "lease"  # another owner has the task: nothing to do
    BUG = "bug"  # not retried; a few stop the run


def classify(exc: BaseException) -> FailureKind:
    if isinstance(exc, LeaseLostError):
        return FailureKind.LEASE
    if isinstance(exc, ModelTransportError) or endpoint_is_dead(exc):  # 401/403/404 too
        return FailureKind.UNREACHABLE
    if isinstance(exc, ModelError):
        return FailureKind.MODEL
    if isinstance(exc, StoreError):
        return FailureKind.STORE
    return FailureKind.BUG


def describe(exc: BaseException, *, with_traceback: bool = False) -> str:
    """One line for events and the retry log; a bug keeps its traceback (the end of it)."""
    line = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
    if not with_traceback:
        return line
    trace = "".join(traceback.format_exception(exc))
    if len(trace) > MAX_TRACEBACK_CHARS:
        trace = "…" + trace[-MAX_TRACEBACK_CHARS:]
    return f"{line}\n{trace}"


@dataclass
class FailureCount:
    """Counts failures of one run; says when they are reason enough to stop it."""

    max_bugs: int = MAX_BUGS
    max_unreachable: int = MAX_UNREACHABLE
    failed: int = 0
    bugs: int = 0
    unreachable_in_a_row: int = 0
    last_bug: str = ""

    def succeeded(self) -> None:
        self.unreachable_in_a_row = 0

    def failed_with(self, kind: FailureKind, message: str) -> str | None:
        """Count a failure; return a stop reason when the run should end because of it."""
        if kind == FailureKind.LEASE:
            return None
        self.failed += 1
        if kind == FailureKind.UNREACHABLE:
            self.unreachable_in_a_row += 1
            if self.unreachable_in_a_row >= self.max_unreachable:
                return f"model unreachable ({self.unreachable_in_a_row} tasks failed in a row: {message})"
        elif kind == FailureKind.BUG:
            self.bugs += 1
            self.last_bug = message
            if self.bugs >= self.max_bugs:
                return f"internal error: {self.bugs} tasks hit a bug (last: {message})"
        return None


__all__ = [
    "FailureCount",
    "FailureKind",
    "classify",
    "describe",
]
