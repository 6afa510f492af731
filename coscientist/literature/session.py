"""Whether a run has literature tools: the setting, then (by default) a preflight request."""

from __future__ import annotations

import time

from coscientist.config import Settings
from coscientist.literature.http import CacheGet, CachePut
from coscientist.literature.tools import PREFLIGHT_SECONDS, LiteratureTools

PREFLIGHT_FAILED = (
    "Literature is off for this run: arXiv, PubMed and Europe PMC did not answer "
    "(offline?); --literature insists, --no-literature skips this check."
)


async def open_literature(
    settings: Settings,
    *,
    cache_get: CacheGet | None = None,
    cache_put: CachePut | None = None,
    deadline: float = PREFLIGHT_SECONDS,
) -> tuple[LiteratureTools | None, str | None]:
    """(tools or None, a one-line notice or None). `settings.literature`: False off, True on
    without asking, None on when at least one service answers within `deadline` seconds."""
    if settings.literature is False:
        return None, None
    tools = LiteratureTools(
        base_urls=settings.literature_base_urls,
        cache_get=cache_get,
        cache_put=cache_put,
        email=settings.literature_email,
        min_intervals=settings.literature_min_intervals,
    )
    if settings.literature is True:
        return tools, None
    started = time.monotonic()
    answered = await tools.preflight(deadline)
    if answered:
        return tools, None
    await tools.aclose()
    took = time.monotonic() - started
    return None, f"{PREFLIGHT_FAILED} (preflight: {took:.1f} s)"
