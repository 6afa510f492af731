"""GPU: a session against `vllm serve` versus vLLM's own throughput at the same concurrency.

Runs only where a CUDA GPU and vLLM are present (nvidia-smi, torch.cuda, the
vllm package). There it starts `vllm serve MODEL` on 127.0.0.1 (the model must
be a local path or already in the Hugging Face cache: the hub is kept offline),
then measures at concurrency C, with the same number of calls:

- vllm: a bare loop keeping C structured requests in flight on one AsyncOpenAI
  client (vLLM's own throughput at that concurrency),
- session: a real CoScientist session (openai-compatible backend, concurrency C).

Figure: completion tokens per second (and calls per second). Target: the
session >= 0.8 of vLLM's own. Where there is no GPU or no vLLM it prints a JSON
object saying so and exits 0.

python benchmarks/gpu.py [--quick] [--model Qwen/Qwen2.5-0.5B-Instruct] [--concurrency 64]
The last line of output is one JSON object.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import anyio
from machine import emit, isolate_environment, machine
from saturation import GOAL, request_body

TARGET = 0.8
DEFAULT_MODEL = "Qwen/Qwen2.5-0.5B-Instruct"


def detect() -> dict[str, Any]:
    """What this machine has: an NVIDIA driver, a CUDA device for torch, the vllm package."""
    found: dict[str, Any] = {
        "nvidia_smi": shutil.which("nvidia-smi") is not None,
        "vllm": importlib.util.find_spec("vllm") is not None,
        "torch": importlib.util.find_spec("torch") is not None,
        "cuda_devices": 0,
    }
    if found["torch"]:
        try:
            import torch

            if torch.cuda.is_available():
                found["cuda_devices"] = int(torch.cuda.device_count())
        except Exception as exc:  # a broken torch install is a reason to skip, not to crash
            found["torch_error"] = str(exc)[:200]
    found["ready"] = bool(found["nvidia_smi"] and found["vllm"] and found["cuda_devices"])
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class VllmServer:
    """`vllm serve` in its own process group, stopped with everything it spawned."""

    def __init__(self, model: str, concurrency: int, seed: int, timeout: float, log: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        exe = shutil.which("vllm") or str(Path(sys.executable).with_name("vllm"))
        self.args = [
            exe,
            "serve",
            model,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--max-num-seqs",
            str(concurrency),
            "--seed",
            str(seed),
            "--served-model-name",
            model,
        ]
        self.timeout = timeout
        self.log = log
        self._proc: subprocess.Popen[bytes] | None = None
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def __enter__(self) -> VllmServer:
        env = dict(
            os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", VLLM_NO_USAGE_STATS="1"
        )
        with self.log.open("wb") as out:
            self._proc = subprocess.Popen(
                self.args, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                tail = self.log.read_text(errors="replace")[-1500:]
                raise RuntimeError(f"vllm serve exited with {self._proc.returncode}:\n{tail}")
            try:
                with self._opener.open(f"{self.url}/models", timeout=5):
                    return self
            except OSError:
                time.sleep(2)
        self.__exit__()
        raise RuntimeError(f"vllm serve did not answer within {self.timeout:g} s")

    def __exit__(self, *exc: object) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)


async def vllm_own(url: str, model: str, calls: int, concurrency: int) -> dict[str, Any]:
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=url, api_key="not-needed", max_retries=0, timeout=600)
    body = request_body(model)
    left, tokens = calls, 0

    async def loop() -> None:
        nonlocal left, tokens
        while left > 0:
            left -= 1
            reply = await client.post("/chat/completions", body=body, cast_to=bytes)
            tokens += int(json.loads(reply)["usage"]["completion_tokens"])

    started = time.perf_counter()
    try:
        async with anyio.create_task_group() as tg:
            for _ in range(concurrency):
                tg.start_soon(loop)
    finally:
        await client.close()
    wall = time.perf_counter() - started
    return _rates(calls, tokens, wall)


async def session(
    url: str, model: str, calls: int, concurrency: int, tmp: Path, seed: int
) -> dict[str, Any]:
    from coscientist.config import Limits, Settings
    from coscientist.session import CoScientist

    settings = Settings(
        db=f"sqlite:///{tmp / 'gpu.db'}",
        model=f"openai-compatible:{model}",
        base_url=url,
        concurrency=concurrency,
        seed=seed,
        request_timeout=600,
    )
    with CoScientist(settings) as cs:
        s = cs.start(GOAL)
        started = time.perf_counter()
        summary = await s.run(Limits(max_calls=calls, convergence_window=10**9))
        wall = time.perf_counter() - started
    out = _rates(summary.calls, summary.tokens_out, wall)
    out.update(tasks_done=summary.tasks_done, max_in_flight=summary.max_in_flight)
    return out


def _rates(calls: int, tokens: int, wall: float) -> dict[str, Any]:
    return {
        "calls": calls,
        "completion_tokens": tokens,
        "wall_s": round(wall, 3),
        "tokens_per_s": round(tokens / wall, 2),
        "calls_per_s": round(calls / wall, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="C=16, 4 x C calls")
    parser.add_argument("--model", default=DEFAULT_MODEL, help="local path or cached hub name")
    parser.add_argument("--concurrency", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=None, help="calls = rounds x C")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--startup-timeout", type=float, default=900.0)
    parser.add_argument("--check", action="store_true", help="exit 1 when the target is missed")
    args = parser.parse_args()
    info = machine()
    found = detect()
    if not found["ready"]:
        emit(
            {
                "benchmark": "gpu",
                "skipped": True,
                "reason": "needs a CUDA GPU (nvidia-smi, torch.cuda) and the vllm package",
                "found": found,
                "machine": info,
            }
        )
        return
    concurrency = args.concurrency or (16 if args.quick else 64)
    calls = (args.rounds or (4 if args.quick else 20)) * concurrency
    with tempfile.TemporaryDirectory(prefix="cosci-gpu-") as name:
        tmp = Path(name)
        isolate_environment(tmp)
        with VllmServer(
            args.model, concurrency, args.seed, args.startup_timeout, tmp / "vllm.log"
        ) as server:

            async def _main() -> dict[str, Any]:
                import coscientist.scheduler.loop  # noqa: F401  (import time is not throughput)

                await vllm_own(server.url, args.model, concurrency, concurrency)  # warm-up
                own = await vllm_own(server.url, args.model, calls, concurrency)
                ours = await session(server.url, args.model, calls, concurrency, tmp, args.seed)
                return {"vllm": own, "session": ours}

            result = anyio.run(_main)
    ratio = result["session"]["tokens_per_s"] / max(result["vllm"]["tokens_per_s"], 1e-9)
    ok = ratio >= TARGET
    emit(
        {
            "benchmark": "gpu",
            "skipped": False,
            "model": args.model,
            "concurrency": concurrency,
            "target_ratio": TARGET,
            "ratio_tokens_per_s": round(ratio, 4),
            "all_targets_met": ok,
            **result,
            "found": found,
            "machine": info,
        }
    )
    if args.check and not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
