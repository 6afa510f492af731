"""ModelClient: everything every backend needs, written once.

Backends only turn a request into raw text. The client turns a pydantic type
into a JSON schema, bounds the calls in flight, waits on the budget gate it
was built with, validates answers, asks again (bounded) when an answer is
malformed or cut off, backs off on transport errors (waiting out a 429's
Retry-After), and leaves one provenance record per backend attempt, its
outcome naming the cause and its cost priced from the session's price table.

The gate hands out a reservation per attempt: an attempt that got no answer
(unreachable, timed out, refused, rate limited) is refunded, so it is not a
budgeted call; an answered one is settled with its cost.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
from pydantic import BaseModel, ValidationError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

from coscientist.config import ModelPrice
from coscientist.errors import (
    ModelError,
    ModelOutputError,
    ModelRateLimitedError,
    ModelTransportError,
)
from coscientist.llm.base import (
    Backend,
    CallContext,
    Completion,
    Gate,
    GenerationRequest,
    LoadsModel,
    Message,
    RawCompletion,
    Recorder,
    Reservation,
)
from coscientist.llm.pricing import cost, worst_case_cost
from coscientist.redact import mask_secrets
from coscientist.schemas import CallRecord

T = TypeVar("T", bound=BaseModel)

_MAX_ERROR_CHARS = 300
_MAX_ECHO_CHARS = 4000  # of a bad answer sent back in a repair turn
_MAX_BACKOFF = 30.0
MAX_RETRY_AFTER = 120.0  # seconds; a longer Retry-After is waited this long, then asked again
_HASH_PIECE = 2047  # bytes; CPython's hashlib keeps the GIL below 2048


@dataclass
class TextCompletion:
    """A free-text answer (no schema); same accounting as `Completion`."""

    value: str
    tokens_in: int
    tokens_out: int
    latency_ms: float
    attempts: int
    model: str


class _Attempts:
    """Per-call bookkeeping shared by the transport and repair loops."""

    def __init__(self, ctx: CallContext) -> None:
        self.ctx = ctx
        self.number = 0
        self.tokens_in = 0
        self.tokens_out = 0
        self.model = ""
        self.cost: float | None = None  # of the last answered attempt


def prompt_hash(messages: Sequence[Message]) -> str:
    """sha256 of the messages as JSON: identifies a prompt without storing it.

    Fed in pieces under 2 kB: hashlib releases the GIL for larger ones, and taking it back
    from the store's worker thread cost the event loop up to 0.4 ms a prompt (3 us this way).
    """
    encoded = json.dumps(list(messages), sort_keys=True, ensure_ascii=False).encode("utf-8")
    digest = hashlib.sha256()
    for start in range(0, len(encoded), _HASH_PIECE):
        digest.update(encoded[start : start + _HASH_PIECE])
    return digest.hexdigest()


def extract_json(text: str) -> Any:
    """Parse a JSON answer, tolerating a code fence or prose around the outermost object."""
    try:
        return json.loads(text, strict=False)
    except json.JSONDecodeError:
        start, end = text.find("{"), text.rfind("}")
        if start == -1 or end <= start:
            raise
        return json.loads(text[start : end + 1], strict=False)


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_ERROR_CHARS else text[: _MAX_ERROR_CHARS - 1] + "…"


def _describe(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        parts = []
        for error in exc.errors()[:3]:
            where = ".".join(str(p) for p in error["loc"]) or "(root)"
            parts.append(f"{where}: {error['msg']}")
        more = exc.error_count() - len(parts)
        return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")
    if isinstance(exc, json.JSONDecodeError):
        return f"invalid JSON ({exc.msg} at char {exc.pos})"
    return str(exc)


TRUNCATION_GROWTH = 4  # a cut-off answer is retried with up to 4x the token budget


class ModelClient:
    """The one way agents call a model. Counters are read by the scheduler and benchmarks.

    `gate` is awaited before every backend attempt (the run's budget) and `recorder`
    receives one provenance record per attempt; both are given at construction.
    """

    def __init__(
        self,
        backend: Backend,
        *,
        recorder: Recorder | None = None,
        concurrency: int | None = None,
        repair_attempts: int = 2,
        transport_retries: int = 4,
        backoff_base: float = 0.5,
        max_tokens: int = 512,
        temperature: float = 0.7,
        seed: int | None = None,
        gate: Gate | None = None,
        price: ModelPrice | None = None,
        label: str = "",
        role_limits: Mapping[str, int] | None = None,
    ) -> None:
        self.backend = backend
        self.concurrency = concurrency or backend.default_concurrency
        self.repair_attempts = repair_attempts
        self.transport_retries = transport_retries
        self.backoff_base = backoff_base
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.seed = seed
        self._recorder = recorder
        self._gate = gate
        self.price = price  # None: unknown, calls are recorded without a cost
        self.label = label  # the configured model (llm/roles.py Endpoint.label), for provenance
        self._limiter = anyio.CapacityLimiter(self.concurrency)
        # Roles sharing this model with fewer calls in flight of their own (--role-concurrency).
        self._role_limiters = {
            role: anyio.CapacityLimiter(n) for role, n in (role_limits or {}).items()
        }
        self._rng = random.Random(seed)  # backoff jitter only
        self._schemas: dict[type[BaseModel], dict[str, Any]] = {}
        self._requests = 0
        self.calls = 0
        self.tokens_in = 0
        self.tokens_out = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.waiting = 0  # calls waiting for a slot (this model's, or their role's)
        self.cost_usd = 0.0
        # Backend attempts in a row that got no answer, and the last such failure: a scheduler
        # stops a run on a long streak of errors.endpoint_is_dead ones.
        self.consecutive_failures = 0
        self.last_failure: ModelError | None = None

    @property
    def role_limit_count(self) -> int:
        return len(self._role_limiters)

    def role_limit(self, role: str) -> int | None:
        """The calls `role` may have in flight here, when it has a limit below the model's."""
        limiter = self._role_limiters.get(role)
        return int(limiter.total_tokens) if limiter is not None else None

    # --- public API -----------------------------------------------------------

    async def complete(
        self,
        messages: Sequence[Message],
        schema: type[T],
        *,
        ctx: CallContext | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> Completion[T]:
        """Ask for an object of type `schema`; repair bad answers up to `repair_attempts` times."""
        json_schema = self._schemas.get(schema)
        if json_schema is None:
            json_schema = self._schemas[schema] = schema.model_json_schema()
        state = _Attempts(ctx or CallContext())
        started = time.perf_counter()
        conversation: list[Message] = list(messages)
        last_error = ""
        base_tokens = budget = max_tokens or self.max_tokens
        for repair in range(self.repair_attempts + 1):
            request = GenerationRequest(
                messages=tuple(conversation),
                json_schema=json_schema,
                schema_name=schema.__name__,
                max_tokens=budget,
                temperature=self.temperature if temperature is None else temperature,
                seed=self._next_seed(),
                role=state.ctx.role,
            )
            raw, latency_ms = await self._generate(request, state)
            try:
                value = schema.model_validate(extract_json(raw.text))
            except (ValueError, ValidationError) as exc:
                truncated = raw.finish_reason == "length"
                last_error = "cut off at the token limit" if truncated else _describe(exc)
                # malformed: not JSON at all; invalid: JSON that does not fit the schema
                not_json = isinstance(exc, json.JSONDecodeError)
                outcome = "truncated" if truncated else "malformed" if not_json else "invalid"
                await self._record(state, request, raw, latency_ms, outcome, last_error)
                if truncated and budget < TRUNCATION_GROWTH * base_tokens:
                    # Small models rarely shorten on request: give the same prompt more room.
                    budget = min(budget * 2, TRUNCATION_GROWTH * base_tokens)
                else:
                    conversation += self._repair_turn(raw.text, truncated, last_error)
                continue
            await self._record(state, request, raw, latency_ms, "repaired" if repair else "ok")
            return Completion(
                value=value,
                tokens_in=state.tokens_in,
                tokens_out=state.tokens_out,
                latency_ms=(time.perf_counter() - started) * 1000,
                attempts=state.number,
                model=state.model,
            )
        raise ModelOutputError(
            f"{self.backend.name} gave no valid {schema.__name__} after "
            f"{self.repair_attempts + 1} answers (last: {last_error}); try a larger model "
            "or a higher --max-output-tokens"
        )

    async def text(
        self,
        messages: Sequence[Message],
        *,
        ctx: CallContext | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> TextCompletion:
        """Free text, no schema and no repair: a cut-off answer is returned as is."""
        state = _Attempts(ctx or CallContext())
        started = time.perf_counter()
        request = GenerationRequest(
            messages=tuple(messages),
            json_schema=None,
            max_tokens=max_tokens or self.max_tokens,
            temperature=self.temperature if temperature is None else temperature,
            seed=self._next_seed(),
            role=state.ctx.role,
        )
        raw, latency_ms = await self._generate(request, state)
        outcome = "truncated" if raw.finish_reason == "length" else "ok"
        await self._record(state, request, raw, latency_ms, outcome)
        return TextCompletion(
            value=raw.text,
            tokens_in=state.tokens_in,
            tokens_out=state.tokens_out,
            latency_ms=(time.perf_counter() - started) * 1000,
            attempts=state.number,
            model=state.model,
        )

    async def load(self, on_status: Callable[[str, float | None], None]) -> float | None:
        """Load the model now if the backend has a slow first step; returns the seconds it took.

        `on_status` hears what is being loaded before it starts (seconds None), then the
        time it took.
        """
        backend = self.backend
        if not isinstance(backend, LoadsModel):
            return None
        notice = backend.load_notice()
        if notice is None:
            return None
        on_status(notice, None)
        started = time.perf_counter()
        await backend.load()
        took = time.perf_counter() - started
        on_status(f"model loaded in {took:.1f} s", took)
        return took

    async def aclose(self) -> None:
        await self.backend.aclose()

    # --- internals ------------------------------------------------------------

    def _next_seed(self) -> int | None:
        """A distinct sampling seed per request, so repeated prompts do not repeat answers."""
        self._requests += 1
        if self.seed is None:
            return None
        return (self.seed * 1_000_003 + self._requests) % 2**31

    @staticmethod
    def _repair_turn(bad: str, truncated: bool, error: str) -> list[Message]:
        if truncated:
            ask = (
                "Your answer was cut off at the token limit. Answer again with a shorter "
                "JSON object: keep every string brief. Reply with only the JSON."
            )
        else:
            ask = (
                f"Your answer did not match the required JSON schema: {error}. "
                "Reply with only the corrected JSON object."
            )
        return [
            {"role": "assistant", "content": bad[:_MAX_ECHO_CHARS]},
            {"role": "user", "content": ask},
        ]

    def _backoff(self, retry_state: RetryCallState) -> float:
        """The server's Retry-After after a 429; else exponential backoff with jitter."""
        failure = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(failure, ModelRateLimitedError) and failure.retry_after is not None:
            return min(MAX_RETRY_AFTER, failure.retry_after)
        step = self.backoff_base * 2 ** (retry_state.attempt_number - 1)
        return float(min(_MAX_BACKOFF, step * (0.5 + 0.5 * self._rng.random())))

    async def _generate(
        self, request: GenerationRequest, state: _Attempts
    ) -> tuple[RawCompletion, float]:
        """One answer from the backend, retrying transport errors with backoff."""
        retrying = AsyncRetrying(
            sleep=anyio.sleep,
            stop=stop_after_attempt(self.transport_retries + 1),
            wait=self._backoff,
            retry=retry_if_exception_type(ModelTransportError),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._attempt(request, state)
        except ModelTransportError as exc:
            # Same class (and status, retry_after) as the last failure: it names the cause.
            gave_up = type(exc)(
                f"{self.backend.name}: gave up after {state.number} attempts: {_short(str(exc))}"
            )
            gave_up.__dict__.update(exc.__dict__)
            raise gave_up from exc
        raise AssertionError("unreachable: tenacity either returns or raises")

    async def _attempt(
        self, request: GenerationRequest, state: _Attempts
    ) -> tuple[RawCompletion, float]:
        """Exactly one backend call, and its record if it failed."""
        role_limiter = self._role_limiters.get(request.role)
        if role_limiter is None:
            return await self._attempt_in_slot(request, state)
        async with self._waiting_for(role_limiter):
            return await self._attempt_in_slot(request, state)

    @asynccontextmanager
    async def _waiting_for(self, limiter: anyio.CapacityLimiter) -> AsyncIterator[None]:
        """Hold a slot of `limiter`, counted in `waiting` until it is free.

        A stopping scheduler needs the count: calls waiting here behind calls held at the
        budget's gate will never start, so they must not keep the loop from ending.
        """
        self.waiting += 1
        try:
            await limiter.acquire()
        finally:
            self.waiting -= 1
        try:
            yield
        finally:
            limiter.release()

    async def _attempt_in_slot(
        self, request: GenerationRequest, state: _Attempts
    ) -> tuple[RawCompletion, float]:
        failure: ModelError | None = None
        reservation: Reservation | None = None
        async with self._waiting_for(self._limiter):
            if self._gate is not None:
                # Inside the slot: at most `concurrency` calls race the budget.
                estimate = (
                    worst_case_cost(self.price, request.messages, request.max_tokens)
                    if self.price
                    else 0.0
                )
                reservation = await self._gate(estimate)
            state.number += 1
            self.calls += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            started = time.perf_counter()
            try:
                raw = await self.backend.generate(request)
            except ModelError as exc:
                failure = exc
            except BaseException:
                if reservation is not None:  # cancelled mid-call: it may still be billed
                    reservation.settle(None)  # None: the reserved worst case stays spent
                raise
            finally:
                self.in_flight -= 1
        latency_ms = (time.perf_counter() - started) * 1000
        if failure is not None:
            if reservation is not None:
                reservation.refund()
            self.consecutive_failures += 1
            self.last_failure = failure
            message = _short(mask_secrets(str(failure)))
            await self._record(state, request, None, latency_ms, failure.outcome, message)
            raise failure
        self.consecutive_failures = 0
        call_cost = cost(self.price, raw.tokens_in, raw.tokens_out) if self.price else None
        if reservation is not None:
            reservation.settle(call_cost)
        self.cost_usd += call_cost or 0.0
        state.tokens_in += raw.tokens_in
        state.tokens_out += raw.tokens_out
        state.model = raw.model or self.backend.name
        self.tokens_in += raw.tokens_in
        self.tokens_out += raw.tokens_out
        state.cost = call_cost
        return raw, latency_ms

    async def _record(
        self,
        state: _Attempts,
        request: GenerationRequest,
        raw: RawCompletion | None,
        latency_ms: float,
        outcome: str,
        error: str | None = None,
    ) -> None:
        if self._recorder is None:
            return
        await self._recorder(
            CallRecord(
                role=state.ctx.role,
                model=(raw.model if raw and raw.model else self.backend.name),
                prompt_hash=prompt_hash(request.messages),
                tokens_in=raw.tokens_in if raw else 0,
                tokens_out=raw.tokens_out if raw else 0,
                latency_ms=round(latency_ms, 3),
                outcome=outcome,
                error=error,
                cost_usd=state.cost if raw is not None else None,
                attempt=state.number,
                session_id=state.ctx.session_id,
                task_id=state.ctx.task_id,
                endpoint=self.label or None,
            )
        )
