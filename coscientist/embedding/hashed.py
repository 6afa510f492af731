"""The offline default: hashed word and character n-grams (coscientist.proximity.embed)."""

from __future__ import annotations

from collections.abc import Sequence

from coscientist.embedding.base import EmbedderInfo
from coscientist.proximity import HASHED_DIM, Vector, cached_embed

HASHED_INFO = EmbedderInfo("hashed", "ngrams-v1", HASHED_DIM)


class HashedEmbedder:
    """No weights, no network, the same vector in every process: embedding takes a few
    milliseconds of CPU at most, so the run indexes with it inline (EmbeddingService.inline)
    where other embedders are awaited."""

    name = HASHED_INFO.name
    model = HASHED_INFO.model
    dimension = HASHED_INFO.dimension

    async def start(self) -> None:
        return None

    async def embed(self, texts: Sequence[str]) -> list[Vector]:
        return [cached_embed(t) for t in texts]

    async def aclose(self) -> None:
        return None
