"""Talking to a session: questions answered from a real session's records, ids checked, stored,
follow-ups applied through the Session (coscientist/conversation, Session.ask)."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from agents.conversation import AnswerOut, FollowUpOut
from coscientist.config import Limits, Settings
from coscientist.conversation.context import (
    MAX_CHARS,
    MAX_HYPOTHESES,
    load_records,
    named_ranks,
    resolve_id,
    select,
)
from coscientist.errors import ConfigError, ModelError, ModelUnreachableError, NotFoundError
from coscientist.llm.scripted import ScriptedBackend
from coscientist.reports import export_session
from coscientist.schemas import (
    Answer,
    FollowUpKind,
    HypothesisStatus,
    MetaReview,
    NodeKind,
    ResearchPlan,
    ReviewKind,
)
from coscientist.session import CoScientist, Session

GOAL = "How do tardigrades survive desiccation?"
INVENTED = "feedfacecafe"
pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def finished_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real session, run to its call budget on the scripted model, copied for each test."""
    path = tmp_path_factory.mktemp("conversation") / "s.db"
    settings = Settings(db=f"sqlite:///{path}", model="scripted", seed=5, concurrency=1)

    async def main() -> None:
        with CoScientist(settings, backend=ScriptedBackend(seed=5)) as cs:
            summary = await cs.start(GOAL).run(Limits(max_calls=70))
            assert summary.tasks_failed == 0 and summary.matches > 0

    anyio.run(main)
    return path


@pytest.fixture
def opened(
    finished_db: Path, tmp_path: Path
) -> Iterator[tuple[CoScientist, Session, ScriptedBackend]]:
    db = tmp_path / "s.db"
    shutil.copy(finished_db, db)
    backend = ScriptedBackend(seed=9)
    with CoScientist(Settings(db=f"sqlite:///{db}", model="scripted"), backend=backend) as cs:
        session = cs.session(cs.sessions()[0].id)
        yield cs, session, backend


def reply(
    answer: str, ids: list[str], kind: str = "none", text: str = "", hid: str = ""
) -> AnswerOut:
    return AnswerOut(
        answer=answer,
        hypothesis_ids=ids,
        follow_up=FollowUpOut.model_validate({"kind": kind, "text": text, "hypothesis_id": hid}),
    )


def last_prompt(backend: ScriptedBackend) -> str:
    return backend.requests[-1].messages[-1]["content"]


# --- answering ----------------------------------------------------------------------------------


async def test_an_answer_keeps_real_ids_drops_invented_ones_and_is_stored(
    opened: tuple[CoScientist, Session, ScriptedBackend],
) -> None:
    cs, session, backend = opened
    board = session.leaderboard()
    first, second = board[0].id, board[1].id
    backend.queue(
        reply(
            "It won its debates on mechanism and the reviews found it testable.",
            [f"[id {first}]", second[:8], INVENTED],
        )
    )
    answer = await session.ask(f"Why is {first} ranked first?")
    assert answer.cited_ids == [first, second]  # the bracketed and the abbreviated id resolve
    assert answer.dropped_ids == [INVENTED]
    assert answer.model == "scripted" and answer.follow_up is None
    assert cs.store.list_answers(session.id) == [answer]
    assert session.answers() == [answer]
    # The prompt held the named hypothesis first, with its id as the model must copy it.
    prompt = last_prompt(backend)
    assert f"[id {first}] rank 1 of {len(board)}" in prompt
    assert prompt.rstrip().endswith(f"Question: Why is {first} ranked first?")
    # The call is recorded with the session's provenance, under its own role.
    assert cs.store.call_stats(session.id)["by_role"]["conversation"]["calls"] == 1


async def test_earlier_answers_are_part_of_the_next_question(
    opened: tuple[CoScientist, Session, ScriptedBackend],
) -> None:
    _, session, backend = opened
    backend.queue(reply("The top one explains trehalose glass formation best.", []))
    await session.ask("Which hypothesis explains vitrification?")
    backend.queue(reply("Because its debates were about the glass state of the cytoplasm.", []))
    await session.ask("And why that one?")
    assert "Q: Which hypothesis explains vitrification? A: The top one" in last_prompt(backend)
    assert [a.question for a in session.answers()] == [
        "Which hypothesis explains vitrification?",
        "And why that one?",
    ]


async def test_a_failing_model_stores_no_answer(
    opened: tuple[CoScientist, Session, ScriptedBackend],
) -> None:
    cs, session, backend = opened
    backend.queue(*["not json at all"] * 3)  # the first answer and both repairs
    with pytest.raises(ModelError, match="no valid AnswerOut"):
        await session.ask("What did the debates say?")
    backend.queue(*[ModelUnreachableError("connection refused")] * 5)
    with pytest.raises(ModelUnreachableError):
        await session.ask("What did the debates say?")
    assert cs.store.list_answers(session.id) == []
    outcomes = cs.store.call_stats(session.id)["by_outcome"]
    assert outcomes["malformed"] >= 3  # the failed calls are accounted for, nothing else stored


async def test_bad_questions_fail_before_any_model_call(
    opened: tuple[CoScientist, Session, ScriptedBackend],
) -> None:
    _, session, backend = opened
    with pytest.raises(ConfigError, match="question is empty"):
        await session.ask("  \n ")
    with pytest.raises(ConfigError, match="keep it under"):
        await session.ask("why " * 600)
    assert backend.requests == []


# --- choosing what the model sees -----------------------------------------------------------------


def test_the_briefing_follows_the_question_and_stays_bounded(
    opened: tuple[CoScientist, Session, ScriptedBackend],
) -> None:
    cs, session, _ = opened
    records = load_records(cs.store, session.id)
    board = records.board
    assert len(board) >= 6
    # Named ids first, then ranks the question names; the rest filled from the top.
    third, fifth = board[2].id, board[4].id
    chosen = select(records, f"Compare {fifth} with the hypothesis ranked third")
    assert chosen.hypothesis_ids[:2] == [fifth, third]
    assert chosen.reasons[fifth] == "named" and chosen.reasons[third] == "rank"
    assert len(chosen.hypothesis_ids) <= MAX_HYPOTHESES
    assert chosen.briefing.size() <= MAX_CHARS
    # The same question on the same records: the same briefing.
    again = select(
        load_records(cs.store, session.id), f"Compare {fifth} with the hypothesis ranked third"
    )
    assert again == chosen
    # The words of the last one's title bring it in (its words or its concepts, never as filler:
    # the board is longer than the briefing).
    target = board[-1]
    assert len(board) > MAX_HYPOTHESES
    by_words = select(records, f"Tell me about {session.hypothesis(target.id).title}")
    assert target.id in by_words.hypothesis_ids and by_words.reasons[target.id] != "top"


def test_a_concept_named_in_the_question_brings_the_hypotheses_that_use_it(
    opened: tuple[CoScientist, Session, ScriptedBackend],
) -> None:
    cs, session, _ = opened
    records = load_records(cs.store, session.id)
    users: dict[str, list[str]] = {}
    for edge in records.edges:
        if edge.source.startswith("hypothesis:"):
            users.setdefault(edge.target, []).append(edge.source.split(":", 1)[1])
    concept = next(
        n
        for n in records.nodes
        if n.kind == NodeKind.CONCEPT and users.get(n.key) and len(n.key) > 4
    )
    chosen = select(records, f"Which hypotheses use {concept.label}?")
    assert concept.label in chosen.concepts
    reason = f"concept: {concept.label}"
    linked = [hid for hid in chosen.hypothesis_ids if chosen.reasons[hid] == reason]
    assert linked and set(linked) <= set(users[concept.key])
    assert f"{concept.label}: used by [id " in "\n".join(chosen.briefing.concepts)


def test_ranks_and_ids_are_read_from_the_words_of_a_question() -> None:
    assert named_ranks("why is this ranked first?", 10) == [1]
    assert named_ranks("rank 3 against #7", 10) == [3, 7]
    assert named_ranks("what makes the best one win?", 10) == [1]
    assert named_ranks("the last one", 4) == [4]
    assert named_ranks("rank 30", 10) == []
    known = ["a1b2c3d4e5f6", "a1b2c3ffffff"]
    assert resolve_id("[id a1b2c3d4e5f6]", known) == "a1b2c3d4e5f6"
    assert resolve_id("a1b2c3d4", known) == "a1b2c3d4e5f6"
    assert resolve_id("a1b2c3", known) is None  # ambiguous
    assert resolve_id("a1b2", known) is None  # too short to be an abbreviation


def test_withheld_hypotheses_are_never_shown_nor_citable(
    opened: tuple[CoScientist, Session, ScriptedBackend],
) -> None:
    cs, session, _ = opened
    hidden = session.leaderboard()[0].id
    cs.store.set_hypothesis_status(hidden, HypothesisStatus.UNSAFE, "withheld")
    records = load_records(cs.store, session.id)
    assert hidden not in records.known_ids
    chosen = select(records, f"What about {hidden}?")
    assert hidden not in chosen.hypothesis_ids
    assert hidden not in "\n".join(chosen.briefing.hypotheses)


# --- follow-ups -------------------------------------------------------------------------------------


async def test_each_kind_of_follow_up_goes_through_the_session(
    opened: tuple[CoScientist, Session, ScriptedBackend],
) -> None:
    cs, session, backend = opened
    top = session.leaderboard()[0].id
    backend.queue(
        reply(
            "The goal is broad for this session.",
            [top],
            "refine_goal",
            "How do tardigrades vitrify their cytoplasm?",
        ),
        reply(
            "Favour cheap assays in this session.",
            [top],
            "preference",
            "prefer assays under a week",
        ),
        reply(
            "Its weak point is the dose data of the reviews.",
            [top],
            "review",
            "Needs dose data.",
            INVENTED,
        ),
        reply(
            "A combination of the top two is untested here.",
            [],
            "hypothesis",
            "Trehalose and CAHS proteins act together to vitrify cells.",
        ),
    )
    answers = [await session.ask(f"question number {i}") for i in range(4)]
    kinds = [a.follow_up.kind if a.follow_up else None for a in answers]
    assert kinds == [
        FollowUpKind.REFINE_GOAL,
        FollowUpKind.PREFERENCE,
        FollowUpKind.REVIEW,
        FollowUpKind.HYPOTHESIS,
    ]
    # A review proposed for an id the session does not hold is about the first cited one.
    assert answers[2].follow_up is not None and answers[2].follow_up.hypothesis_id == top

    done = [session.apply_follow_up(a.id) for a in answers]
    info = cs.store.get_session(session.id)
    assert info.goal == "How do tardigrades vitrify their cytoplasm?"
    assert info.plan is not None and "prefer assays under a week" in info.plan.preferences
    review = [r for r in session.reviews(top) if r.kind == ReviewKind.SCIENTIST]
    assert [r.summary for r in review] == ["Needs dose data."]
    added = [h for h in session.hypotheses() if h.origin == "scientist"]
    assert [h.statement for h in added] == [
        "Trehalose and CAHS proteins act together to vitrify cells."
    ]
    assert done[3].applied == f"hypothesis {added[0].id} added"
    stored = {a.id: a.applied for a in session.answers()}
    assert all(stored[a.id] == d.applied and d.applied for a, d in zip(answers, done, strict=True))

    with pytest.raises(ConfigError, match="applied already"):
        session.apply_follow_up(answers[3].id)
    assert len([h for h in session.hypotheses() if h.origin == "scientist"]) == 1


async def test_follow_ups_that_cannot_be_taken_are_not_offered(
    opened: tuple[CoScientist, Session, ScriptedBackend],
) -> None:
    _, session, backend = opened
    backend.queue(
        reply(
            "Nothing to review here, the records are silent.",
            [INVENTED],
            "review",
            "Weak.",
            INVENTED,
        ),
        reply("No next step is needed for this question.", [], "hypothesis", ""),
    )
    first = await session.ask("review something?")
    second = await session.ask("anything else?")
    assert first.follow_up is None and first.dropped_ids == [INVENTED]
    assert second.follow_up is None
    with pytest.raises(ConfigError, match="proposes no follow-up"):
        session.apply_follow_up(first.id)
    with pytest.raises(NotFoundError):
        session.apply_follow_up("nosuchanswer")


# --- reports ----------------------------------------------------------------------------------------


async def test_answers_show_in_every_report_with_model_text_escaped(
    opened: tuple[CoScientist, Session, ScriptedBackend], tmp_path: Path
) -> None:
    cs, session, backend = opened
    top = session.leaderboard()[0].id
    backend.queue(
        reply(
            "It leads <script>alert(1)</script> [click](http://evil.example) in its debates.",
            [top, INVENTED],
            "preference",
            "prefer <b>cheap</b> assays",
        )
    )
    answer = await session.ask("Why <b>this</b> one?")
    paths = {
        fmt: export_session(cs.store, session.id, fmt, tmp_path / f"report.{fmt}")
        for fmt in ("md", "html", "json")
    }
    html = paths["html"].read_text(encoding="utf-8")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert f"<code>{top}</code>" in html and f"dropped: {INVENTED}" in html
    assert "Not applied." in html and "prefer &lt;b&gt;cheap&lt;/b&gt; assays" in html
    md = paths["md"].read_text(encoding="utf-8")
    assert "## Questions asked" in md and f"`{top}`" in md
    assert "](http://evil.example)" not in md  # a model's link is made inert
    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert data["answers"][-1]["id"] == answer.id
    assert data["answers"][-1]["cited_ids"] == [top]
    assert data["answers"][-1]["dropped_ids"] == [INVENTED]


def test_a_sentence_said_again_and_again_is_kept_once() -> None:
    looping = (
        "The debate was a critique of the top one. It is the best. "
        "The debate was a critique of the top one. The debate was  a critique of the top one. "
        "The debate was a critique of the"
    )
    out = AnswerOut(answer=looping, hypothesis_ids=[])
    assert out.answer == (
        "The debate was a critique of the top one. It is the best. The debate was a critique of the"
    )


def test_a_long_plan_meta_review_and_history_leave_the_hypotheses_their_room(
    opened: tuple[CoScientist, Session, ScriptedBackend],
) -> None:
    cs, session, _ = opened
    records = load_records(cs.store, session.id)
    long = "a very long item " * 20
    plan = ResearchPlan(
        objective=long, preferences=[long] * 5, constraints=[long] * 5, attributes=[long] * 5
    )
    meta = MetaReview(
        id="m1", session_id=session.id, critique=[long] * 3, strengths=[long] * 3, gaps=[long] * 3
    )
    earlier = [
        Answer(id=f"a{i}", session_id=session.id, question=long, answer=long) for i in range(3)
    ]
    crowded = dataclasses.replace(
        records,
        info=records.info.model_copy(update={"plan": plan, "goal": long * 3}),
        meta_review=meta,
        earlier=earlier,
    )
    chosen = select(crowded, "Which hypothesis is best?")
    assert chosen.briefing.size() <= MAX_CHARS
    assert sum(len(b) for b in chosen.briefing.hypotheses) >= 1500
    assert chosen.hypothesis_ids[0] == records.board[0].id


async def test_the_scripted_model_cites_ids_copied_from_the_records_it_was_shown(
    opened: tuple[CoScientist, Session, ScriptedBackend],
) -> None:
    _, session, backend = opened
    answer = await session.ask("Which hypothesis is best?")  # nothing queued: a synthetic answer
    shown = set(re.findall(r"\[id ([^\]\s]+)\]", last_prompt(backend)))
    assert answer.cited_ids and set(answer.cited_ids) <= shown
    assert answer.dropped_ids == []
