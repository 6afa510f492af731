"""Orchestrator overhead: what a task costs us when the model costs nothing.

The scripted model answers with zero latency; the store is SQLite (WAL) in a
temp dir. For each size N the store is seeded with N reviewed hypotheses
through the Store API, a session runs, and the time between the `warmup`-th and
the last finished task gives the time per task: wall time and CPU time of the
whole process (the store's worker thread included). The scripted backend's own
cost is measured apart, by replaying the run's requests through a fresh
backend, and subtracted, so the orchestrator's share (scheduling, prompt
rendering, validation, store commits) stands alone.

Also: PairingPolicy.choose at 10,000 hypotheses (through SessionState, with its
proximity neighbours), and peak RSS. Targets: < 2 ms per task, < 1 ms per pair
choice at 10,000, < 500 MB.

python benchmarks/overhead.py [--quick] [--sizes 100 1000 10000] [--tasks 1000] [--profile]
The last line of output is one JSON object.
"""

from __future__ import annotations

import argparse
import cProfile
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import anyio
import numpy as np
from anyio.streams.memory import MemoryObjectReceiveStream
from machine import emit, isolate_environment, machine, peak_rss_mib
from profiling import summarise

from coscientist.events import EventBus
from coscientist.schemas import Event

GOAL = "Find mechanisms by which gut microbes modulate tumour immunity"
TARGET_TASK_MS = 2.0
TARGET_PAIR_MS = 1.0
TARGET_RSS_MIB = 500.0
_WORDS = (
    "butyrate propionate microbiota dendritic checkpoint interferon macrophage lymphocyte "
    "metabolite bacteroides akkermansia bifidobacterium antigen mucosal barrier cytokine "
    "tryptophan inflammasome neoantigen exhaustion fibre fermentation bile acid receptor"
).split()


def seeded_hypotheses(session_id: str, n: int, seed: int) -> list[Any]:
    """N distinct, reviewed hypotheses with goal-like text (ids and text from the seed)."""
    from coscientist.llm.synthetic import phrase
    from coscientist.schemas import Hypothesis

    rng = random.Random(seed)
    out = []
    for i in range(n):
        words = rng.sample(_WORDS, 8)
        out.append(
            Hypothesis(
                id=uuid.UUID(int=rng.getrandbits(128), version=4).hex[:12],
                session_id=session_id,
                title=f"Seed {i}: " + " ".join(words[:3]),
                statement=phrase(rng, words),
                rationale=phrase(rng, words),
                origin="generation:seed",
                reviewed=True,
            )
        )
    return out


async def run_size(
    n: int, tasks: int, warmup: int, concurrency: int, seed: int, tmp: Path, profile: bool
) -> dict[str, Any]:
    from coscientist.config import Limits, Settings
    from coscientist.llm.scripted import ScriptedBackend
    from coscientist.session import CoScientist

    backend = ScriptedBackend(seed=seed, keep_requests=4 * (tasks + warmup) + 100)
    settings = Settings(
        db=f"sqlite:///{tmp / f'overhead-{n}.db'}",
        model="scripted",
        concurrency=concurrency,
        seed=seed,
    )
    with CoScientist(settings, backend=backend) as cs:
        session = cs.start(GOAL)
        session.bus = EventBus(buffer=0)  # unbounded: the watcher must see every task_done
        started = time.perf_counter()
        hyps = seeded_hypotheses(session.id, n, seed)
        for at in range(0, n, 2000):
            cs.store.add_hypotheses(hyps[at : at + 2000])
        seeding_s = time.perf_counter() - started
        marks: dict[str, tuple[float, float, float]] = {}
        done = 0
        profiler = cProfile.Profile() if profile else None

        def mark(name: str) -> None:
            marks[name] = (time.perf_counter(), time.process_time(), time.thread_time())

        async def watch(events: MemoryObjectReceiveStream[Event]) -> None:
            nonlocal done
            async for event in events:
                if event.kind == "run_started":
                    mark("run_started")
                elif event.kind == "task_done":
                    done += 1
                    if done == warmup:
                        mark("first")
                        if profiler is not None:
                            profiler.enable()
                    elif done == warmup + tasks:
                        if profiler is not None:
                            profiler.disable()
                        mark("last")
                        session.stop()
                elif event.kind == "stop":
                    return

        mark("run")
        # Subscribed before the run starts, so no event is missed.
        async with session.bus.subscribe() as stream, anyio.create_task_group() as tg:
            tg.start_soon(watch, stream)
            summary = await session.run(
                Limits(max_calls=4 * (tasks + warmup), convergence_window=10**9)
            )
        if "last" not in marks:
            raise RuntimeError(f"the session stopped early ({summary.stop_reason}) at {done} tasks")
    (w0, c0, m0), (w1, c1, m1) = marks["first"], marks["last"]
    per_task = {
        "wall_ms": (w1 - w0) / tasks * 1000,
        "cpu_ms": (c1 - c0) / tasks * 1000,
        "event_loop_cpu_ms": (m1 - m0) / tasks * 1000,
    }
    calls_per_task = summary.calls / max(summary.tasks_done, 1)
    backend_ms = await backend_cost(backend.requests, seed)
    orchestrator = per_task["cpu_ms"] - backend_ms * calls_per_task
    result: dict[str, Any] = {
        "hypotheses": n,
        "tasks_measured": tasks,
        "concurrency": concurrency,
        "seeding_s": round(seeding_s, 3),
        "startup_s": round(marks["run_started"][0] - marks["run"][0], 3),
        "per_task_wall_ms": round(per_task["wall_ms"], 3),
        "per_task_cpu_ms": round(per_task["cpu_ms"], 3),
        "per_task_event_loop_cpu_ms": round(per_task["event_loop_cpu_ms"], 3),
        "per_task_other_threads_cpu_ms": round(
            per_task["cpu_ms"] - per_task["event_loop_cpu_ms"], 3
        ),
        "calls_per_task": round(calls_per_task, 3),
        "scripted_backend_ms_per_call": round(backend_ms, 3),
        "orchestrator_cpu_ms_per_task": round(orchestrator, 3),
        "peak_rss_mib_so_far": peak_rss_mib(),
        "events_dropped": session.bus.dropped,
        "run": {
            "tasks_done": summary.tasks_done,
            "tasks_failed": summary.tasks_failed,
            "calls": summary.calls,
            "matches": summary.matches,
            "stop_reason": summary.stop_reason,
        },
    }
    if profiler is not None:
        result["profile"] = summarise(profiler)
    return result


async def backend_cost(requests: list[Any], seed: int) -> float:
    """CPU ms per call of the scripted backend alone, replaying the run's requests."""
    from coscientist.llm.scripted import ScriptedBackend

    replay = ScriptedBackend(seed=seed, keep_requests=len(requests) + 1)
    sample = requests[-2000:]
    if not sample:
        return 0.0
    started = time.process_time()
    for request in sample:
        await replay.generate(request)
    return (time.process_time() - started) / len(sample) * 1000


def pair_choice(n: int, choices: int, seed: int) -> dict[str, Any]:
    """PairingPolicy.choose as the policy calls it, at n rankable hypotheses.

    The proximity index gets seeded random unit vectors instead of text embeddings
    (building 10,000 embeddings takes seconds and changes nothing for the lookup).
    """
    from coscientist.proximity import ProximityIndex
    from coscientist.scheduler.state import SessionState
    from coscientist.schemas import Rating

    rng = random.Random(seed)
    vectors = np.random.default_rng(seed)
    index = ProximityIndex(embedder=lambda _text: vectors.standard_normal(512).astype(np.float32))
    state = SessionState(rng=rng, proximity=index)
    for h in seeded_hypotheses("bench", n, seed):
        mu, sigma = rng.gauss(25.0, 3.0), rng.uniform(1.5, 8.3)
        state.add_hypothesis(h, Rating(hypothesis_id=h.id, mu=mu, sigma=sigma, matches=4))
    from coscientist.scheduler.loop import one_blas_thread

    policy = state.policy
    busy = list(state.policy_members)[:16]  # hypotheses in matches still running
    times = []
    with one_blas_thread():  # as during a run
        for _ in range(choices):
            started = time.perf_counter()
            pair = policy.choose(exclude=busy)
            assert pair is not None
            policy.record(*pair)
            times.append(time.perf_counter() - started)
    times.sort()
    return {
        "hypotheses": n,
        "choices": choices,
        "median_ms": round(statistics.median(times) * 1000, 4),
        "p90_ms": round(times[int(0.9 * len(times))] * 1000, 4),
        "mean_ms": round(statistics.fmean(times) * 1000, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="sizes 100 and 1,000, 150 tasks")
    parser.add_argument("--sizes", type=int, nargs="*", default=None)
    parser.add_argument("--tasks", type=int, default=None, help="tasks measured per size")
    parser.add_argument("--warmup", type=int, default=30, help="tasks run before measuring")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--pair-hypotheses", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="cProfile the measured tasks")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    sizes = args.sizes or ([100, 1000] if args.quick else [100, 1000, 10_000])
    tasks = args.tasks or (150 if args.quick else 1000)
    info = machine()

    async def _main(tmp: Path) -> list[dict[str, Any]]:
        import coscientist.scheduler.loop  # noqa: F401  (import time is not part of any figure)

        return [
            await run_size(n, tasks, args.warmup, args.concurrency, args.seed, tmp, args.profile)
            for n in sizes
        ]

    with tempfile.TemporaryDirectory(prefix="cosci-overhead-") as name:
        isolate_environment(Path(name))
        runs = anyio.run(_main, Path(name))
    pairs = pair_choice(args.pair_hypotheses, 500 if args.quick else 2000, args.seed)
    rss = peak_rss_mib()
    largest = runs[-1]
    targets = {
        "task_lt_2ms": largest["orchestrator_cpu_ms_per_task"] < TARGET_TASK_MS,
        "pair_lt_1ms": pairs["median_ms"] < TARGET_PAIR_MS,
        "rss_lt_500mib": rss < TARGET_RSS_MIB,
    }
    emit(
        {
            "benchmark": "overhead",
            "quick": args.quick,
            "targets": {
                "orchestrator_ms_per_task": TARGET_TASK_MS,
                "pair_choice_ms": TARGET_PAIR_MS,
                "peak_rss_mib": TARGET_RSS_MIB,
            },
            "met": targets,
            "all_targets_met": all(targets.values()),
            "sizes": runs,
            "pair_choice": pairs,
            "peak_rss_mib": rss,
            "machine": info,
        }
    )
    if args.check and not all(targets.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
