"""The TUI's status bar: progress toward the stop rule that binds first, live and from the store."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from coscientist.config import Limits, Settings
from coscientist.session import CoScientist
from coscientist.tui.app import BrowseApp, RunApp
from coscientist.tui.widgets import LeaderboardTable, StatsLine
from tests.tui_support import rendered, wait_for

pytestmark = pytest.mark.anyio

SIZE = (110, 32)
GOAL = "Why do some tumours resist therapy?"


def open_cs(tmp_path: Path, model: str, concurrency: int = 2) -> CoScientist:
    settings = Settings(
        db=f"sqlite:///{tmp_path}/s.db", model=model, seed=1, concurrency=concurrency
    )
    return CoScientist(settings)


async def test_the_live_status_bar_shows_the_budget_rate_and_time_left(tmp_path: Path) -> None:
    cs = open_cs(tmp_path, "scripted:latency=0.1")  # a run of several seconds
    session = cs.start(GOAL)
    app = RunApp(session, Limits(max_calls=60))
    async with app.run_test(size=SIZE):
        live = app.live
        bar = live.query_one(StatsLine)
        running = re.compile(
            r"calls (\d+)/60 ━+ +(\d+)%  (\d+\.\d) calls/(?:s|min)  0:\d\d elapsed  ~\d:\d\d left"
        )
        await wait_for(
            lambda: running.search(rendered(bar)) is not None,
            what="the bar with a rate and the time left",
            within=30,
        )
        m = running.search(rendered(bar))
        assert m is not None and live.running
        calls, percent = int(m.group(1)), int(m.group(2))
        assert 0 < calls < 60 and percent == round(100 * calls / 60)
        assert float(m.group(3)) > 0

        await wait_for(lambda: not live.running, what="the run to reach its budget", within=60)
        await wait_for(
            lambda: "calls 60/60" in rendered(bar) and "calls/" not in rendered(bar),
            what="the final state of the bar",
        )
        text = rendered(bar)
        assert re.search(r"calls 60/60 ━{24} 100%", text), text
        assert "hypotheses " in text.splitlines()[1]  # the counters stay on the second line
    cs.close()


async def test_a_stored_session_shows_how_far_its_budget_went(tmp_path: Path) -> None:
    cs = open_cs(tmp_path, "scripted")
    session = cs.start(GOAL)
    await session.run(Limits(max_calls=20))
    app = BrowseApp(cs.store, session.id, poll_seconds=5.0)
    async with app.run_test(size=SIZE):
        board = app.screen.query_one(LeaderboardTable)
        await wait_for(lambda: board.row_count > 0, what="the leaderboard")
        bar = app.screen.query_one(StatsLine)
        await wait_for(lambda: "calls 20/20" in rendered(bar), what="the stored budget")
        text = rendered(bar)
        assert re.search(r"calls 20/20 ━{24} 100%", text), text
        assert "calls/" not in text and "left" not in text  # not running: no rate to tell
    cs.close()
