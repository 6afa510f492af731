"""Scale-out on PostgreSQL: a planner and two workers, one killed with SIGKILL mid-run.

The quick version of benchmarks/scale.py's kill phase, run by CI on its
throwaway PostgreSQL: nothing lost (no task left running, the killed worker's
tasks taken back and finished while the run goes on), nothing doubled (every
match applied once, ratings equal to a replay of the stored matches).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from coscientist.schemas import TaskState
from coscientist.store import Store
from coscientist.store.audit import audit
from tests.store_fixtures import PG_ENV, PG_URL, _postgres_schema_url

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.skipif(PG_URL is None, reason=f"{PG_ENV} is not set"),
]

CLI = Path(sys.executable).with_name("coscientist")
GOAL = "Explain why some bacteria survive antibiotics without resistance genes"


def _start(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(CLI), *args],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
    )


def test_a_killed_worker_loses_nothing_and_doubles_nothing(tmp_path: Path) -> None:
    assert PG_URL is not None
    schemas = _postgres_schema_url(PG_URL)
    url = next(schemas)
    env = {
        **os.environ,
        "COSCIENTIST_CONFIG": str(tmp_path / "none.toml"),
        "COSCIENTIST_LEASE_SECONDS": "3",  # dead owners' tasks come back within about 1 s
    }
    procs: list[subprocess.Popen[str]] = []
    try:
        worker_args = ["worker", "--db", url, "--concurrency", "6", "--idle-exit", "3"]
        victim = _start(worker_args, tmp_path / "victim.log", env)
        survivor = _start(worker_args, tmp_path / "survivor.log", env)
        procs += [victim, survivor]
        planner_log = tmp_path / "planner.log"
        planner = _start(
            [
                "run",
                GOAL,
                "--db",
                url,
                "--model",
                "scripted:latency=0.15",
                "--concurrency",
                "4",
                "--queue-depth",
                "24",
                "--max-calls",
                "360",
                "--seed",
                "4",
                "--no-tui",
            ],
            planner_log,
            env,
        )
        procs.append(planner)
        with Store.open(url) as store:
            held: list[str] = []
            deadline = time.monotonic() + 60
            while not held and time.monotonic() < deadline:
                time.sleep(0.2)
                sessions = store.list_sessions()
                if sessions:
                    running = store.list_tasks(sessions[0].id, states={TaskState.RUNNING})
                    mine = f":{victim.pid}:"
                    held = [t.id for t in running if t.lease_owner and mine in t.lease_owner]
            assert held, "the victim worker never held a task"
            victim.send_signal(signal.SIGKILL)
            victim.wait(timeout=10)
            assert planner.wait(timeout=180) == 0, planner_log.read_text()[-3000:]
            survivor.wait(timeout=60)
            (info,) = store.list_sessions()
            found = audit(store, info.id)
            assert found.intact, found
            assert found.matches > 10
            # The killed worker's tasks were taken back and run again while the session ran.
            states = {t.id: t.state for t in store.list_tasks(info.id) if t.id in held}
            assert TaskState.RUNNING not in states.values()
            assert TaskState.DONE in states.values(), states
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        next(schemas, None)  # drops the schema
