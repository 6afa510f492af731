"""A real OpenAI-compatible HTTP server on 127.0.0.1, for tests and benchmarks.

It speaks plain HTTP/1.1 (keep-alive) on its own asyncio loop in a daemon
thread, so the code under test talks to it through a real socket with the real
`openai` SDK. A test pushes scripted `Reply`s (valid, malformed, cut off, an
HTTP error, with headers such as Retry-After, a delay past the client's timeout);
when the queue is empty a responder answers, by default with schema-valid JSON
from the scripted backend's generator. `reject_json_schema=True` imitates
llama.cpp's server (HTTP 500 on `json_schema`, `json_object` accepted);
`capacity` serves at most that many requests at once and queues the rest, like a
single-slot server. Like a real endpoint it answers only under /v1 (404
elsewhere), with `api_key` set it answers 401 to any other bearer token, with
`models_status` set `GET /models` fails with that status, and with
`strict_models=True` a completion for a model it does not serve is a 404. POST
/embeddings answers deterministic hashed bag-of-words vectors (64 dimensions),
or fails with `embeddings_status`; `embedding_requests` counts them.

Run it alone for benchmarks:
    python tests/fakes/openai_server.py --port 8000 --latency 0.5 --capacity 64
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import hashlib
import json
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from pydantic import BaseModel

from coscientist.llm.synthetic import content_words, phrase, synthesize

_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
_EMBEDDING_DIM = 64


@dataclass
class Reply:
    """One scripted answer. `content=None` lets the responder write the content."""

    content: str | None = None
    finish_reason: str = "stop"
    status: int = 200
    delay: float = 0.0
    error: str = "scripted failure"
    headers: dict[str, str] | None = None  # extra response headers, e.g. Retry-After
    raw_body: str | None = None  # sent verbatim instead of a completion (a proxy's error page)

    @classmethod
    def json(cls, value: dict[str, Any] | BaseModel, **kwargs: Any) -> Reply:
        text = value.model_dump_json() if isinstance(value, BaseModel) else json.dumps(value)
        return cls(content=text, **kwargs)

    @classmethod
    def malformed(cls, text: str = '{"title": "unterminated', **kwargs: Any) -> Reply:
        return cls(content=text, **kwargs)

    @classmethod
    def truncated(cls, text: str = '{"title": "a very long answer that goes on and') -> Reply:
        return cls(content=text, finish_reason="length")

    @classmethod
    def http_error(
        cls, status: int, error: str = "scripted failure", *, retry_after: float | None = None
    ) -> Reply:
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else None
        return cls(status=status, error=error, headers=headers)

    @classmethod
    def not_a_completion(cls, body: str = "<html><body>502 Bad Gateway</body></html>") -> Reply:
        return cls(raw_body=body)

    @classmethod
    def slow(cls, delay: float, content: str | None = None) -> Reply:
        return cls(content=content, delay=delay)


Responder = Callable[[dict[str, Any]], "Reply | str | dict[str, Any] | BaseModel"]


def _as_reply(value: Reply | str | dict[str, Any] | BaseModel) -> Reply:
    if isinstance(value, Reply):
        return value
    if isinstance(value, str):
        return Reply(content=value)
    return Reply.json(value)


def _request_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        return schema if isinstance(schema, dict) else None
    if response_format.get("type") == "json_object":
        schema = response_format.get("schema")
        return schema if isinstance(schema, dict) else {"type": "object"}
    return None


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)


class FakeOpenAIServer:
    """Start with `with FakeOpenAIServer() as server:`; point clients at `server.url`."""

    def __init__(
        self,
        *,
        responder: Responder | None = None,
        reject_json_schema: bool = False,
        capacity: int | None = None,
        latency: float = 0.0,
        jitter: float = 0.0,
        seed: int = 0,
        model: str = "fake-model",
        host: str = "127.0.0.1",
        port: int = 0,
        record_bodies: bool = True,
        api_key: str | None = None,
        models_status: int | None = None,
        strict_models: bool = False,
        embeddings_status: int | None = None,
    ) -> None:
        self.responder = responder
        self.reject_json_schema = reject_json_schema
        self.capacity = capacity
        self.latency = latency
        self.jitter = jitter
        self.seed = seed
        self.model = model
        self.host = host
        self.port = port
        self.record_bodies = record_bodies  # off for long benchmark runs
        self.api_key = api_key
        self.models_status = models_status
        self.strict_models = strict_models
        self.embeddings_status = embeddings_status  # set: /embeddings fails with it
        self.request_times: list[float] = []  # monotonic arrival time of each chat request
        # Counters, written on the server thread and read by tests.
        self.requests_received = 0
        self.chat_requests = 0
        self.embedding_requests = 0
        self.embedded_texts = 0
        self.max_concurrent = 0  # requests being served at once (inside capacity)
        self.max_pending = 0  # requests received and not yet answered
        self.bodies: list[dict[str, Any]] = []
        self.auth_headers: list[str] = []
        self._queue: collections.deque[Reply] = collections.deque()
        self._seen: collections.Counter[str] = collections.Counter()
        self._rng = random.Random(seed)
        self._active = 0
        self._pending = 0
        self._capacity: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None

    # --- control from the test thread -----------------------------------------

    @property
    def url(self) -> str:
        """Base URL for OpenAI clients (ends in /v1)."""
        return f"http://{self.host}:{self.port}/v1"

    def push(self, *replies: Reply | str | dict[str, Any] | BaseModel) -> None:
        self._queue.extend(_as_reply(r) for r in replies)

    @property
    def queued(self) -> int:
        return len(self._queue)

    def start(self) -> FakeOpenAIServer:
        self._thread = threading.Thread(target=self._run, name="fake-openai", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fake OpenAI server did not start within 10 s")
        if self._startup_error is not None:
            raise RuntimeError(f"fake OpenAI server failed: {self._startup_error}")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stopped is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stopped.set)
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- server thread ----------------------------------------------------------

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # surfaced by start()
            self._startup_error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        connections: set[asyncio.Task[None]] = set()

        async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            connections.add(task)
            try:
                await self._connection(reader, writer)
            except asyncio.CancelledError:
                pass  # shutting down: end quietly instead of logging a cancelled callback
            finally:
                connections.discard(task)

        server = await asyncio.start_server(on_connect, self.host, self.port, backlog=1024)
        self.port = server.sockets[0].getsockname()[1]
        self._capacity = asyncio.Semaphore(self.capacity) if self.capacity else None
        self._ready.set()
        async with server:
            await self._stopped.wait()
            server.close()
            for task in list(connections):
                task.cancel()
            await asyncio.gather(*connections, return_exceptions=True)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request_line = await reader.readline()
                if not request_line.strip():
                    break
                method, path, _version = request_line.decode("latin-1").split(maxsplit=2)
                headers: dict[str, str] = {}
                while True:
                    line = await reader.readline()
                    if line in (b"\r\n", b"\n", b""):
                        break
                    key, _, value = line.decode("latin-1").partition(":")
                    headers[key.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0"))
                body = await reader.readexactly(length) if length else b""
                answer = await self._dispatch(method, path.split("?")[0], headers, body)
                status, payload = answer[0], answer[1]
                extra = answer[2] if len(answer) > 2 else None
                raw_text = isinstance(payload, _Verbatim)
                data = payload.encode("utf-8") if raw_text else json.dumps(payload).encode("utf-8")
                reason = _REASONS.get(status, "Error")
                extra_lines = "".join(f"{k}: {v}\r\n" for k, v in (extra or {}).items())
                head = (
                    f"HTTP/1.1 {status} {reason}\r\n"
                    f"Content-Type: {'text/html' if raw_text else 'application/json'}\r\n"
                    f"{extra_lines}Content-Length: {len(data)}\r\n\r\n"
                ).encode("latin-1")
                writer.write(head + data)
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            writer.close()

    async def _dispatch(
        self, method: str, path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[Any, ...]:
        self.requests_received += 1
        if self.record_bodies:
            self.auth_headers.append(headers.get("authorization", ""))
        if not path.startswith("/v1/"):
            return 404, _error(f"no route {method} {path}", "not_found")
        if self.api_key is not None and headers.get("authorization") != f"Bearer {self.api_key}":
            return 401, _error("Incorrect API key provided", "invalid_api_key")
        if method == "GET" and path.endswith("/models") and self.models_status is not None:
            return self.models_status, _error("models are not listed here", "server_error")
        if method == "GET" and path.endswith("/models"):
            return 200, {
                "object": "list",
                "data": [{"id": self.model, "object": "model", "created": 0, "owned_by": "fake"}],
            }
        if method != "POST" or not path.endswith(("/chat/completions", "/embeddings")):
            return 404, _error(f"no route {method} {path}", "not_found")
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            return 400, _error("request body is not JSON", "invalid_request_error")
        if self.record_bodies:
            self.bodies.append(body)
        if path.endswith("/embeddings"):
            self.embedding_requests += 1
            if self.embeddings_status is not None:
                return self.embeddings_status, _error("embeddings are down", "server_error")
            return 200, self._embeddings(body)
        self.chat_requests += 1
        self.request_times.append(time.monotonic())
        if self.strict_models and body.get("model") != self.model:
            return 404, _error(f"The model {body.get('model')!r} does not exist", "not_found")
        self._pending += 1
        self.max_pending = max(self.max_pending, self._pending)
        try:
            if self._capacity is None:
                return await self._chat(body)
            async with self._capacity:
                return await self._chat(body)
        finally:
            self._pending -= 1

    async def _chat(self, body: dict[str, Any]) -> tuple[Any, ...]:
        self._active += 1
        self.max_concurrent = max(self.max_concurrent, self._active)
        try:
            response_format = body.get("response_format") or {}
            if self.reject_json_schema and response_format.get("type") == "json_schema":
                return 500, _error("json_schema response_format is not supported", "server_error")
            reply = self._queue.popleft() if self._queue else None
            delay = self.latency + (
                self._rng.uniform(-self.jitter, self.jitter) if self.jitter else 0
            )
            delay += reply.delay if reply else 0.0
            if delay > 0:
                await asyncio.sleep(delay)
            if reply is not None and reply.raw_body is not None:
                return reply.status, _Verbatim(reply.raw_body), reply.headers
            if reply is None or (reply.content is None and reply.status == 200):
                answered = self._respond(body)
                if reply is not None:
                    answered.finish_reason = reply.finish_reason
                reply = answered
            if reply.status != 200:
                return reply.status, _error(reply.error, "server_error"), reply.headers
            return 200, self._completion(body, reply)
        finally:
            self._active -= 1

    def _respond(self, body: dict[str, Any]) -> Reply:
        if self.responder is not None:
            return _as_reply(self.responder(body))
        messages = body.get("messages") or []
        digest = hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).hexdigest()
        rng = random.Random(f"{self.seed}:{digest}:{self._seen[digest]}")
        self._seen[digest] += 1
        words = content_words(
            str(m.get("content", "")) for m in messages if m.get("role") != "assistant"
        )
        schema = _request_schema(body)
        if schema is None:
            return Reply(content=phrase(rng, words))
        return Reply(content=json.dumps(synthesize(schema, rng, words)))

    def _completion(self, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
        content = reply.content or ""
        prompt = sum(_tokens(str(m.get("content", ""))) for m in body.get("messages") or [])
        completion = _tokens(content)
        return {
            "id": f"chatcmpl-{self.chat_requests}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": str(body.get("model") or self.model),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": reply.finish_reason,
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            },
        }

    def _embeddings(self, body: dict[str, Any]) -> dict[str, Any]:
        """Hashed bag of words, normalised: similar texts get similar vectors."""
        inputs = body.get("input", "")
        texts = [inputs] if isinstance(inputs, str) else [str(t) for t in inputs]
        self.embedded_texts += len(texts)
        data = []
        for index, text in enumerate(texts):
            vector = [0.0] * _EMBEDDING_DIM
            for word in text.lower().split():
                digest = hashlib.sha256(word.encode()).digest()
                vector[digest[0] % _EMBEDDING_DIM] += 1.0 if digest[1] % 2 else -1.0
            norm = math.sqrt(sum(v * v for v in vector)) or 1.0
            data.append(
                {"object": "embedding", "index": index, "embedding": [v / norm for v in vector]}
            )
        tokens = sum(_tokens(t) for t in texts)
        return {
            "object": "list",
            "data": data,
            "model": str(body.get("model") or self.model),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }


class _Verbatim(str):
    """A response body sent as is, not as JSON."""


def _error(message: str, kind: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "code": None, "param": None}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--jitter", type=float, default=0.0)
    parser.add_argument("--capacity", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reject-json-schema", action="store_true")
    parser.add_argument("--api-key", default=None, help="answer 401 to any other bearer token")
    parser.add_argument("--strict-models", action="store_true", help="404 for unknown models")
    args = parser.parse_args()
    server = FakeOpenAIServer(
        port=args.port,
        latency=args.latency,
        jitter=args.jitter,
        capacity=args.capacity,
        seed=args.seed,
        reject_json_schema=args.reject_json_schema,
        record_bodies=False,
        api_key=args.api_key,
        strict_models=args.strict_models,
    )
    with server:
        print(server.url, flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
