"""Embedders: how well each separates paraphrases from non-paraphrases of hypotheses.

The pairs are benchmarks/data/hypothesis_pairs.json, written for this benchmark:
label 1, the same claim in other words; label 0, another claim, either on the
same topic with much of the same vocabulary ("hard") or another claim in the
same field ("topic"). For each embedder the score of a pair is the cosine of
its two unit vectors, and the figures are:

- roc_auc: the chance that a random paraphrase pair scores above a random
  non-paraphrase pair (ties count half); 0.5 is chance, 1.0 perfect;
- best_accuracy and its threshold: the best share of pairs classified right by
  one cosine threshold (fitted on these same pairs, so an optimistic figure);
- mean_cosine per class (paraphrase, hard, topic), and auc_vs_hard and
  auc_vs_topic (paraphrases against one kind of negative only);
- seconds_per_text: wall time of embedding the set, per text.

Embedders: `hashed` always; `embedded` (the shipped SmolLM2 GGUF through
llama-cpp-python, `--threads`) unless llama.cpp or the wheel is missing;
`openai-compatible` when `--base-url` is given, `--batch` texts a request (for
example llama-cpp-python's server on the same GGUF: `python -m llama_cpp.server
--model PATH --embedding true --port 8790`, then `--base-url
http://127.0.0.1:8790/v1 --batch 1`: that server answers every input of a batch
after the first wrongly for a model without a pooling type).

python benchmarks/embedders.py [--threads 1] [--base-url URL] [--model NAME] [--batch 32]
The last line of output is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import anyio
import numpy as np
from machine import emit, machine

from coscientist.embedding import Embedder, EmbeddingError
from coscientist.embedding.hashed import HashedEmbedder
from coscientist.embedding.http import OpenAICompatibleEmbedder
from coscientist.embedding.llama import LlamaEmbedder

PAIRS = Path(__file__).with_name("data") / "hypothesis_pairs.json"


def roc_auc(positive: list[float], negative: list[float]) -> float:
    """Mann-Whitney: P(a positive scores above a negative), ties half."""
    wins = sum((p > n) + 0.5 * (p == n) for p in positive for n in negative)
    return wins / (len(positive) * len(negative))


def best_threshold(scores: list[float], labels: list[int]) -> tuple[float, float]:
    """(accuracy, threshold) of the best rule `paraphrase iff cosine >= threshold`."""
    best = (0.0, 0.0)
    for threshold in sorted(set(scores)):
        right = sum((s >= threshold) == bool(y) for s, y in zip(scores, labels, strict=True))
        best = max(best, (right / len(scores), threshold))
    return best


def figures(pairs: list[dict[str, Any]], scores: list[float]) -> dict[str, Any]:
    by_kind: dict[str, list[float]] = {}
    for pair, score in zip(pairs, scores, strict=True):
        by_kind.setdefault(pair["kind"], []).append(score)
    labels = [int(p["label"]) for p in pairs]
    positive = [s for s, y in zip(scores, labels, strict=True) if y]
    negative = [s for s, y in zip(scores, labels, strict=True) if not y]
    accuracy, threshold = best_threshold(scores, labels)
    return {
        "roc_auc": round(roc_auc(positive, negative), 3),
        "auc_vs_hard": round(roc_auc(positive, by_kind.get("hard", [])), 3),
        "auc_vs_topic": round(roc_auc(positive, by_kind.get("topic", [])), 3),
        "best_accuracy": round(accuracy, 3),
        "threshold": round(threshold, 3),
        "mean_cosine": {k: round(float(np.mean(v)), 3) for k, v in sorted(by_kind.items())},
        "max_cosine": {k: round(float(np.max(v)), 3) for k, v in sorted(by_kind.items())},
    }


async def measure(
    embedder: Embedder, pairs: list[dict[str, Any]], batch: int = 1024
) -> dict[str, Any]:
    await embedder.start()
    texts = sorted({p["a"] for p in pairs} | {p["b"] for p in pairs})
    started = time.perf_counter()
    vectors = []
    for start in range(0, len(texts), batch):
        vectors.extend(await embedder.embed(texts[start : start + batch]))
    seconds = time.perf_counter() - started
    index = dict(zip(texts, vectors, strict=True))
    scores = [float(index[p["a"]] @ index[p["b"]]) for p in pairs]
    await embedder.aclose()
    return {
        "embedder": embedder.name,
        "model": embedder.model,
        "dimension": embedder.dimension,
        **figures(pairs, scores),
        "seconds_per_text": round(seconds / len(texts), 4),
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    pairs: list[dict[str, Any]] = json.loads(PAIRS.read_text(encoding="utf-8"))["pairs"]
    counts = {
        "pairs": len(pairs),
        "paraphrase": sum(p["label"] == 1 for p in pairs),
        "hard": sum(p["kind"] == "hard" for p in pairs),
        "topic": sum(p["kind"] == "topic" for p in pairs),
    }
    embedders: list[tuple[str, Embedder]] = [("hashed", HashedEmbedder())]
    if not args.skip_embedded:
        embedders.append(("embedded", LlamaEmbedder(threads=args.threads)))
    if args.base_url:
        embedders.append(
            (
                "openai-compatible",
                OpenAICompatibleEmbedder(args.base_url, args.model or "", timeout=args.timeout),
            )
        )
    results: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    for label, embedder in embedders:
        batch = args.batch if label == "openai-compatible" else len(pairs) * 2
        try:
            results.append({**await measure(embedder, pairs, batch), "batch": batch})
        except EmbeddingError as exc:
            skipped[label] = str(exc)
    for row in results:
        print(
            f"{row['embedder']:<18} auc {row['roc_auc']:.3f}  vs hard {row['auc_vs_hard']:.3f}  "
            f"vs topic {row['auc_vs_topic']:.3f}  "
            f"best acc {row['best_accuracy']:.3f} at {row['threshold']:.3f}  "
            f"cosines {row['mean_cosine']}"
        )
    return {
        "benchmark": "embedders",
        "data": str(PAIRS.relative_to(Path(__file__).parent)),
        "counts": counts,
        "threads": args.threads,
        "results": results,
        "skipped": skipped,
        "machine": machine(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--base-url", default=None, help="an OpenAI-compatible /v1 endpoint")
    parser.add_argument("--model", default=None, help="its embedding model (default: its first)")
    parser.add_argument("--batch", type=int, default=32, help="texts per request to --base-url")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per request")
    parser.add_argument("--skip-embedded", action="store_true")
    args = parser.parse_args()
    emit(anyio.run(main_async, args))


if __name__ == "__main__":
    main()
