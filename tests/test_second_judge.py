"""The judge audit's second judge: the `audit` role on a model of its own judges the top pairs
the judge debates again; its verdicts are stored apart, never rated, and reported."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from coscientist.config import Limits, RoleModel, Settings
from coscientist.reports import gather, json_export
from coscientist.reports.judging import audit_sentence, second_judge
from coscientist.reports.summary import method_summary
from coscientist.scheduler.runner import second_opinion
from coscientist.schemas import Match, MatchMode, SecondOpinion
from coscientist.session import CoScientist
from coscientist.store.tables import llm_calls
from tests.agent_support import Harness, hypothesis
from tests.scheduler_support import capture_schedulers

GOAL = "Find mechanisms by which gut microbes modulate tumour immunity"
SECOND = "scripted:seed=9"


def settings(tmp_path: Path, **kw: Any) -> Settings:
    tmp_path.mkdir(parents=True, exist_ok=True)
    return Settings(db=f"sqlite:///{tmp_path / 'j.db'}", model="scripted", seed=3, **kw)


async def run_session(tmp_path: Path, **kw: Any) -> tuple[CoScientist, str]:
    cs = CoScientist(settings(tmp_path, **kw))
    session = cs.start(GOAL)
    summary = await session.run(Limits(max_calls=220, convergence_window=100_000))
    assert summary.tasks_failed == 0 and summary.matches > 0, summary
    return cs, session.id


@pytest.mark.anyio
async def test_a_second_judge_checks_the_top_debates_and_is_never_rated(tmp_path: Path) -> None:
    cs, sid = await run_session(tmp_path, roles={"audit": RoleModel(model=SECOND)})
    with cs:
        store = cs.store
        matches = store.list_matches(sid)
        opinions = store.list_second_opinions(sid)
        debates = {m.task_id: m for m in matches if m.mode == MatchMode.DEBATE}
        assert debates and len(opinions) == len(debates)  # every debate, once
        for o in opinions:  # the same pair in the same order as the judge's debate
            judged = debates[o.task_id]
            assert (o.first_id, o.second_id) == (judged.first_id, judged.second_id)
            assert o.model == SECOND and o.winner_id in (o.first_id, o.second_id)
        # Never rated: the ratings count the matches table's verdicts and nothing else.
        ratings = store.ratings(sid)
        assert sum(r.matches for r in ratings.values()) == 2 * len(matches)
        # Its calls are the audit role's, on its own model; the judge's stay on the session's.
        with store.engine.connect() as conn:
            c = llm_calls.c
            rows = conn.execute(select(c.role, c.endpoint).where(c.session_id == sid)).all()
        calls = Counter((str(role), str(endpoint)) for role, endpoint in rows)
        assert calls[("audit", SECOND)] == len(opinions)
        assert {e for (r, e) in calls if r == "audit"} == {SECOND}
        assert {e for (r, e) in calls if r == "ranking"} == {"scripted"}
        # The report, show --json and the text line all say how often the two agreed.
        report = json.loads(json_export.render(gather(store, sid)))
        second = report["judge_audit"]["second_judge"]
        agreed = sum(o.winner_id == debates[o.task_id].winner_id for o in opinions)
        assert (second["checked"], second["agreed"]) == (len(opinions), agreed)
        assert second["models"] == [SECOND]
        shown = method_summary(store, sid)["judge_audit"]["second_judge"]
        assert shown == second
        line = audit_sentence(method_summary(store, sid)["judge_audit"])
        assert f"second judge {SECOND} agreed on {agreed} of {len(opinions)} top debates" in line


@pytest.mark.anyio
async def test_a_second_judge_adds_no_task_slots(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It runs inside match tasks: the run keeps the session's concurrency, where a model of a
    task role (the judge's) adds its own slots."""
    runs = capture_schedulers(monkeypatch)
    for roles in ({"audit": RoleModel(model=SECOND, concurrency=5)}, {}):
        cs, _ = await run_session(tmp_path / f"r{len(runs)}", concurrency=4, roles=roles)
        cs.close()
    judged = {"ranking": RoleModel(model=SECOND, concurrency=5)}
    cs, _ = await run_session(tmp_path / "judge", concurrency=4, roles=judged)
    cs.close()
    assert [run.concurrency for run in runs] == [4, 4, 4 + 5]


@pytest.mark.anyio
async def test_without_an_audit_model_nothing_is_asked_twice(tmp_path: Path) -> None:
    # The judge has a model of its own; the audit role was given none: no second judge.
    cs, sid = await run_session(tmp_path, roles={"ranking": RoleModel(model="scripted:seed=7")})
    with cs:
        assert cs.store.list_second_opinions(sid) == []
        audit = method_summary(cs.store, sid)["judge_audit"]
        assert audit["second_judge"] is None
        assert "second judge" not in audit_sentence(audit)


@pytest.mark.anyio
async def test_a_second_judge_that_fails_costs_nothing_but_its_verdict() -> None:
    judge = Harness(seed=1)
    first, second = hypothesis("h1"), hypothesis("h2", "Flow shear strips young biofilm")
    judge.queue({"reasoning": "The second names a measurable shear threshold.", "winner": 2})
    found = await second_opinion(judge.ctx, judge.client, first, second, {})
    assert found is not None and found.winner_id == "h2" and found.first_id == "h1"
    assert [r.role for r in judge.records] == ["audit"]  # recorded as the audit role
    garbage = Harness(seed=2)
    garbage.queue(*(["not an answer at all"] * 6))
    assert await second_opinion(garbage.ctx, garbage.client, first, second, {}) is None


def _match(task: str, first: str, second: str, winner: str, seq: int) -> Match:
    return Match(
        id=f"m{seq}",
        session_id="s",
        seq=seq,
        task_id=task,
        first_id=first,
        second_id=second,
        winner_id=winner,
        mode=MatchMode.DEBATE,
    )


@dataclass(frozen=True)
class Row:  # what the audit reads of a leaderboard row
    id: str
    rank: int
    title: str


def _row(hid: str, rank: int) -> Row:
    return Row(hid, rank, hid.upper())


def test_agreement_and_flags_known_answer() -> None:
    matches = [
        _match("t1", "a", "b", "a", 1),
        _match("t2", "a", "c", "a", 2),
        _match("t3", "b", "c", "c", 3),
    ]
    opinions = [
        SecondOpinion(first_id="a", second_id="b", winner_id="a", model="m2", task_id="t1"),
        SecondOpinion(first_id="a", second_id="c", winner_id="c", model="m2", task_id="t2"),
        SecondOpinion(first_id="b", second_id="c", winner_id="c", model="m2", task_id="t3"),
        # Its match is gone (a removed hypothesis): not counted.
        SecondOpinion(first_id="a", second_id="d", winner_id="d", model="m2", task_id="t9"),
    ]
    found = second_judge(matches, [_row("a", 1), _row("c", 2)], opinions)
    assert (found.checked, found.agreed) == (3, 2)
    assert found.agreement == pytest.approx(2 / 3)
    assert [(f.id, f.checked, f.flipped) for f in found.flagged] == [("a", 2, 1)]
