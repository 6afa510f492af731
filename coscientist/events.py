"""A small broadcast of session events: the scheduler publishes, displays subscribe.

Publishing never blocks the scheduler: a subscriber that falls behind loses
events (counted), it never slows the tournament down.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from coscientist.schemas import Event


class EventBus:
    def __init__(self, buffer: int = 1000) -> None:
        self._buffer = buffer
        self._subscribers: list[MemoryObjectSendStream[Event]] = []
        self.dropped = 0
        self.published = 0

    def publish(self, event: Event) -> None:
        self.published += 1
        for stream in list(self._subscribers):
            try:
                stream.send_nowait(event)
            except anyio.WouldBlock:
                self.dropped += 1
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                self._subscribers.remove(stream)

    def emit(self, kind: str, session_id: str, message: str = "", /, **data: Any) -> None:
        self.publish(Event(kind=kind, session_id=session_id, message=message, data=data))

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[MemoryObjectReceiveStream[Event]]:
        send, receive = anyio.create_memory_object_stream[Event](
            max_buffer_size=self._buffer if self._buffer else math.inf
        )
        self._subscribers.append(send)
        try:
            async with receive:
                yield receive
        finally:
            if send in self._subscribers:
                self._subscribers.remove(send)
            send.close()

    def close(self) -> None:
        for stream in self._subscribers:
            stream.close()
        self._subscribers.clear()
