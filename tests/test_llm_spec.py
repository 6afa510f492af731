"""Model specs: every accepted form, the error messages, and the backends they build."""

from __future__ import annotations

from pathlib import Path

import pytest

from coscientist.config import Settings
from coscientist.errors import ConfigError, ModelUnavailableError
from coscientist.llm import ModelSpec, ScriptedBackend, make_backend, make_client, parse_spec
from coscientist.llm.embedded import EmbeddedBackend
from coscientist.llm.openai_compat import OpenAICompatibleBackend

UNKNOWN = (
    "unknown model spec 'x': use embedded, gguf:PATH, openai-compatible[:MODEL] "
    "--base-url URL, vllm:MODEL or scripted"
)


def settings(model: str, **kwargs: object) -> Settings:
    return Settings(model=model, db="sqlite://", **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("embedded", ModelSpec("embedded")),
        ("  Embedded ", ModelSpec("embedded")),
        ("gguf:/models/x.gguf", ModelSpec("gguf", "/models/x.gguf")),
        ("gguf:C:/models/x.gguf", ModelSpec("gguf", "C:/models/x.gguf")),
        ("openai-compatible", ModelSpec("openai-compatible")),
        ("openai-compatible:", ModelSpec("openai-compatible")),
        ("openai-compatible:Qwen/Qwen3-8B", ModelSpec("openai-compatible", "Qwen/Qwen3-8B")),
        ("openai-compatible:llama3:8b", ModelSpec("openai-compatible", "llama3:8b")),
        ("vllm:Qwen/Qwen3-8B", ModelSpec("vllm", "Qwen/Qwen3-8B")),
        ("scripted", ModelSpec("scripted")),
        (
            "scripted:latency=0.5,jitter=0.1,seed=3",
            ModelSpec("scripted", latency=0.5, jitter=0.1, seed=3),
        ),
        ("scripted:seed=7", ModelSpec("scripted", seed=7)),
    ],
)
def test_parse_spec_forms(spec: str, expected: ModelSpec) -> None:
    assert parse_spec(spec) == expected


@pytest.mark.parametrize("spec", ["x", "embedded:foo", "llama", ""])
def test_unknown_spec_names_every_accepted_form(spec: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_spec(spec)
    assert str(caught.value) == UNKNOWN.replace("'x'", repr(spec))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("gguf:", "gguf:PATH needs the path"),
        ("vllm:", "vllm:MODEL needs a model name"),
        ("scripted:latency=fast", "bad scripted option 'latency=fast'"),
        ("scripted:speed=1", "bad scripted option 'speed=1'"),
        ("scripted:jitter=-1", "bad scripted option 'jitter=-1'"),
    ],
)
def test_incomplete_specs_say_what_is_missing(spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_spec(spec)


def test_openai_compatible_needs_a_base_url() -> None:
    with pytest.raises(ConfigError) as caught:
        make_backend(settings("openai-compatible"))
    assert str(caught.value) == "--model openai-compatible needs --base-url"


def test_openai_compatible_backend_from_settings() -> None:
    backend = make_backend(
        settings(
            "openai-compatible:my-model",
            base_url="http://127.0.0.1:9/v1/",
            api_key="sk-abc",
            request_timeout=7.5,
        )
    )
    assert isinstance(backend, OpenAICompatibleBackend)
    assert (backend.base_url, backend.model, backend.timeout) == (
        "http://127.0.0.1:9/v1",
        "my-model",
        7.5,
    )
    assert backend.default_concurrency == 64


def test_scripted_backend_takes_options_and_falls_back_to_the_session_seed() -> None:
    backend = make_backend(settings("scripted:latency=0.5,jitter=0.1", seed=9))
    assert isinstance(backend, ScriptedBackend)
    assert (backend.latency, backend.jitter, backend.seed) == (0.5, 0.1, 9)
    seeded = make_backend(settings("scripted:seed=3", seed=9))
    assert isinstance(seeded, ScriptedBackend) and seeded.seed == 3


def test_embedded_backends_from_settings(tmp_path: Path) -> None:
    backend = make_backend(settings("embedded", threads=3, context_tokens=2048, seed=4))
    assert isinstance(backend, EmbeddedBackend)
    assert (backend.threads, backend.context_tokens, backend.seed) == (3, 2048, 4)
    assert backend.default_concurrency == 1
    gguf = tmp_path / "own.gguf"
    gguf.write_bytes(b"GGUF")
    own = make_backend(settings(f"gguf:{gguf}"))
    assert isinstance(own, EmbeddedBackend) and own.model_path == gguf


def test_missing_gguf_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="does not exist"):
        make_backend(settings(f"gguf:{tmp_path / 'missing.gguf'}"))


def test_vllm_without_the_extra_or_a_gpu_is_unavailable() -> None:
    with pytest.raises(ModelUnavailableError) as caught:
        make_backend(settings("vllm:Qwen/Qwen3-8B"))
    assert str(caught.value) == (
        "vllm:Qwen/Qwen3-8B needs the 'vllm' extra and a CUDA GPU; use --model "
        "openai-compatible --base-url against `vllm serve` instead"
    )


def test_make_client_applies_the_settings() -> None:
    recorded: list[object] = []

    async def recorder(record: object) -> None:
        recorded.append(record)

    client = make_client(
        settings(
            "scripted",
            concurrency=5,
            repair_attempts=1,
            transport_retries=6,
            max_output_tokens=99,
            seed=2,
        ),
        recorder=recorder,  # type: ignore[arg-type]
    )
    assert isinstance(client.backend, ScriptedBackend)
    assert (client.concurrency, client.repair_attempts, client.transport_retries) == (5, 1, 6)
    assert (client.max_tokens, client.seed) == (99, 2)
    assert make_client(settings("scripted")).concurrency == 8
