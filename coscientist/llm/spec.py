"""Model specs (`--model SPEC`) to backends and clients.

Backend modules are imported only for the spec in use, so `scripted` never
loads llama.cpp, and `embedded` never imports openai.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from coscientist.config import Settings
from coscientist.errors import ConfigError
from coscientist.llm.base import Backend, Gate, Recorder
from coscientist.llm.client import ModelClient
from coscientist.redact import mask_secrets

SpecKind = Literal["embedded", "gguf", "openai-compatible", "vllm", "scripted"]

UNKNOWN_SPEC = (
    "unknown model spec {spec!r}: use embedded, gguf:PATH, openai-compatible[:MODEL] "
    "--base-url URL, vllm:MODEL or scripted"
)
NEEDS_BASE_URL = "--model openai-compatible needs --base-url"
_URL_EXAMPLE = "such as http://127.0.0.1:8000/v1"


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


def check_base_url(url: str | None) -> str:
    """An http(s) URL with a host, or a ConfigError saying what is wrong (password masked)."""
    if not url:
        raise ConfigError(NEEDS_BASE_URL)
    shown = mask_secrets(url).encode("utf-8", "backslashreplace").decode("utf-8")
    if any(not ch.isprintable() or ch.isspace() for ch in url):
        raise ConfigError(f"--base-url {shown!r} contains spaces or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError as exc:
        raise ConfigError(f"--base-url {shown!r} is not a valid URL ({exc})") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"--base-url {shown!r} is not an http(s) URL {_URL_EXAMPLE}")
    return url


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
        check_base_url(settings.base_url)
        assert settings.base_url is not None
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
    gate: Gate | None = None,
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
