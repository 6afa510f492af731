"""Model specs (`--model SPEC`) to backends and clients.

Backend modules are imported only for the spec in use, so `scripted` never
loads llama.cpp, and `embedded` never imports openai.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from coscientist.config import Settings
from coscientist.errors import ConfigError
from coscientist.llm.base import Backend, Recorder
from coscientist.llm.client import ModelClient

SpecKind = Literal["embedded", "gguf", "openai-compatible", "vllm", "scripted"]

UNKNOWN_SPEC = (
    "unknown model spec {spec!r}: use embedded, gguf:PATH, openai-compatible[:MODEL] "
    "--base-url URL, vllm:MODEL or scripted"
)
NEEDS_BASE_URL = "--model openai-compatible needs --base-url"


@dataclass(frozen=True)
class ModelSpec:
    kind: SpecKind
    target: str | None = None  # GGUF path, or the model name for openai-compatible and vllm
    latency: float = 0.0  # scripted only
    jitter: float = 0.0  # scripted only
    seed: int | None = None  # scripted only; None: the session's seed


def parse_spec(spec: str) -> ModelSpec:
    """Parse `embedded`, `gguf:PATH`, `openai-compatible[:MODEL]`, `vllm:MODEL`, `scripted[:k=v,...]`."""
    head, sep, rest = spec.strip().partition(":")
    kind = head.strip().lower()
    rest = rest.strip()
    if kind == "embedded" and not sep:
        return ModelSpec("embedded")
    if kind == "gguf":
        if not rest:
            raise ConfigError("--model gguf:PATH needs the path of a .gguf file")
        return ModelSpec("gguf", rest)
    if kind == "openai-compatible":
        return ModelSpec("openai-compatible", rest or None)
    if kind == "vllm":
        if not rest:
            raise ConfigError("--model vllm:MODEL needs a model name, e.g. vllm:Qwen/Qwen3-8B")
        return ModelSpec("vllm", rest)
    if kind == "scripted":
        return _parse_scripted(rest)
    raise ConfigError(UNKNOWN_SPEC.format(spec=spec))


def _parse_scripted(options: str) -> ModelSpec:
    values: dict[str, float] = {}
    seed: int | None = None
    for item in filter(None, (part.strip() for part in options.split(","))):
        key, eq, raw = item.partition("=")
        key = key.strip()
        try:
            if not eq or key not in ("latency", "jitter", "seed"):
                raise ValueError
            if key == "seed":
                seed = int(raw)
            else:
                values[key] = float(raw)
                if values[key] < 0:
                    raise ValueError
        except ValueError:
            raise ConfigError(
                f"bad scripted option {item!r}: use scripted:latency=SECONDS,jitter=SECONDS,seed=N"
            ) from None
    return ModelSpec(
        "scripted",
        latency=values.get("latency", 0.0),
        jitter=values.get("jitter", 0.0),
        seed=seed,
    )


def make_backend(settings: Settings) -> Backend:
    """The backend for `settings.model`; raises ConfigError or ModelUnavailableError."""
    spec = parse_spec(settings.model)
    if spec.kind in ("embedded", "gguf"):
        from coscientist.llm.embedded import EmbeddedBackend

        return EmbeddedBackend(
            Path(spec.target) if spec.target else None,
            threads=settings.threads,
            context_tokens=settings.context_tokens,
            seed=settings.seed,
        )
    if spec.kind == "openai-compatible":
        if not settings.base_url:
            raise ConfigError(NEEDS_BASE_URL)
        from coscientist.llm.openai_compat import OpenAICompatibleBackend

        return OpenAICompatibleBackend(
            settings.base_url,
            model=spec.target,
            api_key=settings.api_key_value(),
            timeout=settings.request_timeout,
        )
    if spec.kind == "vllm":
        from coscientist.llm.vllm_engine import VLLMBackend

        return VLLMBackend(spec.target or "", seed=settings.seed)
    from coscientist.llm.scripted import ScriptedBackend

    return ScriptedBackend(
        seed=settings.seed if spec.seed is None else spec.seed,
        latency=spec.latency,
        jitter=spec.jitter,
    )


def make_client(
    settings: Settings,
    recorder: Recorder | None = None,
    gate: Callable[[], Awaitable[None]] | None = None,
) -> ModelClient:
    """A ModelClient over `make_backend(settings)`, with the settings' limits and retries."""
    return ModelClient(
        make_backend(settings),
        recorder=recorder,
        concurrency=settings.concurrency,
        repair_attempts=settings.repair_attempts,
        transport_retries=settings.transport_retries,
        max_tokens=settings.max_output_tokens,
        seed=settings.seed,
        gate=gate,
    )
