"""The whole session in the TUI: meta-review (m), plan and aims (v), a debate, citations with
their check marks, and the chat (c: n asks, f applies a follow-up), with SVG snapshots."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.text import Text
from textual.widgets import Input, Static

from agents.conversation import AnswerOut, FollowUpOut
from coscientist.config import Limits, Settings
from coscientist.llm.scripted import ScriptedBackend
from coscientist.schemas import (
    Answer,
    Citation,
    FollowUp,
    FollowUpKind,
    Hypothesis,
    MatchMode,
    MatchVerdict,
    ResearchOverview,
    ResearchPlan,
    SpecificAim,
    TaskKind,
    TaskResult,
    TaskSpec,
)
from coscientist.session import CoScientist
from coscientist.store import tables
from coscientist.store.repository import Store
from coscientist.tui.app import BrowseApp, RunApp
from coscientist.tui.chat_screen import AskScreen, ChatScreen, SessionConversation
from coscientist.tui.detail import HypothesisScreen, MatchesTable, MatchScreen
from coscientist.tui.meta_review_screen import MetaReviewScreen
from coscientist.tui.method_screen import MethodScreen
from coscientist.tui.widgets import EventLog, LeaderboardTable
from tests.tui_support import (
    MARKUP_TITLE,
    SESSION_ID,
    WHEN,
    assert_snapshot,
    log_text,
    seed_store,
    table_keys,
    wait_for,
)

pytestmark = pytest.mark.anyio
SIZE = (110, 40)
POLL = 5.0  # slower than any test: Pilot waits for idle
CITED_ID = f"hc{SESSION_ID[-10:]}"


def screen_lines(svg: str) -> list[str]:
    """The text of a screenshot, row by row (textual writes each row as several <text> runs)."""
    rows: dict[float, list[tuple[float, str]]] = {}
    for m in re.finditer(r'<text[^>]*\sx="([\d.]+)"\s+y="([\d.]+)"[^>]*>(.*?)</text>', svg):
        x, y, run = float(m.group(1)), float(m.group(2)), html.unescape(m.group(3))
        rows.setdefault(y, []).append((x, run.replace("\xa0", " ")))
    return ["".join(run for _, run in sorted(rows[y])) for y in sorted(rows)]


def rendered(app: BrowseApp | RunApp, selector: str) -> str:
    content = app.screen.query_one(selector, Static).render()
    return content.plain if isinstance(content, Text) else str(content)


def seed_whole_session(store: Store) -> list[Hypothesis]:
    """seed_store's session, plus a plan, a meta-review, a debate, citations and two answers."""
    hs = seed_store(store)
    store.update_session(
        SESSION_ID,
        plan=ResearchPlan(
            objective="Find why tumours resist [b]therapy[/b]",
            preferences=["mechanisms testable in cell lines"],
            constraints=["no animal experiments"],
            drafted=True,
        ),
    )
    cited = Hypothesis(
        id=CITED_ID,
        session_id=SESSION_ID,
        title="Pumps and dormancy together",
        statement="Efflux pumps and dormancy together explain resistance.",
        origin="evolution:combination",
        citations=[
            Citation(identifier="doi:10.1000/real", title="A paper that exists", verified=True),
            Citation(identifier="PMID:0000", title="A paper that does not", verified=False),
            Citation(identifier="arXiv:2502.18864", title="Not looked up", verified=None),
        ],
        created_at=WHEN,
    )
    store.add_hypotheses([cited])
    store.enqueue(SESSION_ID, [TaskSpec(kind=TaskKind.MATCH)])
    task = store.claim(SESSION_ID, "test-owner", 1, 60)[0]
    debate = MatchVerdict(
        first_id=hs[0].id,
        second_id=hs[2].id,
        winner_id=hs[0].id,
        mode=MatchMode.DEBATE,
        rationale="The pump hypothesis names a measurable mechanism.",
        turns=[
            "Advocate for Hypothesis 1: pumps are measured directly.",
            "Advocate for Hypothesis 2: dormancy explains [red]relapse[/red].",
        ],
    )
    store.complete_task(task.id, "test-owner", TaskResult(matches=[debate]))
    overview = ResearchOverview(
        title="Resistance by export and by sleep",
        background="Tumours survive drugs they once responded to.",
        gap="Which of the two comes first is not known.",
        aims=[SpecificAim(hypothesis_id=hs[0].id, aim="Measure pump activity in relapse.")],
    )
    with store.engine.begin() as conn:  # a fixed time, so the snapshot does not move
        conn.execute(
            tables.meta_reviews.insert(),
            [
                {
                    "id": "meta00000001",
                    "session_id": SESSION_ID,
                    "critique": ["hypotheses skip dose", "[bold]no controls[/bold]"],
                    "strengths": ["clear mechanisms"],
                    "gaps": ["the immune system"],
                    "overview": "",
                    "research_overview": overview.model_dump(mode="json"),
                    "top_ids": [hs[1].id, hs[0].id],
                    "task_id": None,
                    "created_at": WHEN,
                }
            ],
        )
    store.add_answer(
        Answer(
            id="a00000000001",
            session_id=SESSION_ID,
            question="Why is the pump hypothesis ahead of dormancy?",
            answer="It won the debate: it names a [b]measurable[/b] mechanism.",
            cited_ids=[hs[0].id, hs[2].id],
            dropped_ids=["deadbeef0000"],
            follow_up=FollowUp(kind=FollowUpKind.PREFERENCE, text="prefer measurable mechanisms"),
            applied="preference added to the research plan",
            model="scripted",
            created_at=WHEN,
        )
    )
    store.add_answer(
        Answer(
            id="a00000000002",
            session_id=SESSION_ID,
            question="What is missing?",
            answer="No hypothesis looks at the immune system.",
            follow_up=FollowUp(kind=FollowUpKind.HYPOTHESIS, text="T cells clear dormant cells."),
            model="scripted",
            created_at=WHEN,
        )
    )
    return hs


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(f"sqlite:///{tmp_path}/s.db")
    yield s
    s.close()


async def open_session(app: BrowseApp) -> LeaderboardTable:
    board = app.screen.query_one(LeaderboardTable)
    await wait_for(lambda: board.row_count == 5, what="the leaderboard")
    return board


async def test_m_shows_the_meta_review_and_v_the_plan_and_aims(
    store: Store, tmp_path: Path
) -> None:
    seed_whole_session(store)
    app = BrowseApp(store, SESSION_ID, poll_seconds=POLL)
    async with app.run_test(size=SIZE) as pilot:
        await open_session(app)
        await pilot.press("m")
        await wait_for(lambda: isinstance(app.screen, MetaReviewScreen), what="the meta-review")
        await wait_for(lambda: "latest of 1" in rendered(app, "#meta-review-body"), what="it")
        text = rendered(app, "#meta-review-body")
        for part in ("hypotheses skip dose", "[bold]no controls[/bold]", "the immune system"):
            assert part in text  # model text shows literally, markup and all
        assert "Resistance by export and by sleep" in text and "Aim 1:" in text
        await pilot.pause()
        assert_snapshot(app.export_screenshot(), "meta_review", tmp_path)
        await pilot.press("escape")

        await pilot.press("v")
        await wait_for(lambda: isinstance(app.screen, MethodScreen), what="the method page")
        await wait_for(lambda: "Objective:" in rendered(app, "#method-body"), what="the plan")
        text = rendered(app, "#method-body")
        assert "no animal experiments" in text and "Measure pump activity in relapse." in text
        assert "Judge audit: " in text  # what the report's judge audit says, in one line
        await pilot.pause()
        assert_snapshot(app.export_screenshot(), "method_plan", tmp_path)


async def test_a_hypothesis_shows_its_citation_marks_and_its_debate(
    store: Store, tmp_path: Path
) -> None:
    hs = seed_whole_session(store)
    app = BrowseApp(store, SESSION_ID, poll_seconds=POLL)
    async with app.run_test(size=SIZE) as pilot:
        board = await open_session(app)
        board.move_cursor(row=table_keys(board).index(CITED_ID))
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, HypothesisScreen), what="the detail")
        await wait_for(lambda: "Citations" in rendered(app, "#detail-body"), what="citations")
        text = rendered(app, "#detail-body")
        assert "Citations (✓ checked, ✗ not found, ? not checked)" in text
        assert "✓ doi:10.1000/real A paper that exists" in text
        assert "✗ PMID:0000 A paper that does not" in text
        assert "? arXiv:2502.18864 Not looked up" in text
        await pilot.pause()
        assert_snapshot(app.export_screenshot(), "hypothesis_citations", tmp_path)
        await pilot.press("escape")

        board.move_cursor(row=table_keys(board).index(hs[0].id))
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, HypothesisScreen), what="the detail")
        matches = app.screen.query_one(MatchesTable)
        await wait_for(lambda: matches.row_count == 2, what="its matches")
        matches.focus()
        row = next(
            i
            for i, key in enumerate(table_keys(matches))
            if matches.get_cell(key, "mode").plain == "debate"
        )
        matches.move_cursor(row=row)
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, MatchScreen), what="the debate")
        text = rendered(app, "#match-body")
        assert "Debate (2 turns)" in text and "dormancy explains [red]relapse[/red]" in text
        await pilot.pause()
        assert_snapshot(app.export_screenshot(), "match_debate", tmp_path)


async def test_c_shows_the_stored_answers(store: Store, tmp_path: Path) -> None:
    hs = seed_whole_session(store)
    app = BrowseApp(store, SESSION_ID, poll_seconds=POLL)  # no model: the chat says so
    async with app.run_test(size=SIZE) as pilot:
        await open_session(app)
        await pilot.press("c")
        await wait_for(lambda: isinstance(app.screen, ChatScreen), what="the chat")
        await wait_for(lambda: "What is missing?" in rendered(app, "#chat-body"), what="answers")
        text = rendered(app, "#chat-body")
        assert f"{hs[0].id}  Efflux pumps drive resistance" in text
        assert f"{hs[2].id}  Dormant cells evade drugs" in text
        assert "dropped: deadbeef0000" in text
        assert "applied: preference added to the research plan" in text
        assert "follow-up: add hypothesis: T cells clear dormant cells.  (f applies it)" in text
        assert "no model to ask" in text and "[b]measurable[/b]" in text
        await pilot.pause()
        assert_snapshot(app.export_screenshot(), "chat", tmp_path)
        await pilot.press("n")  # nothing to ask with: a warning, no dialog
        await pilot.pause()
        assert isinstance(app.screen, ChatScreen)
    assert MARKUP_TITLE  # the seeded markup title is in the store the chat read


async def test_the_chat_asks_the_session_and_applies_the_follow_up(tmp_path: Path) -> None:
    backend = ScriptedBackend(seed=2)
    settings = Settings(db=f"sqlite:///{tmp_path}/s.db", model="scripted")
    with CoScientist(settings, backend=backend) as cs:
        hs = seed_store(cs.store)
        statement = "Efflux pumps and dormant cells cooperate to survive therapy."
        backend.queue(
            AnswerOut(
                answer="The pump hypothesis leads: it beat the others in both its matches.",
                hypothesis_ids=[hs[1].id, "nosuchid0000"],
                follow_up=FollowUpOut(kind="hypothesis", text=statement),
            ),
            *["not json"] * 3,  # the second question gets no valid answer
        )
        app = BrowseApp(
            cs.store, SESSION_ID, poll_seconds=POLL, conversation=SessionConversation(cs.session)
        )
        async with app.run_test(size=SIZE) as pilot:
            board = app.screen.query_one(LeaderboardTable)
            await wait_for(lambda: board.row_count == 4, what="the leaderboard")
            await pilot.press("c")
            await wait_for(lambda: isinstance(app.screen, ChatScreen), what="the chat")
            await wait_for(lambda: "press n to ask" in rendered(app, "#chat-body"), what="empty")
            await pilot.press("n")
            await wait_for(lambda: isinstance(app.screen, AskScreen), what="the question box")
            app.screen.query_one(Input).focus()
            await pilot.press(*"Why does the first one lead?", "enter")
            await wait_for(lambda: isinstance(app.screen, ChatScreen), what="the chat")
            await wait_for(
                lambda: "The pump hypothesis leads" in rendered(app, "#chat-body"), what="answer"
            )
            text = rendered(app, "#chat-body")
            assert f"{hs[1].id}  {MARKUP_TITLE}" in text and "dropped: nosuchid0000" in text
            assert "(f applies it)" in text
            await pilot.press("f")
            await wait_for(lambda: "applied: hypothesis" in rendered(app, "#chat-body"), what="f")

            await pilot.press("n")
            await wait_for(lambda: isinstance(app.screen, AskScreen), what="the question box")
            app.screen.query_one(Input).focus()
            await pilot.press(*"And the second?", "enter")
            chat = app.screen
            assert isinstance(chat, ChatScreen)
            await wait_for(lambda: chat.pending is None, what="the failed question to settle")
            await pilot.pause()
            assert "And the second?" not in rendered(app, "#chat-body")
        answers = cs.store.list_answers(SESSION_ID)
        assert [a.question for a in answers] == ["Why does the first one lead?"]
        assert answers[0].cited_ids == [hs[1].id] and answers[0].dropped_ids == ["nosuchid0000"]
        seeded = {h.id for h in hs}
        added = [h for h in cs.store.list_hypotheses(SESSION_ID) if h.id not in seeded]
        assert [h.statement for h in added] == [statement]
        assert answers[0].applied == f"hypothesis {added[0].id} added"


async def test_the_live_run_asks_through_its_own_session(tmp_path: Path) -> None:
    backend = ScriptedBackend(seed=4)
    settings = Settings(db=f"sqlite:///{tmp_path}/s.db", model="scripted", seed=4)
    with CoScientist(settings, backend=backend) as cs:
        session = cs.start("Why do some tumours resist therapy?")
        app = RunApp(session, Limits(max_calls=30))
        async with app.run_test(size=(110, 32)) as pilot:
            live = app.live
            await wait_for(lambda: not live.running, what="the run to end", within=60)
            footer = screen_lines(app.export_screenshot())[-1]
            for key in (
                "g Graph",
                "m Meta-review",
                "c Chat",
                "a Add",
                "s Stop",
                "v Plan",
                "q Quit",
            ):
                assert key in footer, key
            top = cs.store.leaderboard(session.id)[0].id
            backend.queue(
                AnswerOut(
                    answer="It won the most matches of the run so far.",
                    hypothesis_ids=[top],
                    follow_up=FollowUpOut(kind="review", text="Check its dose data first."),
                )
            )
            await pilot.press("c")
            await wait_for(lambda: isinstance(app.screen, ChatScreen), what="the chat")
            await pilot.press("n")
            await wait_for(lambda: isinstance(app.screen, AskScreen), what="the question box")
            app.screen.query_one(Input).focus()
            await pilot.press(*"Why is it first?", "enter")
            await wait_for(
                lambda: "It won the most matches" in rendered(app, "#chat-body"), what="answer"
            )
            await pilot.press("f")
            await wait_for(lambda: "applied: review" in rendered(app, "#chat-body"), what="f")
            await pilot.press("escape")
            log = live.query_one(EventLog)
            await wait_for(lambda: "answered: Why is it first?" in log_text(log), what="the log")
        reviews = [r for r in session.reviews(top) if r.author == "scientist"]
        assert [r.summary for r in reviews] == ["Check its dose data first."]
        assert [a.cited_ids for a in session.answers()] == [[top]]
