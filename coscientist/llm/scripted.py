"""A deterministic model without weights, for tests, demos and benchmarks.

Answers come, in order, from a queue a test fills, then from an optional
handler, then from a schema-valid synthetic object. Every random choice is
seeded by (seed, prompt hash, how often that prompt was seen), so a run at
concurrency 1 repeats exactly and asking the same prompt twice still gives two
different answers.
"""

from __future__ import annotations

import json
import random
from collections import Counter, deque
from collections.abc import Callable

import anyio
from pydantic import BaseModel

from coscientist.llm.base import GenerationRequest, RawCompletion
from coscientist.llm.client import prompt_hash
from coscientist.llm.synthetic import content_words, phrase, synthesize

Answer = str | dict[str, object] | BaseModel | RawCompletion | BaseException
HandlerResult = str | dict[str, object] | BaseModel | RawCompletion | None
Handler = Callable[[GenerationRequest], HandlerResult]


def estimate_tokens(text: str) -> int:
    """About four characters a token: good enough for budgets in tests."""
    return max(1, len(text) // 4)


class ScriptedBackend:
    """Queued answers first, then the handler, then a synthetic schema-valid answer."""

    name = "scripted"

    def __init__(
        self,
        *,
        seed: int = 0,
        latency: float = 0.0,
        jitter: float = 0.0,
        handler: Handler | None = None,
        keep_requests: int = 10_000,
    ) -> None:
        self.seed = seed
        self.latency = latency
        self.jitter = jitter
        self.handler = handler
        self.default_concurrency = 64 if latency > 0 else 8
        self.requests: list[GenerationRequest] = []  # recent ones (at most keep_requests)
        self._keep_requests = keep_requests
        self.in_flight = 0
        self.max_in_flight = 0
        self._queue: deque[Answer] = deque()
        self._seen: Counter[str] = Counter()

    def queue(self, *answers: Answer) -> None:
        """Answers served first-in first-out; an exception instance is raised instead."""
        self._queue.extend(answers)

    @property
    def pending(self) -> int:
        return len(self._queue)

    async def generate(self, request: GenerationRequest) -> RawCompletion:
        digest = prompt_hash(request.messages)
        occurrence = self._seen[digest]
        self._seen[digest] += 1
        rng = random.Random(f"{self.seed}:{digest}:{occurrence}")
        self.requests.append(request)
        if len(self.requests) > self._keep_requests:
            del self.requests[: len(self.requests) - self._keep_requests // 2]
        queued = self._queue.popleft() if self._queue else None
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await anyio.sleep(self._delay(f"{self.seed}:{digest}:{occurrence}:latency"))
        finally:
            self.in_flight -= 1
        if isinstance(queued, BaseException):
            raise queued
        answer: HandlerResult = queued
        if answer is None and self.handler is not None:
            answer = self.handler(request)
        if answer is None:
            answer = self._synthetic(request, rng)
        return self._as_completion(answer, request)

    async def aclose(self) -> None:
        return None

    def _delay(self, key: str) -> float:
        """Simulated latency, from its own rng so answers do not depend on timing settings."""
        if not self.jitter:
            return max(0.0, self.latency)
        return max(0.0, self.latency + random.Random(key).uniform(-self.jitter, self.jitter))

    @staticmethod
    def _synthetic(request: GenerationRequest, rng: random.Random) -> str:
        words = content_words(m["content"] for m in request.messages if m["role"] != "assistant")
        if request.json_schema is None:
            return phrase(rng, words)
        users = [m["content"] for m in request.messages if m["role"] == "user"]
        return json.dumps(synthesize(request.json_schema, rng, words, users[-1] if users else ""))

    def _as_completion(self, answer: HandlerResult, request: GenerationRequest) -> RawCompletion:
        if isinstance(answer, RawCompletion):
            return answer
        if isinstance(answer, BaseModel):
            text = answer.model_dump_json()
        elif isinstance(answer, dict):
            text = json.dumps(answer)
        else:
            text = str(answer)
        prompt = sum(estimate_tokens(m["content"]) for m in request.messages)
        return RawCompletion(
            text=text, tokens_in=prompt, tokens_out=estimate_tokens(text), model=self.name
        )
