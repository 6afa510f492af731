"""Any OpenAI-compatible chat endpoint: vLLM serve, llama.cpp server, Ollama, OpenAI.

Structured output goes through `response_format` (never function calling).
Servers differ: vLLM and OpenAI take `json_schema`; llama.cpp's server answers
HTTP 500 to it but takes `json_object` with a `schema`. The backend tries
`json_schema` first and, when that is refused and `json_object` works,
remembers `json_object` for the rest of the session (unless `json_schema` already worked
here, in which case the refusal is a real failure and is retried as such).

The API key is only handed to the SDK client; error messages are built from
the status and the server's message with the key scrubbed out.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any, Literal

import anyio

from coscientist.errors import ModelError, ModelTimeoutError, ModelTransportError
from coscientist.llm.base import GenerationRequest, RawCompletion

if TYPE_CHECKING:
    from openai import AsyncOpenAI

_FALLBACK_STATUSES = frozenset({400, 422, 500})
_MAX_MESSAGE_CHARS = 300

SchemaMode = Literal["json_schema", "json_object"]


class OpenAICompatibleBackend:
    """One shared `AsyncOpenAI` client (connection pool) for every call of a session."""

    def __init__(
        self,
        base_url: str,
        *,
        model: str | None = None,
        api_key: str | None = None,
        timeout: float = 120.0,
        default_concurrency: int = 64,
    ) -> None:
        from openai import AsyncOpenAI

        self.base_url = base_url.rstrip("/")
        self.model = model
        self.name = model or "openai-compatible"
        self.timeout = timeout
        self.default_concurrency = default_concurrency
        self.schema_mode: SchemaMode = "json_schema"
        self._json_schema_worked = False
        self._secret = api_key or ""
        self._client: AsyncOpenAI = AsyncOpenAI(
            base_url=self.base_url,
            api_key=api_key or "not-needed",
            timeout=timeout,
            max_retries=0,  # the ModelClient owns retries and records each attempt
        )
        self._model_lock = anyio.Lock()
        self._key_prefix = f"coscientist-{uuid.uuid4().hex[:12]}"
        self._requests = 0

    async def generate(self, request: GenerationRequest) -> RawCompletion:
        model = await self._model_id()
        if request.json_schema is None:
            return await self._create(model, request, None)
        if self.schema_mode == "json_object":
            return await self._create(model, request, "json_object")
        try:
            result = await self._create(model, request, "json_schema")
        except _Refused as refused:
            if self._json_schema_worked:  # the server takes json_schema: this was a real failure
                raise refused.error from None
        else:
            self._json_schema_worked = True
            return result
        result = await self._create(model, request, "json_object")
        self.schema_mode = "json_object"
        return result

    async def aclose(self) -> None:
        await self._client.close()

    # --- internals ------------------------------------------------------------

    async def _model_id(self) -> str:
        """The configured model, or the first one the server lists (asked once)."""
        if self.model is not None:
            return self.model
        async with self._model_lock:
            if self.model is None:
                try:
                    page = await self._client.models.list()
                except Exception as exc:
                    raise self._map_error(exc) from None
                if not page.data:
                    raise ModelError(
                        f"{self.base_url} lists no models; name one with "
                        "--model openai-compatible:MODEL"
                    )
                self.model = self.name = page.data[0].id
        return self.model

    async def _create(
        self, model: str, request: GenerationRequest, mode: SchemaMode | None
    ) -> RawCompletion:
        body: dict[str, Any] = {
            "model": model,
            "messages": [dict(m) for m in request.messages],
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
        }
        if mode == "json_schema":
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": request.schema_name,
                    "schema": request.json_schema,
                    "strict": False,
                },
            }
        elif mode == "json_object":
            body["response_format"] = {"type": "json_object", "schema": request.json_schema}
        if request.seed is not None:
            body["seed"] = request.seed
        try:
            # The SDK's documented raw `post`: the body goes out as is. The typed
            # `chat.completions.create` walks every argument through its TypedDict
            # transform, milliseconds a call that add up with 64 calls in flight; the
            # answer comes back as bytes for the same reason (no response model to build),
            # and our own idempotency key spares a uuid4 (an os.urandom call) per request.
            self._requests += 1
            content = await self._client.post(
                "/chat/completions",
                body=body,
                cast_to=bytes,
                options={"idempotency_key": f"{self._key_prefix}-{self._requests}"},
            )
        except Exception as exc:
            error = self._map_error(exc)
            status = getattr(exc, "status_code", None)
            if mode == "json_schema" and status in _FALLBACK_STATUSES:
                raise _Refused(error) from None
            raise error from None
        return self._completion(content, model)

    def _completion(self, content: bytes, model: str) -> RawCompletion:
        """The fields we use of a chat completion body; a body of another shape is a transport error."""
        try:
            data = json.loads(content)
            choices = data.get("choices") or []
            if not choices:
                raise ModelTransportError(f"{self.base_url} returned no choices for model {model}")
            choice = choices[0]
            usage = data.get("usage") or {}
            return RawCompletion(
                text=(choice.get("message") or {}).get("content") or "",
                finish_reason=choice.get("finish_reason") or "stop",
                tokens_in=int(usage.get("prompt_tokens") or 0),
                tokens_out=int(usage.get("completion_tokens") or 0),
                model=str(data.get("model") or model),
            )
        except (ValueError, TypeError, AttributeError) as exc:
            raise ModelTransportError(
                f"{self.base_url} returned a body that is not a chat completion: {self._scrub(str(exc))}"
            ) from None

    def _scrub(self, text: str) -> str:
        if self._secret:
            text = text.replace(self._secret, "***")
        text = " ".join(text.split())
        return text[:_MAX_MESSAGE_CHARS]

    def _map_error(self, exc: Exception) -> ModelError:
        """SDK exceptions to ours: retryable transport errors vs. a request the server refuses."""
        import openai

        if isinstance(exc, openai.APITimeoutError):
            return ModelTimeoutError(f"{self.base_url} did not answer within {self.timeout:g} s")
        if isinstance(exc, openai.APIConnectionError):
            return ModelTransportError(f"cannot reach {self.base_url}: {self._scrub(str(exc))}")
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            message = self._scrub(_server_message(exc))
            if status == 429 or status >= 500:
                return ModelTransportError(f"{self.base_url} answered HTTP {status}: {message}")
            return ModelError(f"{self.base_url} refused the request (HTTP {status}): {message}")
        if isinstance(exc, openai.OpenAIError):
            return ModelTransportError(f"{self.base_url}: {self._scrub(str(exc))}")
        raise exc


class _Refused(Exception):
    """A json_schema request the server refused: the caller may fall back to json_object."""

    def __init__(self, error: ModelError) -> None:
        super().__init__(str(error))
        self.error = error


def _server_message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
    return str(getattr(exc, "message", "") or exc)
