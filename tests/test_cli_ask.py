"""`coscientist ask` and `coscientist answers` as a user meets them: a session run over real HTTP
against the local fake OpenAI server, answers citing its ids, follow-ups, one-line errors."""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import anyio
import pytest

from agents.conversation import AnswerOut, FollowUpOut
from coscientist import cli
from coscientist.config import Limits, Settings
from coscientist.session import CoScientist
from coscientist.store.repository import Store
from tests.fakes.openai_server import FakeOpenAIServer, Reply

INVENTED = "feedfacecafe"


@dataclass
class World:
    db: str
    sid: str
    fake: FakeOpenAIServer
    ids: list[str]  # the leaderboard, best first


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("cli-ask")
    db = f"sqlite:///{tmp / 'store.db'}"
    with pytest.MonkeyPatch.context() as mp, FakeOpenAIServer(seed=3) as fake:
        mp.setenv("COSCIENTIST_CONFIG", str(tmp / "absent.toml"))
        settings = Settings(db=db, model="openai-compatible", base_url=fake.url, seed=3)
        with CoScientist(settings) as cs:
            session = cs.start("How do tardigrades survive desiccation?")
            summary = anyio.run(session.run, Limits(max_calls=40))
            assert summary.tasks_failed == 0
            ids = [e.id for e in session.leaderboard()]
        assert len(ids) >= 3
        yield World(db=db, sid=session.id, fake=fake, ids=ids)


def invoke(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["coscientist", *argv])
    with pytest.raises(SystemExit) as caught:
        cli.main()
    out, err = capsys.readouterr()
    code = caught.value.code
    return (code if isinstance(code, int) else 1), out, err


def one_line(code: int, err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def answers_of(world: World) -> list[dict[str, object]]:
    with Store.open(world.db) as store:
        return [a.model_dump(mode="json") for a in store.list_answers(world.sid)]


def reply(text: str, ids: list[str], kind: str = "none", what: str = "") -> Reply:
    out = AnswerOut(
        answer=text,
        hypothesis_ids=ids,
        follow_up=FollowUpOut.model_validate({"kind": kind, "text": what}),
    )
    return Reply.json(out)


def test_ask_answers_over_http_with_the_sessions_ids_and_stores_the_answer(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = world.ids[0], world.ids[1]
    before = len(answers_of(world))
    world.fake.push(reply("It won every debate it played on mechanism.", [first, INVENTED, second]))
    code, out, err = invoke(
        ["ask", world.sid, f"Why is {first} ranked first?", "--db", world.db], monkeypatch, capsys
    )
    assert code == 0, err
    assert f"Q: Why is {first} ranked first?" in out
    assert "A: It won every debate it played on mechanism." in out
    assert f"  {first}  " in out and f"  {second}  " in out
    assert f"dropped: {INVENTED}" in out
    stored = answers_of(world)
    assert len(stored) == before + 1
    assert stored[-1]["cited_ids"] == [first, second]
    assert stored[-1]["dropped_ids"] == [INVENTED]
    assert stored[-1]["model"] == "fake-model"  # what the endpoint said it ran
    # The request went over HTTP with the selected records: the named hypothesis's id is in it.
    prompt = world.fake.bodies[-1]["messages"][-1]["content"]
    assert f"[id {first}] rank 1 of" in prompt

    code, out, _ = invoke(["show", world.sid, "--db", world.db, "--json"], monkeypatch, capsys)
    assert code == 0
    shown = json.loads(out)["answers"]
    assert shown[-1]["id"] == stored[-1]["id"] and shown[-1]["cited_ids"] == [first, second]
    code, out, _ = invoke(["answers", world.sid, "--db", world.db, "--json"], monkeypatch, capsys)
    assert code == 0 and json.loads(out)[-1]["id"] == stored[-1]["id"]


def test_a_follow_up_is_offered_as_a_command_and_applied_once(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    world.fake.push(
        reply(
            "Cheap assays would settle it quickest here.",
            [world.ids[0]],
            "preference",
            "prefer assays under a week",
        )
    )
    code, out, err = invoke(
        ["ask", world.sid, "What should we prefer?", "--db", world.db], monkeypatch, capsys
    )
    assert code == 0, err
    answer_id = answers_of(world)[-1]["id"]
    assert "follow-up: add a preference: prefer assays under a week" in out
    command = f"answers {world.sid} --apply {answer_id} --db {world.db}"
    assert command in out
    code, out, err = invoke(command.split(), monkeypatch, capsys)
    assert code == 0, err
    assert "applied: preference added to the research plan" in out
    with Store.open(world.db) as store:
        plan = store.get_session(world.sid).plan
    assert plan is not None and plan.preferences.count("prefer assays under a week") == 1
    code, _, err = invoke(command.split(), monkeypatch, capsys)
    assert "applied already" in one_line(code, err)


def test_ask_apply_adds_the_proposed_hypothesis(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    statement = "Trehalose and CAHS proteins together vitrify the cytoplasm."
    world.fake.push(
        reply("No hypothesis combines the two protectants yet.", [], "hypothesis", statement)
    )
    code, out, err = invoke(
        ["ask", world.sid, "What is missing?", "--db", world.db, "--apply"], monkeypatch, capsys
    )
    assert code == 0, err
    applied = answers_of(world)[-1]["applied"]
    assert isinstance(applied, str) and applied.startswith("hypothesis ")
    assert f"applied: {applied}" in out
    with Store.open(world.db) as store:
        added = store.get_hypothesis(applied.split()[1], session_id=world.sid)
    assert added.statement == statement and added.origin == "scientist" and added.pinned


def test_bad_input_and_a_failing_model_are_one_line_and_store_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = answers_of(world)
    code, _, err = invoke(["ask", world.sid, "   ", "--db", world.db], monkeypatch, capsys)
    assert "question is empty" in one_line(code, err)
    code, _, err = invoke(["ask", "nosuchsession", "why?", "--db", world.db], monkeypatch, capsys)
    assert "no session 'nosuchsession'" in one_line(code, err)
    # The model answers with nonsense every time: no valid answer, nothing stored.
    world.fake.push(*[Reply.malformed()] * 3)
    code, _, err = invoke(["ask", world.sid, "why?", "--db", world.db], monkeypatch, capsys)
    assert "no valid AnswerOut" in one_line(code, err)
    # The endpoint is gone: the preflight says so in one line before anything is asked.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    code, _, err = invoke(
        ["ask", world.sid, "why?", "--db", world.db, "--base-url", f"http://127.0.0.1:{dead}/v1"],
        monkeypatch,
        capsys,
    )
    line = one_line(code, err)
    assert f"127.0.0.1:{dead}" in line
    assert answers_of(world) == before
    with Store.open(world.db) as store:  # the dead URL was never stored with the session
        assert store.get_session(world.sid).base_url == world.fake.url
