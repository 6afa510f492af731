"""Live progress of a run on the terminal (rich), fed by the session's event stream."""

from __future__ import annotations

import signal
from collections import Counter
from typing import TYPE_CHECKING, Any

import anyio
import anyio.lowlevel
from rich.console import Console
from rich.live import Live
from rich.text import Text

from coscientist.config import Limits
from coscientist.safe_text import one_line

if TYPE_CHECKING:
    from coscientist.scheduler import RunSummary


def _line(counts: Counter[str], last: str) -> Text:
    text = Text()
    text.append(f"hypotheses {counts['hypothesis']}  ", style="bold")
    text.append(f"reviews {counts['review']}  matches {counts['match']}  ")
    text.append(f"meta-reviews {counts['meta_review']}  graph steps {counts['graph']}  ")
    text.append(f"failed {counts['task_failed']}", style="red" if counts["task_failed"] else "")
    if last:
        text.append(f"\n{last[:150]}", style="dim")
    return text


async def run_with_progress(session: Any, limits: Limits, console: Console) -> RunSummary:
    """Run the session while a one-line status and notable events scroll above it."""
    counts: Counter[str] = Counter()
    summary: RunSummary | None = None
    live_enabled = console.is_terminal

    async def consume(live: Live | None) -> None:
        last = ""
        async for event in session.events():
            counts[event.kind] += 1
            message = one_line(event.message)  # model text: control characters made visible
            if event.kind == "hypothesis":
                origin = one_line(str(event.data.get("origin")))
                last = f"new hypothesis ({origin}): {message}"
                if not live_enabled:
                    console.print(f"+ {last}", highlight=False, markup=False)
            elif event.kind in ("task_failed", "reclaimed", "meta_review", "literature"):
                last = f"{event.kind}: {message}"
                console.print(
                    f"! {last}" if event.kind == "task_failed" else f"* {last}",
                    highlight=False,
                    markup=False,
                )
            if live is not None:
                live.update(_line(counts, last))

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
            tg.start_soon(consume, live)
            tg.start_soon(stop_on_signal)
            await anyio.lowlevel.checkpoint()  # subscribe before the run publishes
            summary = await session.run(limits)
            tg.cancel_scope.cancel()

    if live_enabled:
        with Live(
            _line(counts, ""), console=console, refresh_per_second=4, transient=False
        ) as live:
            await main(live)
    else:
        await main(None)
    assert summary is not None
    return summary
