"""Latency of the store's hot calls on a SQLite WAL file (or any URL); prints JSON.

python benchmarks/store_latency.py [--url URL] [--n 300] [--leaderboard 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from coscientist.schemas import (
    Hypothesis,
    MatchVerdict,
    SessionInfo,
    TaskKind,
    TaskResult,
    TaskSpec,
    new_id,
)
from coscientist.store import Store

Sample = tuple[float, float]  # wall seconds, CPU seconds of this thread


def _ms(samples: list[Sample]) -> dict[str, float]:
    """Median and p90 wall time, and median CPU time (the honest figure on a busy machine)."""
    wall = sorted(w for w, _ in samples)
    return {
        "median_ms": round(statistics.median(wall) * 1000, 3),
        "p90_ms": round(wall[int(len(wall) * 0.9)] * 1000, 3),
        "median_cpu_ms": round(statistics.median(c for _, c in samples) * 1000, 3),
    }


def _timed(fn: Callable[[], Any]) -> Sample:
    wall, cpu = time.perf_counter(), time.thread_time()
    fn()
    return time.perf_counter() - wall, time.thread_time() - cpu


def _complete(store: Store, session_id: str, result: TaskResult) -> Sample:
    """Seconds to complete a freshly claimed task with `result`."""
    task_id = store.claim(session_id, "bench")[0].id
    return _timed(lambda: store.complete_task(task_id, "bench", result))


def _hypothesis(session_id: str, i: int) -> Hypothesis:
    return Hypothesis(
        id=new_id(),
        session_id=session_id,
        title=f"hypothesis {i}",
        statement="A testable statement of moderate length. " * 5,
        rationale="Because. " * 20,
        predictions=["p1", "p2"],
        origin="bench",
    )


def run(url: str, n: int, board: int) -> dict[str, Any]:
    store = Store.open(url)
    session = store.create_session(SessionInfo(id=new_id(), goal="bench", model_spec="scripted"))
    sid = session.id
    pool = [_hypothesis(sid, i) for i in range(20)]
    store.add_hypotheses(pool)
    store.enqueue(sid, [TaskSpec(kind=TaskKind.MATCH) for _ in range(3 * n)])
    claim: list[Sample] = []
    with_h: list[Sample] = []
    with_m: list[Sample] = []
    for i in range(n):
        claim.append(_timed(lambda: store.claim(sid, "bench", limit=1)))
        with_h.append(_complete(store, sid, TaskResult(hypotheses=[_hypothesis(sid, 100 + i)])))
        a, b = pool[i % 20], pool[(i + 7) % 20]
        verdict = MatchVerdict(first_id=a.id, second_id=b.id, winner_id=a.id)
        with_m.append(_complete(store, sid, TaskResult(matches=[verdict])))
    big = store.create_session(SessionInfo(id=new_id(), goal="board", model_spec="scripted"))
    store.add_hypotheses([_hypothesis(big.id, i) for i in range(board)])
    boards = [_timed(lambda: store.leaderboard(big.id)) for _ in range(5)]
    tops = [_timed(lambda: store.leaderboard(big.id, top=50)) for _ in range(20)]
    store.close()
    return {
        "url": store.url_display,
        "load_average_1m": os.getloadavg()[0],
        "n": n,
        "claim": _ms(claim),
        "complete_task_1_hypothesis": _ms(with_h),
        "complete_task_1_match": _ms(with_m),
        f"leaderboard_{board}": _ms(boards),
        f"leaderboard_{board}_top50": _ms(tops),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url")
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--leaderboard", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        print(json.dumps(run(url, args.n, args.leaderboard), indent=2))


if __name__ == "__main__":
    main()
