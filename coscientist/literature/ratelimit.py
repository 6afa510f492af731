"""Polite request pacing: a minimum interval between request starts, per service."""

from __future__ import annotations

import anyio


class MinInterval:
    """Callers queue on a lock; each waits until `seconds` after the previous start.

    Services ask for this (arXiv: one request every three seconds; NCBI
    E-utilities: three a second without an API key), and it also spaces the
    two calls of one PubMed search.
    """

    def __init__(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a minimum interval cannot be negative")
        self.seconds = seconds
        self._lock = anyio.Lock()
        self._next_start = float("-inf")

    async def wait(self) -> None:
        async with self._lock:
            delay = self._next_start - anyio.current_time()
            if delay > 0:
                await anyio.sleep(delay)
            self._next_start = anyio.current_time() + self.seconds
