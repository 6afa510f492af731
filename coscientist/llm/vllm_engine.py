"""In-process vLLM engine (`vllm:MODEL`): many requests batched on one GPU.

Written against vLLM's AsyncLLM API of the 0.3x releases (structured output via
`SamplingParams(structured_outputs=StructuredOutputsParams(json=...))`, which
replaced `GuidedDecodingParams`). UNTESTED ON A GPU: no GPU was available when
it was written; only the "unavailable" path runs in CI. The better-trodden way
to use vLLM is `vllm serve MODEL` with `--model openai-compatible --base-url`.
"""

from __future__ import annotations

import inspect
import uuid
from typing import Any

from coscientist.errors import ModelError, ModelUnavailableError
from coscientist.llm.base import GenerationRequest, RawCompletion


def _unavailable(model: str) -> ModelUnavailableError:
    return ModelUnavailableError(
        f"vllm:{model} needs the 'vllm' extra and a CUDA GPU; use --model openai-compatible "
        "--base-url against `vllm serve` instead"
    )


class VLLMBackend:
    """vLLM's AsyncLLM in this process; the engine starts on the first call (inside the loop)."""

    def __init__(
        self,
        model: str,
        *,
        seed: int = 0,
        max_model_len: int | None = None,
        gpu_memory_utilization: float = 0.9,
        default_concurrency: int = 64,
    ) -> None:
        try:
            import torch
            import vllm  # noqa: F401
        except ImportError as exc:
            raise _unavailable(model) from exc
        if not torch.cuda.is_available():
            raise _unavailable(model)
        self.name = model
        self.default_concurrency = default_concurrency
        self._engine_kwargs: dict[str, Any] = {
            "model": model,
            "seed": seed,
            "gpu_memory_utilization": gpu_memory_utilization,
        }
        if max_model_len is not None:
            self._engine_kwargs["max_model_len"] = max_model_len
        self._engine: Any = None

    def _start(self) -> Any:
        if self._engine is None:
            from vllm import AsyncEngineArgs
            from vllm.v1.engine.async_llm import AsyncLLM

            self._engine = AsyncLLM.from_engine_args(AsyncEngineArgs(**self._engine_kwargs))
        return self._engine

    def load_notice(self) -> str | None:
        if self._engine is not None:
            return None
        return f"starting the vLLM engine for {self.name} (minutes on a first download)"

    async def load(self) -> None:
        self._start()

    async def generate(self, request: GenerationRequest) -> RawCompletion:
        from vllm import SamplingParams
        from vllm.sampling_params import RequestOutputKind, StructuredOutputsParams

        engine = self._start()
        tokenizer = engine.get_tokenizer()
        if inspect.isawaitable(tokenizer):  # a coroutine in releases before the renderer API
            tokenizer = await tokenizer
        prompt = tokenizer.apply_chat_template(
            [dict(m) for m in request.messages], tokenize=False, add_generation_prompt=True
        )
        structured = (
            StructuredOutputsParams(json=request.json_schema)
            if request.json_schema is not None
            else None
        )
        params = SamplingParams(
            max_tokens=request.max_tokens,
            temperature=request.temperature,
            seed=request.seed,
            structured_outputs=structured,
            output_kind=RequestOutputKind.FINAL_ONLY,
        )
        final: Any = None
        try:
            async for output in engine.generate(prompt, params, uuid.uuid4().hex):
                final = output
        except Exception as exc:  # engine errors are not retryable transport failures
            raise ModelError(f"vllm:{self.name} failed: {exc}") from exc
        if final is None or not final.outputs:
            raise ModelError(f"vllm:{self.name} returned no output")
        completion = final.outputs[0]
        return RawCompletion(
            text=completion.text,
            finish_reason=completion.finish_reason or "stop",
            tokens_in=len(final.prompt_token_ids or ()),
            tokens_out=len(completion.token_ids),
            model=self.name,
        )

    async def aclose(self) -> None:
        if self._engine is not None:
            self._engine.shutdown()
            self._engine = None
