"""Any OpenAI-compatible chat endpoint: vLLM serve, llama.cpp server, Ollama, OpenAI.

Structured output goes through `response_format` (never function calling).
Servers differ: vLLM and OpenAI take `json_schema`; llama.cpp's server answers
HTTP 500 to it but takes `json_object` with a `schema`. The backend tries
`json_schema` first; when that is refused and `json_object` works, this one
request is answered in `json_object`. Only after SCHEMA_REFUSALS_TO_SWITCH such
refusals in a row, each while `json_object` succeeded, is `json_object` kept for the
rest of the session: one transient HTTP 500 does not change the mode. Once
`json_schema` has worked here, a refusal is a real failure and is raised as such.

The API key is only handed to the SDK client; error messages are built from
the status and the server's message with the key and any URL password scrubbed
out. Failures are mapped to the exception that names their cause (errors.py):
unreachable, timeout, unauthorised (401/403), refused (other 4xx), rate limited
(429, with the server's Retry-After), server error (5xx), malformed response.
"""

from __future__ import annotations

import email.utils
import json
import time
import uuid
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

import anyio

from coscientist.errors import (
    ModelError,
    ModelMalformedResponseError,
    ModelRateLimitedError,
    ModelRefusedError,
    ModelServerError,
    ModelTimeoutError,
    ModelTransportError,
    ModelUnauthorizedError,
    ModelUnreachableError,
)
from coscientist.llm.base import GenerationRequest, RawCompletion
from coscientist.redact import mask_secrets, scrub

if TYPE_CHECKING:
    from openai import AsyncOpenAI

_FALLBACK_STATUSES = frozenset({400, 422, 500})
_MAX_MESSAGE_CHARS = 300
SCHEMA_REFUSALS_TO_SWITCH = 3  # json_schema refused while json_object worked, in a row
# Connecting, TLS handshake included, takes milliseconds where a server answers; an https://
# URL to a server that speaks plain HTTP and keeps the socket open waited the whole request
# timeout (30 s in the preflight, 120 s in a run) before saying anything.
CONNECT_TIMEOUT = 10.0

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
        self._schema_refusals = 0
        self.shown_url = mask_secrets(self.base_url)  # what messages may say
        self._secrets = (api_key or "", urlsplit(self.base_url).password or "")
        from openai import Timeout  # the SDK's own HTTP library's (httpx2 in openai 3.x)

        self.connect_timeout = min(timeout, CONNECT_TIMEOUT)
        self._client: AsyncOpenAI = AsyncOpenAI(
            base_url=self.base_url,
            api_key=api_key or "not-needed",
            timeout=Timeout(timeout, connect=self.connect_timeout),
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
            self._schema_refusals = 0
            return result
        # Refused: answer this request in json_object. A failure here is raised as is and
        # says nothing about json_schema, so it does not count as a refusal.
        result = await self._create(model, request, "json_object")
        self._schema_refusals += 1
        if self._schema_refusals >= SCHEMA_REFUSALS_TO_SWITCH and not self._json_schema_worked:
            self.schema_mode = "json_object"
        return result

    async def probe(self) -> str:
        """One cheap request before a session exists: the endpoint answers, takes our key and
        serves the model. Returns the model id calls will use; raises the error naming the cause.

        `GET /models` first; when the server has no such route, or does not list the named
        model, a one-token completion decides.
        """
        try:
            page = await self._client.models.list()
        except Exception as exc:
            error = self._map_error(exc)
            if self.model is None or not _worth_a_completion(error):
                raise error from None
            await self._one_token(self.model)
            return self.model
        listed = [str(m.id) for m in page.data]
        if self.model is None:
            if not listed:
                raise ModelRefusedError(
                    f"{self.shown_url} lists no models; name one with --model openai-compatible:MODEL"
                )
            self.model = self.name = listed[0]
        elif self.model not in listed:
            await self._one_token(self.model, listed)
        return self.model

    async def _one_token(self, model: str, listed: list[str] | None = None) -> None:
        request = GenerationRequest(
            messages=({"role": "user", "content": "Say OK."},), json_schema=None, max_tokens=1
        )
        try:
            await self._create(model, request, None)
        except ModelRefusedError as exc:
            if exc.status == 404 and listed:
                shown = ", ".join(listed[:5]) + (", ..." if len(listed) > 5 else "")
                raise ModelRefusedError(
                    f"{self.shown_url} does not serve model {model!r} (it lists {shown})",
                    status=404,
                ) from None
            raise

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
                    raise ModelRefusedError(
                        f"{self.shown_url} lists no models; name one with "
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
                raise ModelMalformedResponseError(
                    f"{self.shown_url} returned no choices for model {model}"
                )
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
            raise ModelMalformedResponseError(
                f"{self.shown_url} returned a body that is not a chat completion: {self._scrub(str(exc))}"
            ) from None

    def _scrub(self, text: str) -> str:
        text = " ".join(scrub(text, *self._secrets).split())
        return text[:_MAX_MESSAGE_CHARS]

    def _map_error(self, exc: Exception) -> ModelError:
        """SDK exceptions to ours, one class per cause (see the module docstring)."""
        import openai

        url = self.shown_url
        if isinstance(exc, openai.APITimeoutError):
            cause = exc.__cause__ or exc.__context__
            if type(cause).__name__ == "ConnectTimeout":  # httpx's or httpx2's
                hint = ""
                if urlsplit(self.base_url).scheme == "https":
                    hint = " (a server that speaks plain HTTP does this to https://: try http://)"
                return ModelTimeoutError(
                    f"{url} did not complete a connection within {self.connect_timeout:g} s{hint}"
                )
            return ModelTimeoutError(f"{url} did not answer within {self.timeout:g} s")
        if isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__ or exc.__context__
            detail = str(cause or exc) or type(cause or exc).__name__
            return ModelUnreachableError(f"cannot reach {url}: {self._scrub(detail)}")
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            message = self._scrub(_server_message(exc))
            if status in (401, 403):
                return ModelUnauthorizedError(
                    f"{url} refused the credentials (HTTP {status}): {message}; "
                    "check COSCIENTIST_API_KEY",
                    status=status,
                )
            if status == 429:
                return ModelRateLimitedError(
                    f"{url} is rate limiting (HTTP 429): {message}",
                    retry_after=retry_after(exc.response.headers),
                )
            if status >= 500:
                return ModelServerError(f"{url} answered HTTP {status}: {message}", status=status)
            if status in (408, 409):  # request timeout, conflict: worth another attempt
                return ModelTransportError(f"{url} answered HTTP {status}: {message}")
            hint = "; is the base URL right (it usually ends in /v1)?" if status == 404 else ""
            return ModelRefusedError(
                f"{url} refused the request (HTTP {status}): {message}{hint}", status=status
            )
        if isinstance(exc, openai.OpenAIError):
            return ModelTransportError(f"{url}: {self._scrub(str(exc))}")
        raise exc


def retry_after(headers: Any) -> float | None:
    """Seconds to wait from `Retry-After` (seconds or an HTTP date) or `retry-after-ms`."""
    try:
        millis = headers.get("retry-after-ms")
        if millis is not None:
            return max(0.0, float(millis) / 1000.0)
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            when = email.utils.parsedate_to_datetime(value)
            return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError, AttributeError):
        return None


def _worth_a_completion(error: ModelError) -> bool:
    """`/models` failed in a way that says nothing about chat completions (no route, a 5xx)."""
    if isinstance(error, ModelUnauthorizedError):
        return False
    if isinstance(error, ModelRefusedError):
        return error.status in (404, 405)
    return isinstance(error, ModelServerError)


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
