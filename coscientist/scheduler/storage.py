"""The loop's way to the store: every call in a worker thread, transient failures retried.

The event loop never touches the database itself. Calls go through one thread
at a time on SQLite (its writer is one connection anyway) and up to eight on
PostgreSQL. A locked file or a dropped connection (`StoreBusyError`) is retried
with backoff, so a hiccup of the database never ends a run by itself.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import anyio
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from coscientist.errors import StoreBusyError
from coscientist.store import Store

R = TypeVar("R")

BUSY_ATTEMPTS = 6  # about 0.1 + 0.2 + 0.4 + 0.8 + 1.6 s of waiting before giving up


class StoreCalls:
    def __init__(self, store: Store, *, attempts: int = BUSY_ATTEMPTS, wait: float = 0.1) -> None:
        self.store = store
        self._limiter = anyio.CapacityLimiter(1 if store.dialect == "sqlite" else 8)
        self._attempts = attempts
        self._wait = wait
        self.busy_retries = 0

    async def __call__(self, fn: Callable[..., R], *args: Any) -> R:
        """`fn(*args)` in a worker thread; a busy store is tried again with backoff."""
        call = partial(fn, *args)
        try:  # the common case, without building a retry loop
            return await anyio.to_thread.run_sync(call, limiter=self._limiter)
        except StoreBusyError:
            self.busy_retries += 1
        retrying = AsyncRetrying(
            sleep=anyio.sleep,
            stop=stop_after_attempt(self._attempts - 1),
            wait=wait_exponential(multiplier=self._wait, max=5.0),
            retry=retry_if_exception_type(StoreBusyError),
            before_sleep=self._count,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                await anyio.sleep(self._wait)
                return await anyio.to_thread.run_sync(call, limiter=self._limiter)
        raise AssertionError("unreachable: tenacity either returns or raises")

    def _count(self, _: object) -> None:
        self.busy_retries += 1
