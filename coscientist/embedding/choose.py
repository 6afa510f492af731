"""Build the embedder the settings name (`embedder`, `embedding_*`)."""

from __future__ import annotations

from pathlib import Path

from coscientist.config import Settings
from coscientist.embedding.base import Embedder
from coscientist.embedding.hashed import HashedEmbedder
from coscientist.embedding.http import OpenAICompatibleEmbedder
from coscientist.embedding.llama import LlamaEmbedder
from coscientist.errors import ConfigError


def make_embedder(settings: Settings) -> Embedder:
    """ConfigError for a choice that cannot work whatever the endpoint says (no base URL)."""
    kind = settings.embedder
    if kind == "openai-compatible":
        base_url = settings.embedding_base_url or settings.base_url
        if not base_url:
            raise ConfigError(
                "--embedder openai-compatible needs an endpoint: set COSCIENTIST_EMBEDDING_BASE_URL "
                "(or --base-url)"
            )
        key = settings.embedding_api_key or settings.api_key
        return OpenAICompatibleEmbedder(
            base_url,
            settings.embedding_model,
            api_key=key.get_secret_value() if key else None,
            timeout=settings.request_timeout,
        )
    if kind == "embedded":
        path = Path(settings.embedding_model).expanduser() if settings.embedding_model else None
        if path is not None and not path.is_file():
            raise ConfigError(f"embedding model {str(path)!r} is not a GGUF file that exists")
        return LlamaEmbedder(path, threads=settings.threads)
    return HashedEmbedder()
