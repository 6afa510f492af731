"""The embedder a run talks to: retries, then falls back to `hashed` for the rest of the run.

A fallback is said once (the `notify` callback: one line for the scientist, a
note in the store for `show --json`), and every listener is told, so that the
proximity index re-embeds what it holds with `hashed`: vectors of two embedders
are never compared.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import TypeVar

import anyio

from coscientist.embedding.base import (
    Embedded,
    Embedder,
    EmbedderInfo,
    EmbeddingError,
    info_of,
)
from coscientist.embedding.hashed import HashedEmbedder
from coscientist.proximity import Vector

R = TypeVar("R")
# Cosine at or above which a new hypothesis is a near-duplicate of an indexed one, by
# embedder kind: each embedder has its own scale. 0.92 is proximity's own (hashed) default;
# the shipped chat model puts nearly every pair of hypotheses between 0.85 and 0.95
# (benchmarks/README.md), so only a near-identical text may count as a duplicate there.
DUPLICATE_THRESHOLDS = {"hashed": 0.92, "openai-compatible": 0.92, "embedded": 0.99}
RETRIES = 2  # after the first attempt
RETRY_DELAY = 0.5  # seconds, doubled each time
BATCH = 32  # texts per request


class EmbeddingService:
    def __init__(
        self,
        primary: Embedder | None = None,
        *,
        retries: int = RETRIES,
        retry_delay: float = RETRY_DELAY,
        batch: int = BATCH,
        duplicate_threshold: float | None = None,
    ) -> None:
        self.primary: Embedder = primary or HashedEmbedder()
        self.current: Embedder = self.primary
        self.requested = self.primary.name
        self.fallback_reason: str | None = None
        self.retries = retries
        self.retry_delay = retry_delay
        self.batch = max(1, batch)
        self.notify: Callable[[str], None] | None = None  # the one line of a fallback
        self.listeners: list[Callable[[EmbedderInfo], None]] = []  # told of a switch
        self.records = True  # whether this run writes the session's embedder record
        self.recorded: str | None = None  # the key last written to the store
        self._duplicate_threshold = duplicate_threshold  # for the primary; None: by kind

    @property
    def info(self) -> EmbedderInfo:
        return info_of(self.current)

    @property
    def key(self) -> str:
        return self.info.key

    @property
    def duplicate_threshold(self) -> float:
        if self._duplicate_threshold is not None and self.current is self.primary:
            return self._duplicate_threshold
        return DUPLICATE_THRESHOLDS.get(self.current.name, DUPLICATE_THRESHOLDS["hashed"])

    @property
    def inline(self) -> bool:
        """True when embedding is cheap enough to run on the loop (hashed)."""
        return isinstance(self.current, HashedEmbedder)

    async def start(self) -> None:
        """Load or probe the embedder before the run; a failure falls back at once."""
        if self.inline:
            return
        try:
            await self._attempts(self.current.start)
        except EmbeddingError as exc:
            self._fall_back(str(exc))

    async def embed(self, texts: Sequence[str]) -> Embedded:
        """Vectors of `texts` with the embedder that made them, in batches of `batch`."""
        current = self.current
        vectors: list[Vector] = []
        try:
            for start in range(0, len(texts), self.batch):
                part = texts[start : start + self.batch]
                vectors.extend(await self._attempts(partial(current.embed, part)))
        except EmbeddingError as exc:
            self._fall_back(str(exc))
            current = self.current
            vectors = await current.embed(texts)
        return Embedded(info_of(current), vectors)

    async def aclose(self) -> None:
        await self.primary.aclose()

    async def _attempts(self, call: Callable[[], Awaitable[R]]) -> R:
        delay = self.retry_delay
        for _ in range(self.retries):
            try:
                return await call()
            except EmbeddingError:
                await anyio.sleep(delay)
                delay *= 2
        return await call()

    def _fall_back(self, reason: str) -> None:
        if isinstance(self.current, HashedEmbedder):
            return
        self.fallback_reason = reason
        self.current = HashedEmbedder()
        if self.notify is not None:
            self.notify(
                f"embeddings: {self.requested} failed ({reason}); "
                "using hashed embeddings for the rest of this run"
            )
        for listener in self.listeners:
            listener(self.info)
