"""A local OpenAI-compatible model simulator that runs in its own process.

It serves at most `capacity` chat completions at once, each held for the set
latency (plus uniform jitter), and queues the rest, like a GPU server with a
fixed batch. Answers are schema-valid JSON for whatever `response_format`
schema arrives (the scripted model's generator). It counts busy slot-seconds,
so a benchmark reads the utilisation of the slots from the server's side.

Its own process keeps its CPU off the client's event loop:

    with SimulatorProcess(capacity=64, latency=2.0, jitter=0.5) as sim:
        sim.reset()
        ...                      # point any OpenAI client at sim.url
        print(sim.stats())       # busy slot-seconds, utilisation, calls, CPU

or stand-alone: python benchmarks/simulator.py --capacity 64 --latency 2 --jitter 0.5
Only 127.0.0.1 is ever bound or contacted.

With `hidden_quality=True` the hypotheses it writes carry hidden qualities and
its judge answers from them (hidden_quality.py); `qualities()` reads the table
after a session, `reset(seed)` starts a new one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import signal
import subprocess
import sys
import time
import urllib.request
from types import TracebackType
from typing import Any

HOST = "127.0.0.1"
_READY = "READY "


class Simulator:
    """The server itself: HTTP/1.1 keep-alive on asyncio streams, a semaphore for the slots."""

    def __init__(
        self,
        *,
        capacity: int,
        latency: float,
        jitter: float,
        seed: int,
        model: str,
        hidden_quality: bool = False,
    ) -> None:
        from hidden_quality import HiddenQuality

        from coscientist.llm.synthetic import content_words, phrase, synthesize

        self._content_words = content_words
        self._phrase = phrase
        self._synthesize = synthesize
        self.capacity = capacity
        self.latency = latency
        self.jitter = jitter
        self.model = model
        self._rng = random.Random(seed)
        self._seed = seed
        self._slots = asyncio.Semaphore(capacity)
        self._active = 0
        self._waiting = 0
        self.quality = HiddenQuality(seed) if hidden_quality else None
        self._reset()

    # --- accounting -----------------------------------------------------------

    def _reset(self) -> None:
        now = time.perf_counter()
        self._since = now
        self._mark = now
        self._busy = 0.0  # integral of active slots over time since the reset
        self._requests = 0
        self._completed = 0
        self._max_active = self._active
        self._max_waiting = self._waiting
        self._cpu0 = time.process_time()

    def _advance(self) -> None:
        now = time.perf_counter()
        self._busy += self._active * (now - self._mark)
        self._mark = now

    def stats(self) -> dict[str, Any]:
        self._advance()
        window = self._mark - self._since
        return {
            "capacity": self.capacity,
            "latency_s": self.latency,
            "jitter_s": self.jitter,
            "window_s": round(window, 4),
            "busy_slot_s": round(self._busy, 4),
            "utilisation": round(self._busy / (self.capacity * window), 4) if window > 0 else 0.0,
            "requests": self._requests,
            "completed": self._completed,
            "calls_per_s": round(self._completed / window, 3) if window > 0 else 0.0,
            "max_active": self._max_active,
            "max_waiting": self._max_waiting,
            "active": self._active,
            "server_cpu_s": round(time.process_time() - self._cpu0, 4),
        }

    # --- HTTP -----------------------------------------------------------------

    async def serve(self, port: int) -> None:
        server = await asyncio.start_server(self._connection, HOST, port, backlog=4096)
        bound = server.sockets[0].getsockname()[1]
        print(f"{_READY}http://{HOST}:{bound}/v1", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        async with server:
            await stop.wait()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line.strip():
                    break
                method, path, _ = line.decode("latin-1").split(maxsplit=2)
                length, close = 0, False
                while True:
                    header = await reader.readline()
                    if header in (b"\r\n", b"\n", b""):
                        break
                    name, _, value = header.decode("latin-1").partition(":")
                    name = name.strip().lower()
                    if name == "content-length":
                        length = int(value)
                    elif name == "connection":
                        close = value.strip().lower() == "close"
                body = await reader.readexactly(length) if length else b""
                status, payload = await self._route(method, path.split("?")[0], body)
                data = json.dumps(payload).encode()
                writer.write(
                    f"HTTP/1.1 {status} {'OK' if status == 200 else 'Error'}\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n".encode()
                    + data
                )
                await writer.drain()
                if close:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        except asyncio.CancelledError:
            pass  # shutting down: end the connection quietly instead of logging the cancel
        finally:
            writer.close()

    async def _route(self, method: str, path: str, body: bytes) -> tuple[int, Any]:
        if method == "GET" and path.endswith("/models"):
            return 200, {
                "object": "list",
                "data": [{"id": self.model, "object": "model", "created": 0, "owned_by": "sim"}],
            }
        if path == "/qualities" and self.quality is not None:
            if method == "POST":
                seed = json.loads(body or b"{}").get("seed", self._seed)
                self.quality.reset(int(seed))
                self._rng = random.Random(seed)
                self._seed = int(seed)
            return 200, self.quality.table()
        if path == "/stats":
            if method == "POST":
                self._advance()
                self._reset()
            return 200, self.stats()
        if method == "POST" and path.endswith("/chat/completions"):
            try:
                request = json.loads(body or b"{}")
            except json.JSONDecodeError:
                return 400, {"error": {"message": "body is not JSON", "type": "invalid_request"}}
            return 200, await self._chat(request)
        return 404, {"error": {"message": f"no route {method} {path}", "type": "not_found"}}

    async def _chat(self, request: dict[str, Any]) -> dict[str, Any]:
        self._requests += 1
        self._waiting += 1
        if self._active >= self.capacity:  # no free slot: this one queues
            self._max_waiting = max(self._max_waiting, self._waiting)
        async with self._slots:
            self._waiting -= 1
            self._advance()
            self._active += 1
            self._max_active = max(self._max_active, self._active)
            try:
                delay = self.latency
                if self.jitter:
                    delay += self._rng.uniform(-self.jitter, self.jitter)
                await asyncio.sleep(max(0.0, delay))
                return self._completion(request)
            finally:
                self._advance()
                self._active -= 1
                self._completed += 1

    def _completion(self, request: dict[str, Any]) -> dict[str, Any]:
        messages = request.get("messages") or []
        texts = [str(m.get("content", "")) for m in messages]
        words = self._content_words(
            t for m, t in zip(messages, texts, strict=True) if m.get("role") != "assistant"
        )
        rng = random.Random(f"{self._seed}:{self._completed}:{len(texts[-1]) if texts else 0}")
        schema = _schema_of(request)
        if schema is None:
            content = self._phrase(rng, words)
        else:
            value = self._synthesize(schema, rng, words)
            if self.quality is not None:
                value = self.quality.rewrite(messages, value)
            content = json.dumps(value)
        prompt = sum(max(1, len(t) // 4) for t in texts)
        completion = max(1, len(content) // 4)
        return {
            "id": f"sim-{self._requests}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": str(request.get("model") or self.model),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            },
        }


def _schema_of(request: dict[str, Any]) -> dict[str, Any] | None:
    fmt = request.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        schema = (fmt.get("json_schema") or {}).get("schema")
        return schema if isinstance(schema, dict) else {"type": "object"}
    if fmt.get("type") == "json_object":
        schema = fmt.get("schema")
        return schema if isinstance(schema, dict) else {"type": "object"}
    return None


class SimulatorProcess:
    """Runs the simulator in a child process; `stats()`/`reset()` talk to it over 127.0.0.1."""

    def __init__(
        self,
        *,
        capacity: int,
        latency: float,
        jitter: float = 0.0,
        seed: int = 0,
        model: str = "sim-model",
        hidden_quality: bool = False,
        start_timeout: float = 60.0,
    ) -> None:
        self.args = [
            sys.executable,
            __file__,
            "--capacity",
            str(capacity),
            "--latency",
            str(latency),
            "--jitter",
            str(jitter),
            "--seed",
            str(seed),
            "--model",
            model,
            *(["--hidden-quality"] if hidden_quality else []),
        ]
        self.start_timeout = start_timeout
        self.url = ""
        self.pid = 0
        self._proc: subprocess.Popen[str] | None = None
        # Never route loopback calls through a proxy from the environment.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def start(self) -> SimulatorProcess:
        self._proc = subprocess.Popen(
            self.args, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True
        )
        self.pid = self._proc.pid
        assert self._proc.stdout is not None
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            line = self._proc.stdout.readline()
            if line.startswith(_READY):
                self.url = line[len(_READY) :].strip()
                return self
            if not line and self._proc.poll() is not None:
                break
        self.stop()
        raise RuntimeError("the simulator process did not start (see its stderr above)")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()

    def _call(self, method: str, path: str = "/stats", data: bytes = b"") -> dict[str, Any]:
        root = self.url.removesuffix("/v1")
        request = urllib.request.Request(
            f"{root}{path}", method=method, data=data if method == "POST" else None
        )
        with self._opener.open(request, timeout=30) as response:
            result: dict[str, Any] = json.loads(response.read())
        return result

    def reset(self) -> dict[str, Any]:
        """Start a new measurement window now."""
        return self._call("POST")

    def stats(self) -> dict[str, Any]:
        """Counters since the last reset (the window ends now)."""
        return self._call("GET")

    def qualities(self) -> dict[str, Any]:
        """The hidden-quality table: {"quality": {tag: q}, "origin": {tag: ...}, "verdicts": n}."""
        return self._call("GET", "/qualities")

    def reset_qualities(self, seed: int) -> dict[str, Any]:
        """Forget every hypothesis; draw from `seed` from now on."""
        return self._call("POST", "/qualities", json.dumps({"seed": seed}).encode())

    def __enter__(self) -> SimulatorProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="OpenAI-compatible simulator on 127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--capacity", type=int, default=64)
    parser.add_argument("--latency", type=float, default=2.0)
    parser.add_argument("--jitter", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default="sim-model")
    parser.add_argument("--hidden-quality", action="store_true")
    args = parser.parse_args()
    sim = Simulator(
        capacity=args.capacity,
        latency=args.latency,
        jitter=args.jitter,
        seed=args.seed,
        model=args.model,
        hidden_quality=args.hidden_quality,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(sim.serve(args.port))


if __name__ == "__main__":
    main()
