"""A live session screen paints without laying the whole screen out for every event.

Each line written to textual's RichLog grows it, and textual lays out and repaints the
whole screen for that; a Static's default update does the same. At 30 model calls a
second that painting took a fifth of the run's core (benchmarks/tui_live.py), so the
activity log writes the lines that come close together at once, and the status lines
are updated only when their text changes (the stats line without a layout).
"""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest
from rich.text import Text
from textual.app import App, ComposeResult

from coscientist.tui.widgets import EventLog, StatsLine
from tests.tui_support import log_text, wait_for

pytestmark = pytest.mark.anyio


class LogApp(App[None]):
    def compose(self) -> ComposeResult:
        yield EventLog()
        yield StatsLine()


async def test_lines_that_come_close_together_are_written_at_once_in_order() -> None:
    app = LogApp()
    async with app.run_test(size=(80, 20)):
        log = app.query_one(EventLog)
        flushes: list[float] = []
        flush = log.flush

        def counted() -> None:
            flushes.append(time.monotonic())
            flush()

        log.flush = counted  # type: ignore[method-assign]
        started = time.monotonic()
        for i in range(100):  # 100 lines a second for a second
            log.add(Text(f"line {i}"))
            await asyncio.sleep(0.01)
        expected = [f"line {i}" for i in range(100)]
        await wait_for(lambda: log_text(log).splitlines() == expected, what="every line, in order")
        # Written in batches at least FLUSH_SECONDS apart (the first line of a quiet log at once).
        assert len(flushes) <= 2 + (time.monotonic() - started) / EventLog.FLUSH_SECONDS
        assert flushes[0] - started < 0.1
        assert min(b - a for a, b in itertools.pairwise(flushes)) >= EventLog.FLUSH_SECONDS - 0.01


async def test_a_lone_line_is_written_at_once() -> None:
    app = LogApp()
    async with app.run_test(size=(80, 20)) as pilot:
        log = app.query_one(EventLog)
        log.add(Text("only"))
        await pilot.pause()
        assert log_text(log) == "only"


async def test_the_stats_line_repaints_only_a_changed_text_and_never_lays_out() -> None:
    app = LogApp()
    async with app.run_test(size=(80, 20)):
        bar = app.query_one(StatsLine)
        layouts: list[bool] = []
        refresh = bar.refresh

        def counted(*regions: object, layout: bool = False, **kw: object) -> StatsLine:
            layouts.append(layout)
            return refresh(*regions, layout=layout, **kw)  # type: ignore[arg-type]

        bar.refresh = counted  # type: ignore[method-assign]
        for _ in range(5):
            bar.show_progress(None, running=True)  # the same text every tick
        assert len(layouts) <= 1 and not any(layouts)
