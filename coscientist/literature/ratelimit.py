"""Polite request pacing: a minimum interval between request starts, per service."""

from __future__ import annotations

import anyio


class MinInterval:
    """Callers queue on a lock; each waits until `seconds` after the previous start.

    Services ask for this, and it also spaces the two calls of one PubMed search.
    The defaults (each service module's MIN_INTERVAL) follow the published limits:

    - arXiv API Terms of Use (https://info.arxiv.org/help/api/tou.html): no more
      than one request every three seconds, one connection at a time -> 3.0 s.
    - NCBI E-utilities (https://www.ncbi.nlm.nih.gov/books/NBK25497/ and NLM
      support article KA-05510): up to 3 requests a second without an API key
      (10 with one; we send none) -> 0.34 s.
    - Europe PMC REST (https://europepmc.org/RestfulWebService): we found no
      published numeric limit; 5 requests a second is our own conservative choice
      -> 0.2 s.

    Settings.literature_min_intervals overrides them (tests against the local fake use 0).
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
