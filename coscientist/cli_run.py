"""What `run` and `resume` do once the session is open: run it, then say how it went
(and what a `worker` says of the tasks it ran).

The run is watched in the terminal UI or with progress lines; either way the
leaderboard and the next commands to type follow, and a fault that stopped the
run exits 1 after them.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import anyio

from coscientist.cli_errors import fail_run
from coscientist.cli_output import out, print_leaderboard, program_name
from coscientist.config import Limits
from coscientist.safe_text import printable


def drive(
    cs: Any, session: Any, limits: Limits, *, tui: bool, verbose: bool, db_given: bool
) -> None:
    calls_before = _calls(cs, session.id)
    error: str | None = None
    if tui:
        from coscientist.tui import run_tui

        run_tui(cs, session, limits)
        print_leaderboard(session.leaderboard(top=10), title="Top hypotheses")
    else:
        from coscientist.progress import run_with_progress

        summary = anyio.run(partial(run_with_progress, session, limits, out, verbose=verbose))
        cost = float(cs.store.call_stats(session.id).get("cost_usd", 0.0))
        out.print(
            f"stopped: {summary.stop_reason} after {summary.elapsed_s:.1f} s: "
            f"{summary.calls} model calls{f' ({cost:.4f} USD)' if cost else ''}, "
            f"{summary.hypotheses} hypotheses, {summary.matches} matches",
            highlight=False,
            markup=False,
        )
        print_leaderboard(session.leaderboard(top=10), title="Top hypotheses")
        error = summary.error
    _print_next_steps(cs, session, calls_before=calls_before, db_given=db_given)
    if error:  # a fault stopped the run (a bug, an unreachable model): say so, exit 1
        fail_run(error, session.id)


def _calls(cs: Any, session_id: str) -> int:
    return int(cs.store.call_stats(session_id).get("calls", 0))


def _print_next_steps(cs: Any, session: Any, *, calls_before: int, db_given: bool) -> None:
    from coscientist.run_status import next_steps
    from coscientist.session.research import DEFAULT_MAX_CALLS

    info = session.info
    calls = _calls(cs, info.id)
    steps = next_steps(
        program_name(),
        info.id,
        stop_reason=info.stop_reason or "stopped",
        calls=calls,
        limits=Limits(**info.limits),
        run_calls=calls - calls_before,
        db=cs.store.url_display if db_given else None,
        default_calls=DEFAULT_MAX_CALLS,
    )
    width = max(len(step.command) for step in steps)
    out.print("next:", style="bold")
    for step in steps:
        line = f"  {step.command:<{width}}  # {step.why}"  # a shell comment: pasting is safe
        out.print(line, highlight=False, markup=False, soft_wrap=True)


def run_worker_printing(cs: Any, idle_exit: float | None) -> None:
    """`worker`: a line when it starts, one per session it served, one when it is done."""
    from coscientist.scheduler.worker import SessionWork, run_worker

    def report(work: SessionWork) -> None:
        print(
            f"session {work.session_id}: {work.tasks_done} tasks done, "
            f"{work.tasks_failed} failed ({work.stop_reason})",
            flush=True,
        )

    print(f"worker on {printable(cs.store.url_display)}", flush=True)
    summary = anyio.run(partial(run_worker, cs, idle_exit=idle_exit, on_session=report))
    print(f"worker done: {summary.tasks_done} tasks done, {summary.tasks_failed} failed")
