"""The live terminal UI's cost to the run it shows: model slots kept busy with and without it.

A session is grown to N hypotheses on the zero-latency scripted model (the pool a long
session reaches: every reread of the store ranks all of it with the judge fit). Each phase
then resumes a copy of that store on a scripted model that holds each call for the latency
(plus jitter), with C slots, for a budget of more calls, and samples the calls in flight
every 50 ms:

- bare: `session.run` alone,
- tui: the same run inside the live TUI (RunApp, headless under Pilot, in this process),
- tui-nopause: the TUI with the pause between store reads off (every event asked for one;
  what the TUI did before the pause), to show what the pause buys.

Utilisation = mean calls in flight / C, over the middle 80 % of the samples (start-up and
drain left out); wall and process CPU cover the whole phase; `reloads` counts the TUI's
reads of the store.

python benchmarks/tui_live.py [--quick] [--hypotheses N] [--calls N] [--reps N]
The last line of output is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from machine import emit, isolate_environment, machine

MODES = ("bare", "tui", "tui-nopause")
GOAL = "Find mechanisms by which gut microbes modulate tumour immunity"


async def grow(db: Path, hypotheses: int, seed: int) -> tuple[str, int]:
    """A stored session of about `hypotheses` hypotheses; its id and the calls it made."""
    from coscientist.config import Limits, Settings
    from coscientist.session import CoScientist

    settings = Settings(db=f"sqlite:///{db}", model="scripted", seed=seed, concurrency=8)
    with CoScientist(settings) as cs:
        session = cs.start(GOAL)
        limits = Limits(
            max_hypotheses=hypotheses,
            max_calls=9 * hypotheses,
            convergence_window=10**9,
            stop_min_gain=0,
        )
        summary = await session.run(limits)
        return session.id, summary.calls


async def phase(
    mode: str, source: Path, session_id: str, grown_calls: int, args: argparse.Namespace, rep: int
) -> dict[str, Any]:
    from coscientist.config import Limits, Settings
    from coscientist.llm.scripted import ScriptedBackend
    from coscientist.session import CoScientist
    from coscientist.tui import session_screen
    from coscientist.tui.app import RunApp

    db = source.with_name(f"{mode}-{rep}.db")
    shutil.copy(source, db)
    backend = ScriptedBackend(seed=rep, latency=args.latency, jitter=args.latency / 4)
    settings = Settings(
        db=f"sqlite:///{db}", model="scripted", concurrency=args.concurrency, seed=rep
    )
    pause, load = session_screen.reload_pause, session_screen.load_snapshot
    reloads = 0

    def counted(*a: Any, **k: Any) -> Any:
        nonlocal reloads
        reloads += 1
        return load(*a, **k)

    session_screen.load_snapshot = counted
    if mode == "tui-nopause":
        session_screen.reload_pause = lambda seconds: 0.0
    samples: list[int] = []
    done = asyncio.Event()

    async def sample() -> None:
        while not done.is_set():
            samples.append(backend.in_flight)
            await asyncio.sleep(0.05)

    try:
        with CoScientist(settings, backend=backend) as cs:
            session = cs.session(session_id)
            limits = Limits(
                max_calls=grown_calls + args.calls, convergence_window=10**9, stop_min_gain=0
            )
            wall, cpu = time.perf_counter(), time.process_time()
            sampler = asyncio.ensure_future(sample())
            if mode == "bare":
                summary = await session.run(limits)
            else:
                app = RunApp(session, limits)
                async with app.run_test(size=(120, 40)) as pilot:
                    live = app.live
                    while live.summary is None and live.error is None:  # noqa: ASYNC110 (a worker)
                        await asyncio.sleep(0.1)
                    summary = live.summary
                    await pilot.press("q")
            done.set()
            await sampler
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        session_screen.reload_pause, session_screen.load_snapshot = pause, load
    if summary is None:
        raise RuntimeError(f"{mode}: the run failed")
    steady = samples[len(samples) // 10 : len(samples) - len(samples) // 10]
    return {
        "mode": mode,
        "rep": rep,
        "utilisation": round(statistics.mean(steady) / args.concurrency, 3),
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "calls": summary.calls - grown_calls,
        "tasks_failed": summary.tasks_failed,
        "reloads": reloads,
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    info = machine()
    with tempfile.TemporaryDirectory() as tmp:
        isolate_environment(Path(tmp))
        source = Path(tmp) / "grown.db"
        started = time.perf_counter()
        session_id, grown_calls = await grow(source, args.hypotheses, seed=1)
        grow_s = time.perf_counter() - started
        runs = [
            await phase(mode, source, session_id, grown_calls, args, rep)
            for rep in range(args.reps)
            for mode in MODES
        ]
    summary = {
        mode: {
            "utilisation_mean": round(statistics.mean(r["utilisation"] for r in rows), 3),
            "wall_s_mean": round(statistics.mean(r["wall_s"] for r in rows), 2),
            "cpu_s_mean": round(statistics.mean(r["cpu_s"] for r in rows), 2),
            "reloads_mean": round(statistics.mean(r["reloads"] for r in rows), 1),
        }
        for mode in MODES
        for rows in [[r for r in runs if r["mode"] == mode]]
    }
    return {
        "benchmark": "tui_live",
        "quick": args.quick,
        "hypotheses": args.hypotheses,
        "concurrency": args.concurrency,
        "latency_s": args.latency,
        "calls_per_phase": args.calls,
        "grow_s": round(grow_s, 1),
        "by_mode": summary,
        "tui_vs_bare": round(
            summary["tui"]["utilisation_mean"] / summary["bare"]["utilisation_mean"], 3
        ),
        "runs": runs,
        "machine": info,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small pool, one repetition")
    parser.add_argument("--hypotheses", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--reps", type=int, default=2)
    args = parser.parse_args()
    if args.quick:
        args.hypotheses, args.calls, args.reps = 60, 120, 1
    emit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
