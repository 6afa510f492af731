"""`embedded`: the shipped GGUF (SmolLM2-135M-Instruct) run by llama.cpp with embeddings on.

A chat model, not an embedding model: its mean-pooled hidden states are what
llama.cpp can give, and benchmarks/README.md says how well they separate
paraphrases (worse than `hashed` here). Its own `Llama` instance (the chat one
has embeddings off), loaded lazily, with the run's thread setting; calls go
through one worker thread at a time, since an instance is not reentrant.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from coscientist.embedding.base import EmbeddingError, unit_rows
from coscientist.errors import ModelUnavailableError
from coscientist.llm.embedded import shipped_model_path
from coscientist.proximity import Vector

CONTEXT_TOKENS = 1024  # a hypothesis's title, statement and rationale; longer text is cut


class LlamaEmbedder:
    name = "embedded"

    def __init__(self, model_path: Path | None = None, *, threads: int = 1) -> None:
        self._path = model_path
        self.threads = threads
        self.model = model_path.stem if model_path else "SmolLM2-135M-Instruct.Q4_1"
        self.dimension = 0
        self._llama: Any = None
        self._limiter = anyio.CapacityLimiter(1)
        self.calls = 0

    async def start(self) -> None:
        await anyio.to_thread.run_sync(self._load, limiter=self._limiter)

    async def embed(self, texts: Sequence[str]) -> list[Vector]:
        if not texts:
            return []
        self.calls += 1
        rows = await anyio.to_thread.run_sync(self._embed, list(texts), limiter=self._limiter)
        return unit_rows(rows, len(texts))

    async def aclose(self) -> None:
        await anyio.to_thread.run_sync(self._close, limiter=self._limiter)

    # --- worker thread --------------------------------------------------------

    def _load(self) -> Any:
        if self._llama is not None:
            return self._llama
        try:
            path = self._path or shipped_model_path()
            import llama_cpp

            self._llama = llama_cpp.Llama(
                model_path=str(path),
                embedding=True,
                pooling_type=llama_cpp.LLAMA_POOLING_TYPE_MEAN,
                n_ctx=CONTEXT_TOKENS,
                n_batch=CONTEXT_TOKENS,
                n_ubatch=CONTEXT_TOKENS,
                n_threads=self.threads,
                n_threads_batch=self.threads,
                verbose=False,
            )
        except ModelUnavailableError as exc:
            raise EmbeddingError(str(exc)) from None
        except ImportError:
            raise EmbeddingError("the embedded embedder needs llama-cpp-python") from None
        except (ValueError, RuntimeError) as exc:
            raise EmbeddingError(f"llama.cpp cannot load the embedding model: {exc}") from None
        self.dimension = int(self._llama.n_embd())
        return self._llama

    def _embed(self, texts: list[str]) -> list[list[float]]:
        llama = self._load()
        try:
            rows: list[list[float]] = llama.embed(texts, normalize=False, truncate=True)
        except (ValueError, RuntimeError) as exc:
            raise EmbeddingError(f"llama.cpp could not embed: {exc}") from None
        return rows

    def _close(self) -> None:
        if self._llama is not None:
            self._llama.close()
            self._llama = None
