"""The co-scientist's method, part by part: plan, reviews that count, debates, duplicates.

The session-wide checks (a 600-call scripted session seen through `show --json`,
the reports and the TUI) are in test_method_session.py.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import anyio
import pytest
from textual.widgets import Input, Static

from coscientist.config import Limits, Settings
from coscientist.llm.base import GenerationRequest
from coscientist.llm.scripted import HandlerResult, ScriptedBackend
from coscientist.scheduler.method import (
    MethodMemory,
    debate_k,
    deep_reviews_due,
    tournament_reviews_due,
)
from coscientist.scheduler.method import consequence as review_consequence
from coscientist.scheduler.policy import Policy, Snapshot
from coscientist.scheduler.runner import TaskRunner
from coscientist.scheduler.state import SessionState
from coscientist.schemas import (
    HypothesisDraft,
    HypothesisStatus,
    Match,
    MatchMode,
    Observation,
    Rating,
    ResearchPlan,
    Review,
    ReviewDraft,
    ReviewKind,
    Task,
    TaskKind,
)
from coscientist.session import CoScientist
from coscientist.store import Store
from coscientist.tui.app import BrowseApp
from coscientist.tui.edit_dialogs import ObservationScreen, PlanItemScreen
from coscientist.tui.method_screen import MethodScreen
from tests.agent_support import Harness, hypothesis
from tests.tui_support import wait_for

pytestmark = pytest.mark.anyio

GOAL = "Why do some tumours resist chemotherapy?"


def settings(tmp_path: Path, **kw: object) -> Settings:
    return Settings(db=f"sqlite:///{tmp_path / 's.db'}", model="scripted", **kw)  # type: ignore[arg-type]


def text_of(request: GenerationRequest) -> str:
    return "\n".join(m["content"] for m in request.messages if m["role"] == "user")


def plan_free(request: GenerationRequest) -> bool:
    """Requests that need no plan: the intake's own, and the graph's relation extraction."""
    return request.schema_name in ("GoalSafetyOut", "PlanOut") or text_of(request).startswith(
        "Extract the relations"
    )


# --- 1. the research plan ---------------------------------------------------------------


async def test_the_plan_is_drafted_first_and_every_prompt_receives_it(tmp_path: Path) -> None:
    backend = ScriptedBackend(seed=2)
    given = ResearchPlan(
        preferences=["PREF-A mechanisms testable in cell lines"],
        constraints=["CONSTRAINT-B no animal experiments"],
    )
    with CoScientist(settings(tmp_path, concurrency=2), backend=backend) as cs:
        session = cs.start(GOAL, plan=given)
        await session.run(Limits(max_calls=90))
        plan = cs.store.get_session(session.id).plan
    assert plan is not None and plan.drafted and plan.objective
    assert plan.preferences[0] == "PREF-A mechanisms testable in cell lines", (
        "the scientist's first"
    )
    assert plan.constraints[0] == "CONSTRAINT-B no animal experiments"
    assert len(plan.constraints) > 1 and plan.attributes, "the model added what the goal implies"
    schemas = [r.schema_name for r in backend.requests]
    assert schemas[:2] == ["GoalSafetyOut", "PlanOut"], "safety first, then the plan"
    later = [r for r in backend.requests if not plan_free(r)]
    assert {r.role for r in later} >= {"generate", "review", "match"} or len(later) > 50
    missing = [r.schema_name for r in later if "CONSTRAINT-B" not in text_of(r)]
    assert missing == []
    assert all(plan.attributes[0] in text_of(r) for r in later if "Research plan:" in text_of(r))


async def test_a_changed_plan_applies_to_tasks_that_start_after_it(tmp_path: Path) -> None:
    state: dict[str, int] = {}
    holder: dict[str, object] = {}

    def handler(request: GenerationRequest) -> HandlerResult:
        if len(backend.requests) == 40 and "at" not in state:
            session = holder["session"]
            assert hasattr(session, "update_plan")
            session.update_plan(constraints=["NEW-CONSTRAINT-C stay under budget"])
            state["at"] = len(backend.requests) - 1
        return None

    backend = ScriptedBackend(seed=4, handler=handler)
    with CoScientist(settings(tmp_path, concurrency=1), backend=backend) as cs:
        session = cs.start(GOAL)
        holder["session"] = session
        await session.run(Limits(max_calls=80))
        stored = cs.store.get_session(session.id).plan
    assert stored is not None and "NEW-CONSTRAINT-C stay under budget" in stored.constraints
    texts = [("NEW-CONSTRAINT-C" in text_of(r), plan_free(r)) for r in backend.requests]
    first = next(i for i, (has, _) in enumerate(texts) if has)
    assert first > state["at"], "the task running when it changed keeps its plan"
    after = [has for has, free in texts[first:] if not free]
    late = [
        r.schema_name
        for r in backend.requests[first:]
        if not plan_free(r) and "NEW-CONSTRAINT-C" not in text_of(r)
    ]
    assert after and all(after), late


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "coscientist.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )


def test_the_plan_command_edits_from_options_and_toml_and_observe_adds_findings(
    tmp_path: Path,
) -> None:
    with CoScientist(settings(tmp_path)) as cs:
        sid = cs.start(GOAL).id
    db = f"sqlite:///{tmp_path / 's.db'}"
    plan_file = tmp_path / "plan.toml"
    plan_file.write_text(
        'objective = "Find one resistance mechanism to test"\n'
        'constraints = ["no animal experiments"]\n'
        'out_of_scope = ["radiotherapy"]\n'
    )
    done = cli("plan", sid, "--db", db, "--file", str(plan_file), "--preference", "cell lines")
    assert done.returncode == 0, done.stderr
    assert "objective: Find one resistance mechanism to test" in done.stdout
    shown = cli("plan", sid, "--db", db, "--constraint", "budget under 10k", "--json")
    plan = json.loads(shown.stdout)
    assert plan["constraints"] == ["no animal experiments", "budget under 10k"]
    assert plan["preferences"] == ["cell lines"] and plan["out_of_scope"] == ["radiotherapy"]
    assert plan["edited_at"] is not None and not plan["drafted"]
    replaced = cli(
        "plan", sid, "--db", db, "--constraint", "only public data", "--replace", "--json"
    )
    assert json.loads(replaced.stdout)["constraints"] == ["only public data"]

    plan_file.write_text('objective = "x"\nbudget = 3\n')
    bad = cli("plan", sid, "--db", db, "--file", str(plan_file))
    assert bad.returncode == 2 and "unknown keys budget" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1

    added = cli("observe", sid, "Resistant cells overexpress ABCB1", "--db", db)
    assert added.returncode == 0, added.stderr
    with CoScientist(settings(tmp_path)) as cs:
        (observation,) = cs.session(sid).observations()
    assert observation.id == added.stdout.strip() and observation.source == "scientist"
    assert cli("observe", sid, "   ", "--db", db).returncode == 2


# --- 3. reviews that count -------------------------------------------------------------------


def test_a_fatal_flaw_or_a_failed_simulation_takes_a_hypothesis_out_unless_pinned() -> None:
    h = hypothesis("h1")
    fatal = ReviewDraft(
        hypothesis_id="h1",
        kind=ReviewKind.DEEP_VERIFICATION,
        passed=False,
        details={"fatal": ["Catheters carry no charge"]},
    )
    out = review_consequence(fatal, h, binding=True)
    assert out is not None and out.status == HypothesisStatus.FLAWED
    assert out.reason == "deep verification found a fatal flaw: Catheters carry no charge"
    failed = ReviewDraft(
        hypothesis_id="h1", kind=ReviewKind.SIMULATION, passed=False, details={"fails_at": 2}
    )
    out = review_consequence(failed, h, binding=True)
    assert out is not None and out.reason == "simulation failed at step 2"
    assert review_consequence(fatal, h.model_copy(update={"pinned": True}), binding=True) is None
    assert review_consequence(fatal, h, binding=False) is None, "advisory with the 135M model"
    passed = fatal.model_copy(update={"passed": True})
    assert review_consequence(passed, h, binding=True) is None
    retired = h.model_copy(update={"status": HypothesisStatus.RETIRED})
    assert review_consequence(fatal, retired, binding=True) is None


def rating(hid: str, matches: int) -> Rating:
    return Rating(hypothesis_id=hid, mu=25.0, sigma=8.0, matches=matches, wins=0)


def review(hid: str, kind: ReviewKind, n: int = 0) -> Review:
    return Review(hypothesis_id=hid, kind=kind, id=f"r{hid}{kind.value}{n}", session_id="s1")


def test_top_k_entrants_are_due_a_deep_verification_and_one_more_deeper_review() -> None:
    ratings = {"p": rating("p", 5), "child": rating("child", 2), "new": rating("new", 1)}
    reviews = {
        "p": [review("p", ReviewKind.DEEP_VERIFICATION), review("p", ReviewKind.SIMULATION)],
        "child": [review("child", ReviewKind.INITIAL)],
    }
    due = dict(deep_reviews_due(["p", "child", "new"], reviews, ratings))
    # The parent has both; its evolved child, entering the top, is due both again; a hypothesis
    # that has not played two matches sits in the top on its initial rating only.
    assert set(due) == {"child"}
    reviews["child"].append(review("child", ReviewKind.DEEP_VERIFICATION))
    assert (
        ReviewKind.DEEP_VERIFICATION in dict(deep_reviews_due(["child"], reviews, ratings))["child"]
    )
    reviews["child"].append(review("child", ReviewKind.OBSERVATION))
    assert deep_reviews_due(["child"], reviews, ratings) == []
    reviews["p"] = [review("p", ReviewKind.DEEP_VERIFICATION), review("p", ReviewKind.TOURNAMENT)]
    assert [hid for hid, _ in deep_reviews_due(["p"], reviews, ratings)] == ["p"], (
        "a tournament review is not a deeper review"
    )


def test_the_policy_schedules_deep_verification_first_then_another_kind() -> None:
    policy = Policy(rng=random.Random(3))
    state = SessionState(rng=random.Random(3))
    base = {"n_hypotheses": 10, "n_rankable": 10, "has_meta_review": True, "max_hypotheses": 10}
    first = policy.next(Snapshot(**base, deep_due=[("h1", frozenset())]), state)
    assert first is not None and first.kind == TaskKind.REVIEW
    assert first.payload == {"hypothesis_id": "h1", "kind": "deep_verification"}
    done = frozenset({ReviewKind.INITIAL, ReviewKind.DEEP_VERIFICATION})
    kinds = Counter()
    for observations, literature in ((0, False), (2, False), (0, True)):
        for _ in range(60):
            snap = Snapshot(
                **base,
                deep_due=[("h1", done)],
                observations=observations,
                literature=literature,
            )
            spec = policy.next(snap, state)
            assert spec is not None and spec.kind == TaskKind.REVIEW
            kinds[(observations, literature, spec.payload["kind"])] += 1
    assert {k[2] for k in kinds if k[:2] == (0, False)} == {"simulation"}, (
        "no observations and no literature: no observation review"
    )
    assert {k[2] for k in kinds if k[:2] == (2, False)} == {"simulation", "observation"}
    assert {k[2] for k in kinds if k[:2] == (0, True)} == {"full"}, "literature: full review first"
    with_full = done | {ReviewKind.FULL}
    after = set()
    for _ in range(60):
        snap = Snapshot(**base, deep_due=[("h1", with_full)], literature=True)
        spec = policy.next(snap, state)
        assert spec is not None
        after.add(spec.payload["kind"])
    assert after == {"simulation", "observation"}


def test_with_literature_the_full_review_comes_on_top_of_another_deeper_review() -> None:
    ratings = {"h": Rating(hypothesis_id="h", mu=30, sigma=2, matches=10)}
    kinds = (ReviewKind.INITIAL, ReviewKind.DEEP_VERIFICATION, ReviewKind.SIMULATION)
    reviews = {"h": [review("h", k) for k in kinds]}
    assert deep_reviews_due(["h"], reviews, ratings) == []
    assert [hid for hid, _ in deep_reviews_due(["h"], reviews, ratings, literature=True)] == ["h"]
    reviews["h"].append(review("h", ReviewKind.FULL))
    assert deep_reviews_due(["h"], reviews, ratings, literature=True) == []
    only_full = {"h": [review("h", k) for k in (ReviewKind.DEEP_VERIFICATION, ReviewKind.FULL)]}
    assert deep_reviews_due(["h"], only_full, ratings) == []
    assert [hid for hid, _ in deep_reviews_due(["h"], only_full, ratings, literature=True)] == ["h"]


def test_tournament_reviews_are_due_after_new_losses() -> None:
    memory = MethodMemory()
    lost = Match(id="m1", session_id="s1", seq=1, first_id="a", second_id="b", winner_id="b")
    memory.on_match(lost)
    assert tournament_reviews_due(["a", "b"], memory) == ["a"]
    memory.on_review(
        review("a", ReviewKind.TOURNAMENT).model_copy(update={"details": {"losses_seen": 1}})
    )
    assert tournament_reviews_due(["a", "b"], memory) == []
    memory.on_match(lost.model_copy(update={"id": "m2", "seq": 2}))
    assert tournament_reviews_due(["a"], memory) == ["a"]


# --- 5. debates where they matter ------------------------------------------------------------


def test_matches_within_the_top_k_are_debates_from_six_rated_hypotheses() -> None:
    assert debate_k(6) == 5 and debate_k(40) == 8 and debate_k(40, configured=3) == 3
    for pool in (5, 6, 30):
        state = SessionState(rng=random.Random(pool))
        for i in range(pool):
            h = hypothesis(f"h{i:02d}").model_copy(update={"reviewed": True})
            state.add_hypothesis(h, Rating(hypothesis_id=h.id, mu=20.0 + i, sigma=3.0))
        policy = Policy(rng=random.Random(pool))
        top = set(state.top_ids(debate_k(pool)))
        snap = Snapshot(  # enough debates played: pairs come from the pairing policy alone
            n_hypotheses=pool,
            n_rankable=pool,
            has_meta_review=True,
            max_hypotheses=pool,
            matches_done=100,
            debates_done=100,
        )
        modes = Counter()
        for _ in range(300):
            spec = policy.next(snap, state)
            if spec is None or spec.kind != TaskKind.MATCH:
                continue
            pair = {spec.payload["first_id"], spec.payload["second_id"]}
            debate = pool >= 6 and pair <= top
            assert spec.payload["mode"] == (MatchMode.DEBATE if debate else MatchMode.SINGLE)
            modes[spec.payload["mode"]] += 1
        assert modes[MatchMode.SINGLE] > 0
        assert (modes[MatchMode.DEBATE] > 0) == (pool >= 6)


# --- 7. no duplicates at the top -------------------------------------------------------------


def test_same_titles_and_near_identical_statements_are_duplicates_at_creation() -> None:
    state = SessionState(rng=random.Random(1))
    known = hypothesis("old", "Efflux pumps drive resistance").model_copy(update={"reviewed": True})
    state.add_hypothesis(known)
    ids = iter(["n1", "n2", "n3", "n4"])
    runner = TaskRunner(state, "s1", lambda: next(ids))
    drafts = [
        HypothesisDraft(
            title="Efflux pumps drive RESISTANCE!",  # the same title, written differently
            statement="A different mechanism entirely: tumour cells export the drug.",
            origin="generation:debate",
        ),
        HypothesisDraft(
            title="Dormancy shields tumour cells",
            statement="Dormant tumour cells survive chemotherapy because they do not divide.",
            origin="generation:debate",
        ),
        HypothesisDraft(
            title="Dormancy shields tumour cells",  # the same title within one answer
            statement="Quiescent cells escape drugs that target dividing cells.",
            origin="generation:debate",
        ),
    ]
    result = anyio.run(runner._materialise, drafts, None)  # async: it builds the graph part too
    statuses = [(h.status, h.duplicate_of, h.status_reason) for h in result.hypotheses]
    assert statuses == [
        (HypothesisStatus.DUPLICATE, "old", "same title as old"),
        (HypothesisStatus.ACTIVE, None, None),
        (HypothesisStatus.DUPLICATE, "n2", "same title as n2"),
    ]


# --- the TUI steers the method -----------------------------------------------------------------


async def test_the_tui_adds_to_the_plan_and_gives_observations(tmp_path: Path) -> None:
    with CoScientist(settings(tmp_path)) as cs:
        session = cs.start(GOAL, plan=ResearchPlan(constraints=["no animal experiments"]))
        app = BrowseApp(cs.store, session.id, poll_seconds=5.0)
        async with app.run_test(size=(110, 32)) as pilot:
            await pilot.press("v")
            await wait_for(lambda: isinstance(app.screen, MethodScreen), what="the method page")
            body = app.screen.query_one("#method-body", Static)
            await wait_for(lambda: "no animal experiments" in str(body.render()), what="plan")
            await pilot.press("e")
            await wait_for(lambda: isinstance(app.screen, PlanItemScreen), what="the plan dialog")
            app.screen.query_one("#plan-constraint", Input).focus()
            await pilot.press(*"only public data", "enter")
            await wait_for(lambda: isinstance(app.screen, MethodScreen), what="the method page")
            await pilot.press("o")
            await wait_for(lambda: isinstance(app.screen, ObservationScreen), what="the dialog")
            await pilot.press(*"ABCB1 is high", "enter")
            await wait_for(lambda: "ABCB1 is high" in str(body.render()), what="the observation")
        plan = cs.store.get_session(session.id).plan
        assert plan is not None
        assert plan.constraints == ["no animal experiments", "only public data"]
        assert [o.text for o in session.observations()] == ["ABCB1 is high"]


# --- observation reviews use real observations only ---------------------------------------------


class FoundInPapers:
    """Literature tools that always find one paper."""

    async def search(self, query: str, limit: int = 5) -> list[dict[str, str]]:
        return [
            {
                "identifier": "doi:10.1000/abcb1",
                "title": "ABCB1 in resistant tumour cells",
                "abstract": "Efflux raised the IC50 tenfold.",
            }
        ]

    async def verify(self, identifier: str) -> bool | None:
        return True


async def test_observation_reviews_read_the_scientists_and_the_literatures_findings() -> None:
    state = SessionState(rng=random.Random(1), session_id="s1")
    h = hypothesis("h1").model_copy(update={"reviewed": True})
    state.add_hypothesis(h)
    runner = TaskRunner(state, "s1", lambda: "x")
    task = Task(
        id="t1",
        session_id="s1",
        kind=TaskKind.REVIEW,
        payload={"hypothesis_id": "h1", "kind": "observation"},
    )
    bare = Harness()
    result = await runner.run(task, bare.ctx)
    assert result.reviews == [] and bare.client.calls == 0, "no observations: not run"

    state.method.observations.append(
        Observation(id="o1", session_id="s1", text="Resistant cells overexpress ABCB1")
    )
    with_papers = Harness(literature=FoundInPapers())
    result = await runner.run(task, with_papers.ctx)
    (draft,) = result.reviews
    assert draft.kind == ReviewKind.OBSERVATION
    shown = draft.details["observations"]
    assert shown[0] == "Resistant cells overexpress ABCB1"
    assert "ABCB1 in resistant tumour cells" in shown[1] and "doi:10.1000/abcb1" in shown[1]
    assert "[2] ABCB1 in resistant tumour cells" in with_papers.prompts()[-1]


async def test_a_plan_edited_from_another_process_reaches_a_running_session(
    tmp_path: Path,
) -> None:
    holder: dict[str, object] = {}

    def handler(request: GenerationRequest) -> HandlerResult:
        if len(backend.requests) == 30:
            other = Store.open(f"sqlite:///{tmp_path / 's.db'}")  # as `coscientist plan` would
            info = other.get_session(str(holder["sid"]))
            plan = (info.plan or ResearchPlan()).edited({"constraints": ["ELSEWHERE-D"]})
            other.update_session(info.id, plan=plan)
            other.close()
        return None

    backend = ScriptedBackend(seed=6, latency=0.03, handler=handler)
    with CoScientist(settings(tmp_path, concurrency=1), backend=backend) as cs:
        session = cs.start(GOAL)
        holder["sid"] = session.id
        await session.run(Limits(max_calls=160))
    seen = [i for i, r in enumerate(backend.requests) if "ELSEWHERE-D" in text_of(r)]
    assert seen and seen[0] > 30, "picked up from the store by the running loop"


def test_the_top_k_gets_its_share_of_debates_whatever_the_pairing_prefers() -> None:
    state = SessionState(rng=random.Random(7))
    for i in range(40):
        h = hypothesis(f"h{i:02d}").model_copy(update={"reviewed": True})
        state.add_hypothesis(h, Rating(hypothesis_id=h.id, mu=20.0 + i / 4, sigma=3.0))
    top = set(state.top_ids(debate_k(40)))
    policy = Policy(rng=random.Random(7))
    base = {"n_hypotheses": 40, "n_rankable": 40, "has_meta_review": True, "max_hypotheses": 40}
    behind = Snapshot(**base, matches_done=50, debates_done=2)  # 4 % debates so far
    ahead = Snapshot(**base, matches_done=50, debates_done=30)
    for snap, expect_all in ((behind, True), (ahead, False)):
        specs = [policy.next(snap, state) for _ in range(60)]
        modes = [
            (s.payload["mode"], {s.payload["first_id"], s.payload["second_id"]} <= top)
            for s in specs
            if s is not None and s.kind == TaskKind.MATCH
        ]
        assert modes and all(debate == (mode == "debate") for mode, debate in modes)
        share = sum(mode == "debate" for mode, _ in modes) / len(modes)
        assert share == 1.0 if expect_all else share < 1.0
