"""`openai-compatible`: the /v1/embeddings endpoint of vLLM, llama.cpp's server, Ollama, OpenAI.

The base URL, model and key come from settings (the key from the environment);
none of them is stored. The vector dimension is whatever the endpoint answers
with: `start` embeds one probe text to learn it, and fails there, before the run,
when the endpoint cannot embed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
import numpy as np

from coscientist.embedding.base import EmbeddingError, unit_rows
from coscientist.proximity import Vector
from coscientist.redact import mask_secrets

PROBE_TEXT = "probe"


class OpenAICompatibleEmbedder:
    name = "openai-compatible"

    def __init__(
        self,
        base_url: str,
        model: str = "",
        *,
        api_key: str | None = None,
        timeout: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.dimension = 0
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.AsyncClient(
            base_url=self.base_url, headers=headers, timeout=timeout, transport=transport
        )
        self.calls = 0  # embedding requests sent (tests count them)

    @property
    def shown_url(self) -> str:
        return mask_secrets(self.base_url)

    async def start(self) -> None:
        if not self.model:
            self.model = await self._first_model()
        if not self.dimension:
            self.dimension = len((await self.embed([PROBE_TEXT]))[0])

    async def embed(self, texts: Sequence[str]) -> list[Vector]:
        if not texts:
            return []
        self.calls += 1
        body = await self._request(
            "POST", "/embeddings", {"model": self.model, "input": list(texts)}
        )
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            raise EmbeddingError(f"{self.shown_url}/embeddings answered without a data list")
        try:
            ordered = sorted(data, key=lambda item: int(item.get("index", 0)))
            rows = [_pooled(item["embedding"]) for item in ordered]
        except (AttributeError, KeyError, TypeError, ValueError):
            raise EmbeddingError(
                f"{self.shown_url}/embeddings answered items without an embedding"
            ) from None
        vectors = unit_rows(rows, len(texts))
        if self.dimension and len(vectors[0]) != self.dimension:
            raise EmbeddingError(
                f"{self.shown_url}/embeddings changed dimension from {self.dimension} "
                f"to {len(vectors[0])}"
            )
        return vectors

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _first_model(self) -> str:
        body = await self._request("GET", "/models", None)
        try:
            return str(body["data"][0]["id"])
        except (KeyError, IndexError, TypeError):
            raise EmbeddingError(
                f"{self.shown_url}/models lists no model; set COSCIENTIST_EMBEDDING_MODEL"
            ) from None

    async def _request(self, method: str, path: str, payload: dict[str, Any] | None) -> Any:
        where = f"{self.shown_url}{path}"
        try:
            response = await self._client.request(method, path, json=payload)
        except httpx.HTTPError as exc:
            raise EmbeddingError(f"{where} unreachable: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise EmbeddingError(f"{where} answered HTTP {response.status_code}")
        try:
            return response.json()
        except ValueError:
            raise EmbeddingError(f"{where} answered something that is not JSON") from None


def _pooled(embedding: Any) -> Any:
    """One vector per token (llama-cpp-python's server, for a model whose GGUF names no
    pooling type, such as the shipped SmolLM2) becomes their mean, as `embedded` pools."""
    if isinstance(embedding, list) and embedding and isinstance(embedding[0], list):
        return np.asarray(embedding, dtype=np.float32).mean(axis=0).tolist()
    return embedding
