"""`coscientist worker`: extra executors claiming tasks from a shared store (scale-out).

Not available yet: the store already claims with FOR UPDATE SKIP LOCKED on
PostgreSQL and leases name their owner, but the planning process does not yet
keep a queue of pending tasks for other processes to take. Until it does, a run
scales up with --concurrency against a served model instead.
"""

from __future__ import annotations

from typing import Any

from coscientist.errors import ConfigError


async def run_worker(cs: Any) -> None:
    raise ConfigError(
        "coscientist worker is not available in this version: scale a run with "
        "--concurrency against an OpenAI-compatible server instead"
    )
