"""Small pieces of a run's runtime: its summary, its owner id, numpy's thread limit."""

from __future__ import annotations

import os
import socket
import uuid
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass


@dataclass
class RunSummary:
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


def one_blas_thread() -> AbstractContextManager[object]:
    """Numpy's BLAS on one thread while a run lasts.

    The proximity lookups are small matrix-vector products. OpenBLAS spreads each over
    every core and its threads spin between calls: on a busy machine a product over
    1,000 hypotheses took 14 ms instead of 0.1 ms, and the spinning threads starved the
    event loop. Without threadpoolctl nothing changes.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return nullcontext()
    limits: AbstractContextManager[object] = threadpool_limits(limits=1, user_api="blas")
    return limits


def make_owner_id() -> str:
    """Names the process holding a lease: host and pid tell a restart whether it is gone."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
