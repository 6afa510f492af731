"""A wake-up call for the loop: anything that changes what could run next sets it."""

from __future__ import annotations

import anyio


class Wakeup:
    """Like an `anyio.Event` that resets itself, and may be set before the loop waits."""

    def __init__(self) -> None:
        self._event: anyio.Event | None = None
        self._pending = False

    def set(self) -> None:
        self._pending = True
        if self._event is not None:
            self._event.set()

    async def wait(self, seconds: float) -> None:
        """Return when set (now, if it was set since the last wait) or after `seconds`."""
        if not self._pending:
            self._event = anyio.Event()
            with anyio.move_on_after(seconds):
                await self._event.wait()
            self._event = None
        self._pending = False
