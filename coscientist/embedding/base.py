"""The embedder protocol and the identity a stored vector carries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from coscientist.errors import CoscientistError
from coscientist.proximity import Vector

EMBEDDER_KINDS = ("hashed", "openai-compatible", "embedded")


class EmbeddingError(CoscientistError):
    """An embedder could not embed (endpoint down, bad answer, model missing)."""


@dataclass(frozen=True)
class EmbedderInfo:
    """Which embedder made a vector. Vectors of two different keys are never compared."""

    name: str  # one of EMBEDDER_KINDS
    model: str
    dimension: int

    @property
    def key(self) -> str:
        return f"{self.name}:{self.model}:{self.dimension}"


@dataclass(frozen=True)
class Embedded:
    """Unit vectors of a batch and the embedder that made them."""

    info: EmbedderInfo
    vectors: list[Vector]


class Embedder(Protocol):
    """`dimension` is known after `start` (an endpoint tells it by answering)."""

    @property
    def name(self) -> str: ...

    @property
    def model(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    async def start(self) -> None:
        """Load or probe; raises EmbeddingError when the embedder cannot work."""

    async def embed(self, texts: Sequence[str]) -> list[Vector]:
        """One unit vector per text, in order; raises EmbeddingError."""
        ...

    async def aclose(self) -> None: ...


def info_of(embedder: Embedder) -> EmbedderInfo:
    return EmbedderInfo(embedder.name, embedder.model, embedder.dimension)


def unit_rows(rows: Sequence[Sequence[float]], expected: int) -> list[Vector]:
    """Rows as float32 unit vectors; EmbeddingError on a count or shape that is wrong."""
    if len(rows) != expected:
        raise EmbeddingError(f"asked for {expected} embeddings, got {len(rows)}")
    try:
        matrix = np.asarray(rows, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise EmbeddingError(f"embeddings are not a list of equal-length numbers: {exc}") from None
    if matrix.ndim != 2 or matrix.shape[1] == 0 or not np.isfinite(matrix).all():
        raise EmbeddingError(f"embeddings have the wrong shape {matrix.shape} or are not finite")
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    units = (matrix / np.where(norms > 0.0, norms, 1.0)).astype(np.float32)
    return list(units)
