"""The terminal UI through textual's Pilot: live runs, browsing, details, literal markup, snapshots."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.app import App
from textual.screen import Screen
from textual.widgets import Static

from coscientist.config import Limits, Settings
from coscientist.schemas import Event, HypothesisStatus, SessionStatus, TaskState
from coscientist.session import CoScientist
from coscientist.store.repository import Store
from coscientist.tui import render
from coscientist.tui.add_dialog import AddHypothesisScreen
from coscientist.tui.app import BrowseApp, RunApp
from coscientist.tui.detail import HypothesisScreen
from coscientist.tui.session_screen import StoredSessionScreen
from coscientist.tui.sessions_screen import SessionsScreen
from coscientist.tui.widgets import (
    EventLog,
    LeaderboardTable,
    SessionHeader,
    SessionsTable,
    StatsLine,
)
from tests.tui_support import (
    MARKUP_TITLE,
    SESSION_ID,
    assert_snapshot,
    log_text,
    play_matches,
    rendered,
    screen_text,
    seed_store,
    table_keys,
    wait_for,
)

pytestmark = pytest.mark.anyio

SIZE = (110, 32)
GOAL = "Why do some tumours resist therapy?"
POLL = 5.0  # slower than any test: polling keeps the app busy, and Pilot waits for idle


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(f"sqlite:///{tmp_path}/s.db")
    yield s
    s.close()


def open_cs(tmp_path: Path, model: str = "scripted", concurrency: int | None = None) -> CoScientist:
    settings = Settings(
        db=f"sqlite:///{tmp_path}/s.db", model=model, seed=1, concurrency=concurrency
    )
    return CoScientist(settings)


def top_screen(app: App[None]) -> Screen[object]:
    """The active screen (a call, so a type check on an earlier screen does not stick)."""
    return app.screen


def running_tasks(store: Store, session_id: str) -> int:
    return len(store.list_tasks(session_id, states={TaskState.RUNNING}))


def calls(store: Store, session_id: str) -> int:
    return int(store.call_stats(session_id)["calls"])


async def settled_calls(store: Store, session_id: str, quiet: float = 0.4) -> int:
    """The call count once it has not moved for `quiet` seconds (fails if it never settles)."""
    seen = [-1]

    def settled() -> bool:
        now = calls(store, session_id)
        still = now == seen[0]
        seen[0] = now
        return still

    await wait_for(settled, what="model calls to stop", within=5.0, every=quiet)
    return seen[0]


# --- the live run screen ----------------------------------------------------------------------


async def test_live_run_fills_the_leaderboard_and_opens_a_hypothesis(tmp_path: Path) -> None:
    cs = open_cs(tmp_path)
    session = cs.start(GOAL)
    app = RunApp(session, Limits(max_calls=40))
    async with app.run_test(size=SIZE) as pilot:
        live = app.live
        board = live.query_one(LeaderboardTable)
        log = live.query_one(EventLog)
        await wait_for(lambda: not live.running, what="the run to reach its call budget", within=60)
        expected = [e.id for e in cs.store.leaderboard(session.id)]
        await wait_for(
            lambda: (
                table_keys(board) == expected[: board.row_count]
                and board.row_count == len(expected)
            ),
            what="the leaderboard to show the store's order",
        )
        assert len(expected) >= 3
        await wait_for(lambda: "stopped: call budget" in log_text(log), what="the stop in the log")
        text = log_text(log)
        assert text.count("+ [generation") >= 3  # new hypotheses, with their origin
        assert "initial review of" in text
        await wait_for(
            lambda: "stopped: call budget" in rendered(live.query_one(SessionHeader)),
            what="the header to show why the run stopped",
        )
        await wait_for(
            lambda: "calls 40" in rendered(live.query_one(StatsLine)), what="the stats line"
        )
        assert live.summary is not None and live.summary.calls == 40

        best = cs.store.leaderboard(session.id)[0]
        board.move_cursor(row=0)  # the cursor follows its hypothesis as ranks change
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, HypothesisScreen), what="the detail screen")
        body = app.screen.query_one("#detail-body", Static)
        await wait_for(lambda: best.statement in rendered(body), what="the best hypothesis in full")
        assert "Reviews (" in rendered(body)
        await pilot.press("escape")
        assert app.screen is live

        await pilot.press("q")  # the run has ended: quitting is immediate
        await wait_for(lambda: app.return_code is not None, what="the app to exit")
    assert cs.store.get_session(session.id).status == SessionStatus.STOPPED
    assert running_tasks(cs.store, session.id) == 0
    cs.close()


async def test_pause_resume_add_and_quit_stop_the_run_cleanly(tmp_path: Path) -> None:
    cs = open_cs(tmp_path, model="scripted:latency=0.05", concurrency=2)
    session = cs.start(GOAL)
    sid = session.id
    app = RunApp(session, Limits(max_calls=400))
    async with app.run_test(size=SIZE) as pilot:
        live = app.live
        board = live.query_one(LeaderboardTable)
        log = live.query_one(EventLog)
        await wait_for(lambda: board.row_count >= 2, what="the first hypotheses")

        await pilot.press("p")
        assert cs.store.get_session(sid).status == SessionStatus.PAUSED
        assert "paused" in rendered(live.query_one(SessionHeader))
        # Tasks in flight finish; then no new model calls (unpaused, this run makes ~40 a second).
        before = await settled_calls(cs.store, sid)

        await pilot.press("a")
        assert isinstance(app.screen, AddHypothesisScreen)
        await pilot.press("escape")  # cancelled: nothing added
        assert top_screen(app) is live
        await pilot.press("a")
        await pilot.press(*"[b]Mine[/b]. Why.")
        await pilot.press("enter")
        assert top_screen(app) is live
        mine = [h for h in cs.store.list_hypotheses(sid) if h.origin == "scientist"]
        assert [h.title for h in mine] == ["[b]Mine[/b]"]
        assert mine[0].status == HypothesisStatus.ACTIVE
        await wait_for(
            lambda: mine[0].id in table_keys(board), what="my hypothesis on the leaderboard"
        )
        assert "+ [scientist] [b]Mine[/b]" in log_text(log)

        await pilot.press("p")
        assert cs.store.get_session(sid).status == SessionStatus.RUNNING
        await wait_for(lambda: calls(cs.store, sid) > before, what="the run to go on after resume")
        assert live.running

        await pilot.press("q")
        await wait_for(lambda: app.return_code is not None, what="a clean stop and exit")
    info = cs.store.get_session(sid)
    assert info.status == SessionStatus.STOPPED
    assert info.stop_reason == "stopped by the scientist"
    assert running_tasks(cs.store, sid) == 0
    assert live.summary is not None and live.summary.calls < 400
    assert live.error is None
    cs.close()


async def test_s_stops_the_run_and_keeps_the_app_open(tmp_path: Path) -> None:
    cs = open_cs(tmp_path, model="scripted:latency=0.05", concurrency=2)
    session = cs.start(GOAL)
    app = RunApp(session, Limits(max_calls=400))
    async with app.run_test(size=SIZE) as pilot:
        live = app.live
        await wait_for(lambda: live.query_one(LeaderboardTable).row_count >= 1, what="a hypothesis")
        await pilot.press("s")
        await wait_for(lambda: not live.running, what="the run to stop")
        await wait_for(
            lambda: "stopped: stopped by the scientist" in rendered(live.query_one(SessionHeader)),
            what="the header to say so",
        )
        assert app.return_code is None  # still open for reading
        await pilot.press("p")  # nothing to pause any more: the status stays
        assert cs.store.get_session(session.id).status == SessionStatus.STOPPED
        await pilot.press("q")
        await wait_for(lambda: app.return_code is not None, what="the app to exit")
    assert running_tasks(cs.store, session.id) == 0
    cs.close()


async def test_a_second_q_interrupts_a_slow_stop(tmp_path: Path) -> None:
    cs = open_cs(tmp_path, model="scripted:latency=3", concurrency=2)
    session = cs.start(GOAL)
    app = RunApp(session, Limits(max_calls=400))
    async with app.run_test(size=SIZE) as pilot:
        live = app.live
        await wait_for(
            lambda: cs.store.get_session(session.id).status == SessionStatus.RUNNING,
            what="the run to start",
        )
        # Wait until model calls of 3 s each are really in flight (a loaded machine is slow to start).
        # (Planned tasks have no row until they finish: the session's events tell.)
        await wait_for(
            lambda: session.bus.published >= 2, what="a task in flight"
        )  # run_started, then task_started
        await pilot.pause(0.3)
        await pilot.press("q")
        assert "stopping" in rendered(live.query_one(SessionHeader))
        assert app.return_code is None  # waiting for the calls in flight
        await pilot.press("q")
        await wait_for(
            lambda: app.return_code is not None, what="the interrupted run to exit", within=2.5
        )
    info = cs.store.get_session(session.id)
    assert info.status == SessionStatus.STOPPED
    assert running_tasks(cs.store, session.id) == 0  # handed back, not left leased
    assert live.summary is None and live.error is None
    cs.close()


# --- browsing a store -----------------------------------------------------------------------


async def test_browse_lists_sessions_and_opens_one_read_only(store: Store) -> None:
    hs = seed_store(store)
    seed_store(store, "5e55a0000002")
    app = BrowseApp(store, poll_seconds=POLL)
    async with app.run_test(size=SIZE) as pilot:
        sessions = app.screen.query_one(SessionsTable)
        await wait_for(lambda: sessions.row_count == 2, what="the sessions list")
        assert isinstance(app.screen, SessionsScreen)
        assert set(table_keys(sessions)) == {SESSION_ID, "5e55a0000002"}

        sessions.move_cursor(row=table_keys(sessions).index(SESSION_ID))
        await pilot.press("enter")
        await wait_for(
            lambda: isinstance(app.screen, StoredSessionScreen), what="the session screen"
        )
        board = app.screen.query_one(LeaderboardTable)
        await wait_for(lambda: board.row_count == 4, what="the leaderboard")
        assert table_keys(board)[0] == hs[1].id  # two wins: first
        header = rendered(app.screen.query_one(SessionHeader))
        assert "Why do some tumours resist therapy?" in header
        assert "stopped: call budget" in header

        for key in "pas":  # read-only: the live run's commands do nothing here
            await pilot.press(key)
        assert store.get_session(SESSION_ID).status.value == "stopped"
        assert store.count_hypotheses(SESSION_ID) == 4

        await pilot.press("escape")
        assert isinstance(app.screen, SessionsScreen)


async def test_enter_opens_the_detail_screen_and_escape_goes_back(store: Store) -> None:
    hs = seed_store(store)
    app = BrowseApp(store, SESSION_ID, poll_seconds=POLL)
    async with app.run_test(size=SIZE) as pilot:
        board = app.screen.query_one(LeaderboardTable)
        await wait_for(lambda: board.row_count == 4, what="the leaderboard")
        board.move_cursor(row=table_keys(board).index(hs[2].id))
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, HypothesisScreen), what="the detail screen")
        body = app.screen.query_one("#detail-body", Static)
        await wait_for(lambda: "Statement 2" in rendered(body), what="the hypothesis text")
        text = rendered(body)
        assert "Dormant cells evade drugs" in text
        assert "evolution:combination" in text
        # parents listed with their titles, markup left alone
        assert f"{hs[0].id}  Efflux pumps drive resistance" in text
        assert f"{hs[1].id}  {MARKUP_TITLE}" in text
        assert "Reviews (0)" in text

        await pilot.press("escape")
        assert isinstance(app.screen, StoredSessionScreen)


async def test_model_written_markup_is_shown_literally(store: Store, tmp_path: Path) -> None:
    hs = seed_store(store)
    app = BrowseApp(store, SESSION_ID, poll_seconds=POLL)
    async with app.run_test(size=SIZE) as pilot:
        board = app.screen.query_one(LeaderboardTable)
        await wait_for(lambda: board.row_count == 4, what="the leaderboard")
        title = board.get_cell(hs[1].id, "title")
        assert title.plain == MARKUP_TITLE
        # The table holds the row before the screen is painted: wait for the paint, and read
        # the painted characters (the markup is shown as written, not applied).
        await wait_for(
            lambda: MARKUP_TITLE in screen_text(app.export_screenshot()), what="the title on screen"
        )

        await pilot.press("enter")  # the cursor is on the first row: the markup title
        await wait_for(lambda: isinstance(app.screen, HypothesisScreen), what="the detail screen")
        body = app.screen.query_one("#detail-body", Static)
        await wait_for(lambda: "Reviews (1)" in rendered(body), what="the reviews")
        text = rendered(body)
        assert text.startswith(MARKUP_TITLE)
        assert "Because [dim]reasons[/dim]." in text
        assert "Plausible; [i]not[/i] markup." in text
        assert "novelty 4" in text and "no dose data" in text


async def test_a_session_written_elsewhere_refreshes_from_the_store(
    store: Store, tmp_path: Path
) -> None:
    hs = seed_store(store)
    app = BrowseApp(store, SESSION_ID, poll_seconds=0.1)
    async with app.run_test(size=SIZE):
        screen = app.screen
        board = screen.query_one(LeaderboardTable)
        log = screen.query_one(EventLog)
        await wait_for(
            lambda: "4 hypotheses, 2 matches, 1 review so far" in log_text(log), what="summary"
        )

        board.move_cursor(row=0)
        assert board.selected_key == hs[1].id
        # Another process (here: another handle on the same file) writes to the session.
        other = Store.open(f"sqlite:///{tmp_path}/s.db")
        try:
            other.update_session(SESSION_ID, status=SessionStatus.RUNNING, stop_reason=None)
            newcomer = hs[0].model_copy(
                update={"id": "h9late0000001", "title": "A late [u]arrival"}
            )
            other.add_hypotheses([newcomer])
            play_matches(other, SESSION_ID, [(newcomer.id, hs[1].id, newcomer.id)])
        finally:
            other.close()

        await wait_for(
            lambda: newcomer.id in table_keys(board), what="the new hypothesis in the table"
        )
        await wait_for(lambda: "beat" in log_text(log), what="the new match in the log")
        text = log_text(log)
        assert "A late [u]arrival" in text
        assert f"A late [u]arrival beat {MARKUP_TITLE}" in text
        assert "running" in rendered(screen.query_one(SessionHeader))
        # The newcomer beat the leader and took first place; the cursor stayed on its hypothesis.
        assert table_keys(board)[:2] == [newcomer.id, hs[1].id]
        assert board.selected_key == hs[1].id and board.cursor_row == 1


# --- snapshots ------------------------------------------------------------------------------


async def test_snapshot_of_a_stored_session(store: Store, tmp_path: Path) -> None:
    seed_store(store)
    app = BrowseApp(store, SESSION_ID, poll_seconds=POLL)
    async with app.run_test(size=SIZE) as pilot:
        board = app.screen.query_one(LeaderboardTable)
        log = app.screen.query_one(EventLog)
        await wait_for(
            lambda: board.row_count == 4 and "so far" in log_text(log), what="the session"
        )
        await pilot.pause()
        assert_snapshot(app.export_screenshot(), "stored_session", tmp_path)

        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, HypothesisScreen), what="the detail screen")
        body = app.screen.query_one("#detail-body", Static)
        await wait_for(lambda: "Reviews (1)" in rendered(body), what="the reviews")
        await pilot.pause()
        assert_snapshot(app.export_screenshot(), "hypothesis_detail", tmp_path)


# --- log lines ------------------------------------------------------------------------------


def test_event_lines_skip_bookkeeping_and_keep_markup_literal() -> None:
    def line(kind: str, message: str = "", /, **data: object) -> str | None:
        text = render.event_line(
            Event(kind=kind, session_id="s", message=message, data=data), titles
        )
        return None if text is None else text.plain

    titles = {"a": "[b]Alpha", "b": "Beta"}
    assert line("task_started", "generate") is None
    assert line("task_done", "generate") is None
    assert line("match", "a won", winner="a", first="b", second="a", mode="debate") == (
        "⚔ [b]Alpha beat Beta (debate)"
    )
    assert line("review", "initial review", id="b", passed=False) == "✗ initial review of Beta"
    assert line("task_failed", "ModelError: [/] broke", kind="review") == (
        "! review failed: ModelError: [/] broke"
    )
    assert line("run_failed", "the run failed: boom") == "! the run failed: boom"
    assert line("literature", "arXiv unreachable") == "• arXiv unreachable"


# --- the knowledge-graph screen ---------------------------------------------------------------


async def test_g_opens_the_graph_screen_with_growth_and_the_selected_hypothesis(
    tmp_path: Path,
) -> None:
    from coscientist.knowledge.names import hypothesis_key
    from coscientist.reports.knowledge import load_graph
    from coscientist.tui.graph_screen import GraphScreen

    with open_cs(tmp_path, concurrency=1) as cs:
        session = cs.start(GOAL)
        await session.run(Limits(max_calls=80))
        series = cs.store.graph_series(session.id)
        assert series, "the run stored no graph figures"
        app = BrowseApp(cs.store, session.id, poll_seconds=POLL)
        async with app.run_test(size=(120, 48)) as pilot:
            board = top_screen(app).query_one(LeaderboardTable)
            await wait_for(lambda: board.row_count > 0, what="the leaderboard")
            chosen = table_keys(board)[0]
            await pilot.press("g")
            await wait_for(lambda: isinstance(top_screen(app), GraphScreen), what="graph screen")
            screen = top_screen(app)
            assert isinstance(screen, GraphScreen)
            await wait_for(lambda: screen.data is not None, what="the graph data")
            text = rendered(screen.query_one("#graph-body", Static))
            last = series[-1]
            assert f"({len(series)} points" in text
            assert any(ch in text for ch in "▁▂▃▄▅▆▇█")  # the growth sparklines
            assert "concepts   " in text and str(last.metrics.nodes) in text
            assert "Hubs " in text and last.hubs[0].label in text
            assert "Communities" in text and last.communities[0].top[0] in text
            kg = load_graph(cs.store, session.id)
            h = cs.store.get_hypothesis(chosen, session_id=session.id)
            assert f"Selected hypothesis {h.title}" in " ".join(text.split())
            for key in kg.concepts_of(hypothesis_key(chosen))[:2]:
                assert kg.label(key) in text
            await pilot.press("escape")
            assert isinstance(top_screen(app), StoredSessionScreen)
