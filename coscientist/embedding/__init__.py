"""Text embedders for proximity: one protocol, three kinds, and the service a run uses.

`hashed` needs no weights and no network (coscientist.proximity.embed);
`openai-compatible` asks an endpoint's /v1/embeddings; `embedded` runs the
shipped llama.cpp model with embeddings on. A run talks to an EmbeddingService,
which retries a failing embedder and then falls back to `hashed` for good.
"""

from coscientist.embedding.base import (
    EMBEDDER_KINDS,
    Embedded,
    Embedder,
    EmbedderInfo,
    EmbeddingError,
)
from coscientist.embedding.choose import check_embedder, embedding_service, make_embedder
from coscientist.embedding.hashed import HASHED_INFO, HashedEmbedder
from coscientist.embedding.service import EmbeddingService

__all__ = [
    "EMBEDDER_KINDS",
    "HASHED_INFO",
    "Embedded",
    "Embedder",
    "EmbedderInfo",
    "EmbeddingError",
    "EmbeddingService",
    "HashedEmbedder",
    "check_embedder",
    "embedding_service",
    "make_embedder",
]
