"""Build the embedder the settings name (`embedder`, `embedding_*`)."""

from __future__ import annotations

from pathlib import Path

from coscientist.config import Settings
from coscientist.embedding.base import Embedder
from coscientist.embedding.hashed import HashedEmbedder
from coscientist.embedding.http import OpenAICompatibleEmbedder
from coscientist.embedding.llama import LlamaEmbedder
from coscientist.embedding.service import EmbeddingService
from coscientist.errors import ConfigError


def check_embedder(settings: Settings) -> None:
    """ConfigError for a choice that cannot work whatever an endpoint says; builds nothing,
    so a session can refuse before it exists."""
    kind = settings.embedder
    if kind == "openai-compatible" and not (settings.embedding_base_url or settings.base_url):
        raise ConfigError(
            "--embedder openai-compatible needs an endpoint: set COSCIENTIST_EMBEDDING_BASE_URL "
            "(or --base-url)"
        )
    if kind == "embedded" and settings.embedding_model:
        path = Path(settings.embedding_model).expanduser()
        if not path.is_file():
            raise ConfigError(f"embedding model {str(path)!r} is not a GGUF file that exists")


def make_embedder(settings: Settings) -> Embedder:
    """The embedder the settings name; ConfigError as check_embedder."""
    check_embedder(settings)
    kind = settings.embedder
    if kind == "openai-compatible":
        key = settings.embedding_api_key or settings.api_key
        return OpenAICompatibleEmbedder(
            str(settings.embedding_base_url or settings.base_url),
            settings.embedding_model,
            api_key=key.get_secret_value() if key else None,
            timeout=settings.request_timeout,
        )
    if kind == "embedded":
        path = Path(settings.embedding_model).expanduser() if settings.embedding_model else None
        return LlamaEmbedder(path, threads=settings.threads)
    return HashedEmbedder()


def embedding_service(settings: Settings) -> EmbeddingService:
    """The service a run (or a worker) embeds through, as the settings ask."""
    return EmbeddingService(
        make_embedder(settings),
        batch=settings.embedding_batch,
        duplicate_threshold=settings.duplicate_threshold,
    )
