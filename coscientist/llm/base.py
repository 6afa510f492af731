"""The model protocol shared by every backend.

Backends only turn a `GenerationRequest` into raw text (`RawCompletion`).
`ModelClient` (client.py) does everything common: JSON schema from the pydantic
type, validation, bounded repair retries, backoff, a concurrency limit and a
provenance `CallRecord` for every call.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Protocol, TypedDict, TypeVar, runtime_checkable

from pydantic import BaseModel

from coscientist.schemas import CallRecord

T = TypeVar("T", bound=BaseModel)


class Message(TypedDict):
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class GenerationRequest:
    messages: Sequence[Message]
    json_schema: dict[str, Any] | None  # None: free text
    schema_name: str = "output"
    max_tokens: int = 512
    temperature: float = 0.7
    seed: int | None = None
    role: str = ""  # agent role, for scripted handlers and logs


@dataclass(frozen=True)
class RawCompletion:
    text: str
    finish_reason: str = "stop"  # "stop" or "length"
    tokens_in: int = 0
    tokens_out: int = 0
    model: str = ""


class Backend(Protocol):
    """A source of raw completions. Implementations raise ModelTransportError on I/O failure."""

    name: str
    default_concurrency: int

    async def generate(self, request: GenerationRequest) -> RawCompletion: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class LoadsModel(Protocol):
    """A backend whose first call would be slow (weights to read, an engine to start).

    `ModelClient.load` runs that step up front, so a display can say what is happening
    and how long it took instead of the first call seeming to hang.
    """

    def load_notice(self) -> str | None:
        """What loading will do, in words for a user; None when it is already done."""
        ...

    async def load(self) -> None: ...


@dataclass
class Completion(Generic[T]):
    value: T
    tokens_in: int
    tokens_out: int
    latency_ms: float
    attempts: int
    model: str


@dataclass
class CallContext:
    """Who asked: stored with the provenance row."""

    role: str = ""
    session_id: str | None = None
    task_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


Recorder = Callable[[CallRecord], Awaitable[None]]


class Reservation(Protocol):
    """A budget's hold on one backend attempt, handed out by the gate.

    Settled with the attempt's cost when the backend answered (None: not known,
    the reserved worst case counts as spent); refunded when it did not answer
    (unreachable, timed out, refused, rate limited): an unanswered attempt is not
    a budgeted call.
    """

    def settle(self, cost_usd: float | None) -> None: ...

    def refund(self) -> None: ...


# Awaited before every backend attempt with the attempt's worst-case cost in USD (0 when
# free or unpriced). It may block (over budget) and returns a Reservation, or None when it
# keeps no account.
Gate = Callable[[float], Awaitable[Reservation | None]]
