"""Helpers for tests that look inside a running scheduler."""

from __future__ import annotations

from typing import Any

import pytest

from coscientist.config import Limits
from coscientist.scheduler.loop import Scheduler


def capture_schedulers(monkeypatch: pytest.MonkeyPatch) -> list[Scheduler]:
    """Every Scheduler that runs during the test, in order, for looking at its memory after."""
    seen: list[Scheduler] = []
    real_run = Scheduler.run

    async def keep(self: Scheduler, limits: Limits) -> Any:
        seen.append(self)
        return await real_run(self, limits)

    monkeypatch.setattr(Scheduler, "run", keep)
    return seen
