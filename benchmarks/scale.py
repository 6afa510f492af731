"""Scale-out on PostgreSQL: one process against a planner and three `coscientist worker`s.

Every process is a real `coscientist` command on one PostgreSQL store, against
the OpenAI-compatible simulator (benchmarks/simulator.py) in its own process,
with `--capacity` slots at `--latency` s. Three phases, one fresh session each:

1. one: `coscientist run --concurrency C` alone;
2. four: `coscientist run --concurrency C --queue-depth Q` and three workers at C;
3. kill: as four, and one worker is killed with SIGKILL `--kill-after` s in.

Throughput is read from the simulator, polled every 0.25 s: the steady-state
rate is the slope of completed calls between 10% and 90% of the phase's total
(start-up and tail excluded); the whole-phase rate is given beside it. After the
kill phase the store is checked: no task left running, every match applied once
(distinct ids, seqs 1..n, one match per task), the stored ratings equal to a
replay of the stored matches, and the killed worker's tasks taken back while
the run went on.

PostgreSQL: `--pg-url URL`, else $COSCIENTIST_TEST_POSTGRES_URL, else a
throwaway cluster from Debian's package (needs root; started and removed here).

python benchmarks/scale.py [--quick] [--pg-url URL] [--latency 2] [--capacity 256]
The last line of output is one JSON object.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from machine import emit, isolate_environment, load, machine
from simulator import SimulatorProcess

GOAL = "Find mechanisms by which gut microbes modulate tumour immunity"
TARGET_RATIO = 3.6
CLI = Path(sys.executable).with_name("coscientist")


@contextmanager
def throwaway_postgres(tmp: Path, port: int = 55439) -> Iterator[str]:
    """A PostgreSQL cluster of its own on 127.0.0.1, removed afterwards."""
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    if not bins or os.geteuid() != 0:
        raise SystemExit("no PostgreSQL: pass --pg-url or set COSCIENTIST_TEST_POSTGRES_URL")
    bin_dir = bins[-1]
    data = tmp / "pg"
    data.mkdir()
    shutil.chown(data, "postgres")
    shutil.chown(tmp, "postgres")

    def as_postgres(command: str) -> None:
        subprocess.run(["su", "postgres", "-c", command], check=True, capture_output=True)

    as_postgres(f"{bin_dir}/initdb -D {data}/db -A trust -U postgres")
    options = f"-k {data} -p {port} -c listen_addresses=127.0.0.1 -c max_connections=300"
    as_postgres(f"{bin_dir}/pg_ctl -D {data}/db -o '{options}' -l {data}/log -w start")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        as_postgres(f"{bin_dir}/pg_ctl -D {data}/db -m fast stop")


def start(args: list[str], log: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(CLI), *args],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def session_id_from(log: Path) -> str:
    for line in log.read_text().splitlines():
        if line.startswith("session "):
            return line.split()[1]
    raise RuntimeError(f"no session id in {log}:\n{log.read_text()[-2000:]}")


def steady_rate(samples: list[tuple[float, int]]) -> float:
    """Calls per second between 10% and 90% of the phase's completed calls."""
    total = samples[-1][1] - samples[0][1]
    if total <= 0:
        return 0.0
    base = samples[0][1]
    lo = next(s for s in samples if s[1] - base >= 0.1 * total)
    hi = next(s for s in samples if s[1] - base >= 0.9 * total)
    return (hi[1] - lo[1]) / (hi[0] - lo[0]) if hi[0] > lo[0] else 0.0


def run_phase(
    name: str,
    *,
    url: str,
    sim: SimulatorProcess,
    workers: int,
    concurrency: int,
    queue_depth: int,
    max_calls: int,
    seed: int,
    tmp: Path,
    kill_after: float | None = None,
) -> dict[str, Any]:
    sim.reset()
    common = ["--db", url]
    procs: list[subprocess.Popen[str]] = []
    for i in range(workers):
        args = ["worker", *common, "--concurrency", str(concurrency), "--idle-exit", "10"]
        procs.append(start(args, tmp / f"{name}-worker{i}.log"))
    planner_log = tmp / f"{name}-planner.log"
    run_args = [
        "run",
        GOAL,
        *common,
        "--model",
        "openai-compatible",
        "--base-url",
        sim.url,
        "--concurrency",
        str(concurrency),
        "--max-calls",
        str(max_calls),
        "--seed",
        str(seed),
        "--no-tui",
    ]
    if queue_depth:
        run_args += ["--queue-depth", str(queue_depth)]
    started = time.perf_counter()
    planner = start(run_args, planner_log)
    samples: list[tuple[float, int]] = []
    killed: int | None = None
    killed_at: float | None = None
    while planner.poll() is None:
        now = time.perf_counter() - started
        samples.append((now, int(sim.stats()["completed"])))
        if kill_after is not None and killed is None and now >= kill_after and procs:
            killed = procs[0].pid
            os.kill(killed, signal.SIGKILL)
            killed_at = now
        time.sleep(0.25)
    wall = time.perf_counter() - started
    samples.append((wall, int(sim.stats()["completed"])))
    for proc in procs:
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
    if planner.returncode != 0:
        raise RuntimeError(f"{name}: the planner failed:\n{planner_log.read_text()[-3000:]}")
    completed = samples[-1][1] - samples[0][1]
    return {
        "phase": name,
        "processes": 1 + workers,
        "session_id": session_id_from(planner_log),
        "calls_completed": completed,
        "wall_s": round(wall, 2),
        "calls_per_s_whole": round(completed / wall, 2),
        "calls_per_s_steady": round(steady_rate(samples), 2),
        "killed_pid": killed,
        "killed_at_s": None if killed_at is None else round(killed_at, 2),
        "load_after": load(),
    }


def check_store(url: str, session_id: str) -> dict[str, Any]:
    """Nothing lost, nothing doubled: the invariants a killed worker must not break."""
    from coscientist.schemas import TaskState
    from coscientist.store import Store
    from coscientist.store.audit import audit

    with Store.open(url) as store:
        found = audit(store, session_id)
        failed = store.list_tasks(session_id, states={TaskState.FAILED, TaskState.DEAD})
    errors = Counter((t.error or "").splitlines()[0][:160] for t in failed if t.error)
    return {**found.model_dump(), "intact": found.intact, "errors": errors.most_common(5)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="0.5 s latency, fewer calls")
    parser.add_argument("--pg-url", default=None)
    parser.add_argument("--latency", type=float, default=None)
    parser.add_argument("--capacity", type=int, default=256)
    parser.add_argument("--concurrency", type=int, default=64, help="in flight per process")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--calls", type=int, default=None, help="calls of the one-process phase")
    parser.add_argument("--kill-after", type=float, default=None)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    latency = args.latency or (0.5 if args.quick else 2.0)
    calls = args.calls or (300 if args.quick else 1000)
    four_calls = calls * (1 + args.workers)
    info = machine()
    url = args.pg_url or os.environ.get("COSCIENTIST_TEST_POSTGRES_URL")
    with tempfile.TemporaryDirectory(prefix="cosci-scale-") as name:
        tmp = Path(name)
        isolate_environment(tmp)
        with (
            throwaway_postgres(tmp) if url is None else nullcontext_url(url) as pg,
            SimulatorProcess(
                capacity=args.capacity, latency=latency, jitter=latency / 10, seed=args.seed
            ) as sim,
        ):
            common = dict(url=pg, sim=sim, concurrency=args.concurrency, seed=args.seed, tmp=tmp)
            one = run_phase("one", workers=0, queue_depth=0, max_calls=calls, **common)  # type: ignore[arg-type]
            four = run_phase(
                "four",
                workers=args.workers,
                queue_depth=args.capacity,
                max_calls=four_calls,
                **common,  # type: ignore[arg-type]
            )
            kill_after = args.kill_after or max(3.0, four["wall_s"] / 3)
            kill = run_phase(
                "kill",
                workers=args.workers,
                queue_depth=args.capacity,
                max_calls=four_calls,
                kill_after=kill_after,
                **common,  # type: ignore[arg-type]
            )
            kill["store"] = check_store(pg, kill["session_id"])
    ratio = (
        four["calls_per_s_steady"] / one["calls_per_s_steady"] if one["calls_per_s_steady"] else 0
    )
    intact = bool(kill["store"]["intact"])
    result = {
        "benchmark": "scale",
        "machine": info,
        "latency_s": latency,
        "capacity": args.capacity,
        "per_process": args.concurrency,
        "phases": [one, four, kill],
        "ratio_four_to_one": round(ratio, 3),
        "slots_used_four": round(four["calls_per_s_steady"] * latency / args.capacity, 3),
        "target_ratio": TARGET_RATIO,
        "kill_intact": intact,
        "load_after": load(),
    }
    emit(result)
    if args.check and (ratio < TARGET_RATIO or not intact):
        sys.exit(1)


@contextmanager
def nullcontext_url(url: str) -> Iterator[str]:
    yield url


if __name__ == "__main__":
    main()
