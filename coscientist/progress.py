"""What a user sees while a run goes on without the TUI, and while a slow step works.

On a terminal: a live block with a bar toward the stop rule that binds first,
calls per second, elapsed time, an estimate of the time left, the counts of
what happened and the current best hypothesis. Elsewhere (CI, a pipe): one
plain status line every few seconds. Event lines are printed with `verbose`.
The numbers come from run_status.py, which the TUI uses too.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import anyio
import anyio.lowlevel
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from coscientist.config import Limits
from coscientist.run_status import (
    ProgressMeter,
    ProgressView,
    RunProgress,
    duration,
    one_line,
    plain_status,
)
from coscientist.schemas import Event, LeaderboardEntry

if TYPE_CHECKING:
    from coscientist.scheduler import RunSummary

REFRESH_SECONDS = 0.25  # the live block on a terminal
STATUS_SECONDS = 5.0  # the plain status line elsewhere
DRAIN_SECONDS = 2.0  # at most this long to show the events a finished run left in the queue
BAR_WIDTH = 30
COUNTED = {
    "review": "reviews",
    "match": "matches",
    "meta_review": "meta-reviews",
    "graph": "graph steps",
    "task_failed": "failed",
}
NOTICES = ("task_failed", "reclaimed", "meta_review", "literature", "status", "embedding")


@contextmanager
def status(console: Console, what: str, *, quiet_below: float | None = None) -> Iterator[None]:
    """Say that a slow step is under way, then how long it took (or that it failed).

        with status(err, "checking the model endpoint"):
            ...

    On a terminal a spinner shows while the step runs; elsewhere a line is printed
    before it starts. With `quiet_below`, a step faster than that many seconds
    prints nothing that outlives it (for steps that are only slow on large sessions).
    """
    started = time.perf_counter()
    terminal = console.is_terminal
    if not terminal and quiet_below is None:
        console.print(f"{what}…", highlight=False, markup=False)
    try:
        if terminal:
            with console.status(f"{what}…"):
                yield
        else:
            yield
    except BaseException:
        took = time.perf_counter() - started
        if quiet_below is None or took >= quiet_below:  # a quick failure: its error says it all
            console.print(f"{what}: failed after {took:.1f} s", highlight=False, markup=False)
        raise
    took = time.perf_counter() - started
    if quiet_below is None or took >= quiet_below:
        console.print(f"{what}: done in {took:.1f} s", highlight=False, markup=False)


class RunDisplay:
    """Counts events and renders the run's state; knows nothing of where the output goes."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.titles: dict[str, str] = {}  # from this run's hypothesis events
        self.last = ""
        self.state = "starting the run"
        self.started = False
        self.meter = ProgressMeter()
        self.view: ProgressView | None = None
        self.finished = False
        self._spinner = Spinner("dots", style="cyan")  # one instance, so it keeps turning

    def observe(self, event: Event) -> str | None:
        """Take an event in; returns its one-line description."""
        self.counts[event.kind] += 1
        if event.kind == "hypothesis" and event.data.get("id"):
            self.titles[str(event.data["id"])] = event.message
        if event.kind == "run_started":
            self.started = True
            self.state = "running"
        elif event.kind == "status":  # a slow step: under way, or done (with its seconds)
            done = event.data.get("seconds") is not None
            self.state = "starting the run" if done else event.message
        line = describe(event, self.titles)
        if line is not None and event.kind != "status":
            self.last = line
        return line

    def sample(self, session: Any) -> None:
        snapshot = session.progress() if self.started else None
        if snapshot is not None:
            self.view = self.meter.update(snapshot)

    def finish(self, summary: RunSummary, limits: Limits, best: LeaderboardEntry | None) -> None:
        """The last frame: the counts the store confirmed, the rate over the whole run."""
        final = RunProgress(
            calls=summary.calls,
            tokens=summary.tokens_in + summary.tokens_out,
            hypotheses=summary.hypotheses,
            limits=limits,
            elapsed_s=summary.elapsed_s,
            best_title=best.title if best is not None else None,
            best_elo=best.elo if best is not None else None,
        )
        self.view = self.meter.update(final, whole_run=True)
        self.state = f"stopped: {summary.stop_reason}"
        self.finished = True

    def tally(self) -> dict[str, int]:
        return {label: self.counts[kind] for kind, label in COUNTED.items()}

    def plain(self) -> str:
        if self.view is None:
            return f"{self.state}…"
        return plain_status(self.view, self.tally())

    def live(self) -> RenderableType:
        grid = Table.grid(padding=(0, 1))
        grid.add_row(*self._bar_row())
        lines: list[RenderableType] = [grid, self._counts_line()]
        best = self.view.best_label() if self.view is not None else None
        if best is not None:
            lines.append(Text.assemble(("best ", "bold"), best))
        if self.last and not self.finished:
            lines.append(Text(one_line(self.last, 150), style="dim"))
        return Group(*lines)

    def _bar_row(self) -> list[RenderableType]:
        view = self.view
        mark: RenderableType = Text("■", style="bold") if self.finished else self._spinner
        if view is None:
            return [mark, Text(f"{self.state}…")]
        rule = view.binding
        elapsed = view.progress.elapsed_s
        label = Text(rule.label() if rule is not None else "no budget", style="bold")
        bar = ProgressBar(
            total=None if rule is None else 1.0,
            completed=0.0 if rule is None else rule.fraction,
            width=BAR_WIDTH,
        )
        parts = [f"{rule.fraction:>4.0%}" if rule is not None else ""]
        parts += [view.rate_label()]
        if elapsed is not None:
            parts.append(f"{duration(elapsed)} elapsed")
        parts.append(self.state if self.finished else view.eta_label())
        return [mark, label, bar, Text("  ".join(p for p in parts if p))]

    def _counts_line(self) -> Text:
        text = Text()
        hyps = (
            self.view.hypotheses_label()
            if self.view is not None
            else str(self.counts["hypothesis"])
        )
        text.append(f"hypotheses {hyps}  ", style="bold")
        for label, n in self.tally().items():
            style = "red" if label == "failed" and n else ""
            text.append(f"{label} {n}  ", style=style)
        text.rstrip()
        return text


def describe(event: Event, titles: Mapping[str, str]) -> str | None:
    """One line for an event, or None for bookkeeping not worth a line."""
    kind, data = event.kind, event.data

    def name(key: str) -> str:
        hid = str(data.get(key))
        return one_line(titles.get(hid, hid), 50)

    if kind in ("task_started", "task_done", "run_started", "stop"):
        return None
    if kind == "hypothesis":
        return f"+ new hypothesis ({data.get('origin')}): {one_line(event.message, 150)}"
    if kind == "review":
        verdict = "passed" if data.get("passed", True) else "failed"
        return f"  {event.message} of {name('id')}: {verdict}"
    if kind == "match":
        loser = "second" if data.get("winner") == data.get("first") else "first"
        return f"  match: {name('winner')} beat {name(loser)} ({data.get('mode', 'single')})"
    if kind == "task_failed":
        return f"! {data.get('kind', 'task')} failed: {one_line(event.message, 200)}"
    return f"* {one_line(event.message or kind, 200)}"


async def run_with_progress(
    session: Any,
    limits: Limits,
    console: Console,
    *,
    verbose: bool = False,
    status_seconds: float = STATUS_SECONDS,
) -> RunSummary:
    """Run the session while showing how far it is (see the module's docstring)."""
    display = RunDisplay()
    display.titles.update({h.id: h.title for h in session.hypotheses()})  # a resumed run's
    summary: RunSummary | None = None
    terminal = console.is_terminal

    def show(event: Event) -> None:
        line = display.observe(event)
        if line is not None and (verbose or event.kind in NOTICES):
            console.print(line, highlight=False, markup=False, soft_wrap=True)

    drained = anyio.Event()

    async def consume() -> None:
        async for event in session.events():
            show(event)
            if event.kind == "stop":  # the run's last event: everything before it is shown
                drained.set()

    async def refresh(live: Live) -> None:
        while True:
            display.sample(session)
            live.update(display.live())
            await anyio.sleep(REFRESH_SECONDS)

    async def report() -> None:
        # Sampled as often as the live block is, so the first line already has a rate.
        next_line = anyio.current_time() + status_seconds
        while True:
            await anyio.sleep(min(REFRESH_SECONDS, status_seconds))
            display.sample(session)
            if anyio.current_time() >= next_line:
                next_line += status_seconds
                console.print(display.plain(), highlight=False, markup=False, soft_wrap=True)

    async def stop_on_signal() -> None:
        # Ctrl-C or SIGTERM: stop cleanly (running tasks go back to pending); a second one
        # falls through to the default handler.
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for signum in signals:
                console.print(
                    f"{signal.Signals(signum).name}: stopping cleanly; `coscientist resume` continues",
                    highlight=False,
                    markup=False,
                )
                session.stop(f"interrupted ({signal.Signals(signum).name})")
                signal.signal(signum, signal.SIG_DFL)
                return

    async def main(live: Live | None) -> None:
        nonlocal summary
        async with anyio.create_task_group() as tg:
            tg.start_soon(consume)
            tg.start_soon(stop_on_signal)
            if live is not None:
                tg.start_soon(refresh, live)
            else:
                tg.start_soon(report)
            await anyio.lowlevel.checkpoint()  # subscribe before the run publishes
            done = await session.run(limits)
            with anyio.move_on_after(DRAIN_SECONDS):
                await drained.wait()
            tg.cancel_scope.cancel()
        # the best tested one: an untested child may lead the board on its parents' strength
        best = next((e for e in session.leaderboard() if e.matches), None)
        display.finish(done, Limits(**session.info.limits), best)
        summary = done

    if terminal:
        with Live(display.live(), console=console, refresh_per_second=8) as live:
            await main(live)
            live.update(display.live())
    else:
        await main(None)
    assert summary is not None
    return summary
