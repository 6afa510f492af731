"""A model per role: which role called which model, read back from the store's provenance.

Sessions here run two scripted models told apart by their seeds (`scripted` for the
session, `scripted:seed=7` for the judge): the provenance rows name the model behind
each call, so the tests check role by role which one answered. The HTTP version, with
two real servers on 127.0.0.1, is in test_roles_http.py.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import pytest
from sqlalchemy import select

from coscientist.config import Limits, RoleModel, Settings
from coscientist.errors import ConfigError
from coscientist.llm.base import CallContext, GenerationRequest, RawCompletion
from coscientist.llm.client import ModelClient
from coscientist.llm.roles import plan_roles, role_labels, roles_from_options
from coscientist.llm.router import ClientOptions, build_router
from coscientist.scheduler.worker import run_worker
from coscientist.schemas import HypothesisStatus, SessionStatus, TaskKind, TaskSpec
from coscientist.session import CoScientist
from coscientist.store import Store
from coscientist.store.tables import llm_calls
from tests.scheduler_support import capture_schedulers

GOAL = "Find mechanisms by which gut microbes modulate tumour immunity"
JUDGE = "scripted:seed=7"


def settings(tmp_path: Path, **kw: Any) -> Settings:
    return Settings(db=f"sqlite:///{tmp_path / 'r.db'}", model="scripted", seed=3, **kw)


def calls_by_role_and_model(store: Store, session_id: str) -> Counter[tuple[str, str]]:
    c = llm_calls.c
    with store.engine.connect() as conn:
        rows = conn.execute(select(c.role, c.endpoint).where(c.session_id == session_id)).all()
    return Counter((str(role), str(endpoint)) for role, endpoint in rows)


# --- a session with two models ---------------------------------------------------------


@pytest.mark.anyio
async def test_the_judge_model_makes_every_ranking_call_and_no_other(tmp_path: Path) -> None:
    roles = {"ranking": RoleModel(model=JUDGE, concurrency=2)}
    with CoScientist(settings(tmp_path, concurrency=4, roles=roles)) as cs:
        session = cs.start(GOAL)
        summary = await session.run(Limits(max_calls=160, convergence_window=100_000))
        seen = calls_by_role_and_model(cs.store, session.id)
        assert summary.matches > 0, summary
        by_role: dict[str, set[str]] = {}
        for role, endpoint in seen:
            by_role.setdefault(role, set()).add(endpoint)
        assert by_role["ranking"] == {JUDGE}
        for role in ("generation", "reflection", "evolution", "meta_review", "graph", "intake"):
            assert by_role.get(role, {"scripted"}) == {"scripted"}, (role, by_role)
        assert {"generation", "reflection"} <= set(by_role)
        # One budget for both models: every call of either counts toward max_calls.
        assert sum(seen.values()) == cs.store.call_stats(session.id)["calls"]
        assert cs.store.call_stats(session.id)["answered"] <= 160
        assert sum(n for (role, _), n in seen.items() if role == "ranking") > 0
        # The session remembers its role map; show --json and the reports read it from there.
        stored = cs.store.get_session(session.id)
        assert stored.roles == {"ranking": RoleModel(model=JUDGE, concurrency=2)}
        labels = role_labels(stored.model_spec, stored.base_url, stored.roles)
        assert labels["ranking"] == JUDGE and labels["generation"] == "scripted"


@pytest.mark.anyio
async def test_a_resume_uses_the_stored_role_map_not_the_new_configuration(
    tmp_path: Path,
) -> None:
    roles = {"ranking": RoleModel(model=JUDGE), "graph": RoleModel(model="scripted:seed=9")}
    with CoScientist(settings(tmp_path, roles=roles)) as cs:
        session = cs.start(GOAL)
        await session.run(Limits(max_calls=60))
        first = calls_by_role_and_model(cs.store, session.id)
        session_id = session.id
    # Another process, configured with no roles at all (or other ones), resumes the session.
    other = {"ranking": RoleModel(model="scripted:seed=11")}
    with CoScientist(settings(tmp_path, roles=other)) as cs:
        session = cs.session(session_id)
        await session.run(Limits(max_calls=220, convergence_window=100_000))
        after = calls_by_role_and_model(cs.store, session_id) - first
    ranking = {endpoint for (role, endpoint) in after if role == "ranking"}
    graph = {endpoint for (role, endpoint) in after if role == "graph"}
    assert ranking == {JUDGE}
    assert graph <= {"scripted:seed=9"}
    assert {e for (r, e) in after if r not in ("ranking", "graph")} == {"scripted"}


@pytest.mark.anyio
async def test_a_worker_process_uses_the_sessions_role_map(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with CoScientist(settings(tmp_path, roles={"ranking": RoleModel(model=JUDGE)})) as cs:
        session = cs.start(GOAL)
        await session.run(Limits(max_calls=60))
        hypotheses = cs.store.list_hypotheses(session.id)
        ids = [h.id for h in hypotheses if h.status == HypothesisStatus.ACTIVE][:4]
        assert len(ids) == 4
        before = calls_by_role_and_model(cs.store, session.id)
        specs = [
            TaskSpec(kind=TaskKind.MATCH, payload={"first_id": ids[0], "second_id": ids[1]}),
            TaskSpec(kind=TaskKind.MATCH, payload={"first_id": ids[2], "second_id": ids[3]}),
        ]
        cs.store.enqueue(session.id, specs)
        cs.store.update_session(session.id, status=SessionStatus.RUNNING, limits={"max_calls": 200})
        session_id = session.id
    workers = capture_schedulers(monkeypatch)
    # The worker's own configuration names another model and no roles: the session's win.
    worker_settings = Settings(db=f"sqlite:///{tmp_path / 'r.db'}", model="scripted:seed=99")
    with CoScientist(worker_settings) as cs:
        summary = await run_worker(cs, idle_exit=0.5)
        assert summary.tasks_done >= 2
        (worker,) = workers
        assert worker.models.for_role("ranking").label == JUDGE
        assert worker.models.for_role("generation").label == "scripted"
        new = calls_by_role_and_model(cs.store, session_id) - before
    assert {endpoint for (role, endpoint) in new if role == "ranking"} == {JUDGE}
    assert new, "the worker made no calls"


# --- clients: one per distinct model, shared ------------------------------------------------


def test_roles_on_one_model_share_one_client_and_one_backend(tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp")
    roles = {
        "generation": RoleModel(model="embedded"),
        "reflection": RoleModel(model="embedded", concurrency=1),
        "ranking": RoleModel(model=JUDGE),
    }
    config = settings(tmp_path, roles=roles)
    plan = plan_roles(config)
    router = build_router(plan, config, ClientOptions(gate=None, recorder=None, seed=0), {})
    embedded = router.for_role("generation")
    assert router.for_role("reflection") is embedded  # one client, so one Llama to load
    assert type(embedded.backend).__name__ == "EmbeddedBackend"
    assert router.for_role("ranking").label == JUDGE
    assert router.for_role("evolution") is router.default  # no model of its own
    assert router.for_role("intake") is router.default
    assert len(router.clients) == 3
    assert router.concurrency == sum(c.concurrency for c in router.clients)


class CountingBackend:
    """Counts calls in flight per role; each call takes a little while."""

    name = "counting"
    default_concurrency = 8

    def __init__(self) -> None:
        self.in_flight: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()

    async def generate(self, request: GenerationRequest) -> RawCompletion:
        self.in_flight[request.role] += 1
        self.peak[request.role] = max(self.peak[request.role], self.in_flight[request.role])
        await anyio.sleep(0.02)
        self.in_flight[request.role] -= 1
        return RawCompletion(text="ok", tokens_in=1, tokens_out=1, model="counting")

    async def aclose(self) -> None:
        return None


@pytest.mark.anyio
async def test_a_role_limit_caps_that_role_on_a_shared_model() -> None:
    backend = CountingBackend()
    client = ModelClient(backend, concurrency=8, role_limits={"ranking": 2})

    async def call(role: str) -> None:
        await client.text([{"role": "user", "content": role}], ctx=CallContext(role=role))

    started = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for _ in range(8):
            tg.start_soon(call, "ranking")
            tg.start_soon(call, "generation")
    assert backend.peak["ranking"] == 2
    assert backend.peak["generation"] > 2  # the other role still has the model's slots
    assert time.perf_counter() - started < 5


# --- configuration ---------------------------------------------------------------------


def test_command_line_options_go_over_the_configured_roles() -> None:
    configured = {"ranking": RoleModel(model="scripted:seed=1", concurrency=3)}
    roles = roles_from_options(
        configured,
        models=["graph=scripted:seed=2", "meta-review=scripted:seed=4"],
        base_urls=["judge=http://127.0.0.1:9/v1/"],
        concurrency=["graph=5"],
        judge_model="openai-compatible:big",
    )
    assert roles["ranking"] == RoleModel(
        model="openai-compatible:big", base_url="http://127.0.0.1:9/v1", concurrency=3
    )
    assert roles["graph"] == RoleModel(model="scripted:seed=2", concurrency=5)
    assert roles["meta_review"] == RoleModel(model="scripted:seed=4")
    assert configured["ranking"].model == "scripted:seed=1"  # the configured map is untouched


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"models": ["jury=scripted"]}, "unknown role 'jury'"),
        ({"models": ["ranking"]}, "use --role-model ROLE=VALUE"),
        ({"models": ["ranking="]}, "use --role-model ROLE=VALUE"),
        ({"concurrency": ["ranking=0"]}, "whole number from 1 to 4096"),
        ({"concurrency": ["ranking=lots"]}, "whole number from 1 to 4096"),
        ({"base_urls": ["=http://x"]}, "ROLE=VALUE"),
    ],
)
def test_bad_role_options_name_the_problem(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        roles_from_options({}, **kwargs)


@pytest.mark.parametrize(
    ("roles", "message"),
    [
        ({"ranking": RoleModel(model="gpt-banana")}, "role ranking: unknown model spec"),
        ({"graph": RoleModel(model="openai-compatible")}, "role graph: openai-compatible needs"),
        (
            {"ranking": RoleModel(model="openai-compatible", base_url="ftp://h/v1")},
            "role ranking: --base-url 'ftp://h/v1' is not an http",
        ),
    ],
)
def test_bad_role_models_fail_before_any_session(
    tmp_path: Path, roles: dict[str, RoleModel], message: str
) -> None:
    with CoScientist(settings(tmp_path, roles=roles)) as cs:
        with pytest.raises(ConfigError, match=message):
            cs.start(GOAL)
        assert cs.sessions() == []


def test_unknown_roles_in_settings_are_refused_and_aliases_accepted() -> None:
    with pytest.raises(ValueError, match="unknown role 'jury'"):
        Settings(roles={"jury": {"model": "scripted"}})  # type: ignore[dict-item]
    aliased = Settings(roles={"judge": {"model": "scripted"}})  # type: ignore[dict-item]
    assert set(aliased.roles) == {"ranking"}


def test_role_keys_come_from_the_environment_and_are_never_stored(tmp_path: Path) -> None:
    roles = {"ranking": RoleModel(model="openai-compatible:big", base_url="http://u:pw@h:1/v1")}
    env = {"COSCIENTIST_RANKING_API_KEY": "sk-role-secret"}
    plan = plan_roles(settings(tmp_path, roles=roles), environ=env)
    assert plan.endpoint("ranking").api_key == "sk-role-secret"
    assert plan.endpoint("generation").api_key is None
    stored = plan.stored_roles()
    assert "pw" not in str(stored) and "sk-role" not in str(stored)
    assert "pw" not in plan.endpoint("ranking").label
    assert "sk-role" not in repr(plan.endpoint("ranking"))


def test_a_session_stored_before_role_models_reads_as_one_model(tmp_path: Path) -> None:
    with CoScientist(settings(tmp_path)) as cs:
        session = cs.start(GOAL)
        with cs.store.engine.begin() as conn:  # what a row from before migration 0008 holds
            conn.exec_driver_sql("UPDATE sessions SET roles = NULL")
        info = cs.store.get_session(session.id)
        assert info.roles == {}
        assert set(role_labels(info.model_spec, info.base_url, info.roles).values()) == {"scripted"}


# --- the command line end to end -----------------------------------------------------------


def _cli(argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: Any) -> tuple[int, str]:
    import sys

    from coscientist import cli

    monkeypatch.setattr(sys, "argv", ["coscientist", *argv])
    with pytest.raises(SystemExit) as caught:
        cli.main()
    out, err = capsys.readouterr()
    code = caught.value.code
    return (code if isinstance(code, int) else 1), out + err


def test_run_with_a_judge_model_then_show_json_says_which_model_each_role_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    db = f"sqlite:///{tmp_path / 'cli.db'}"
    run = ["run", GOAL, "--db", db, "--model", "scripted", "--seed", "3", "--concurrency", "4"]
    run += ["--judge-model", JUDGE, "--role-model", "graph=scripted:seed=9"]
    run += ["--role-concurrency", "judge=2", "--max-calls", "160"]
    code, text = _cli(run, monkeypatch, capsys)
    assert code == 0, text
    with CoScientist(Settings(db=db)) as cs:
        (info,) = cs.sessions()
    code, text = _cli(["show", info.id, "--db", db, "--json"], monkeypatch, capsys)
    assert code == 0, text
    models = json.loads(text)["models"]
    assert models["roles"]["ranking"] == JUDGE
    assert models["roles"]["graph"] == "scripted:seed=9"
    assert models["roles"]["generation"] == "scripted"
    assert set(models["by_model"][JUDGE]["by_role"]) == {"ranking"}
    assert "ranking" not in models["by_model"]["scripted"]["by_role"]
    assert json.loads(text)["session"]["roles"]["ranking"] == {
        "model": JUDGE,
        "base_url": None,
        "concurrency": 2,
    }
    code, text = _cli(["show", info.id, "--db", db], monkeypatch, capsys)
    assert f"model for ranking: {JUDGE}" in text
    out = tmp_path / "r.md"
    code, text = _cli(
        ["export", info.id, "--db", db, "--format", "md", "--output", str(out)], monkeypatch, capsys
    )
    assert code == 0, text
    report = out.read_text(encoding="utf-8")
    assert f"| ranking | {JUDGE} |" in report
    assert f"| {JUDGE} | {models['by_model'][JUDGE]['calls']} |" in report


# --- planning by model ----------------------------------------------------------------------


def test_the_policy_plans_no_task_whose_model_is_full() -> None:
    import random

    from coscientist.scheduler.policy import Policy, Snapshot
    from coscientist.scheduler.state import SessionState
    from coscientist.schemas import Hypothesis

    state = SessionState(rng=random.Random(0), session_id="s")
    for i in range(12):
        state.add_hypothesis(
            Hypothesis(
                id=f"h{i}",
                session_id="s",
                title=f"Hypothesis {i} on topic {i % 5}",
                statement=f"Mechanism {i} acts through pathway {i % 3}.",
                origin="generation:debate",
                reviewed=True,
            )
        )
    policy = Policy(rng=random.Random(0))
    free = Counter(
        spec.kind
        for spec in (
            policy.next(Snapshot(n_hypotheses=12, n_rankable=12), state) for _ in range(300)
        )
        if spec is not None
    )
    assert free[TaskKind.MATCH] > 0
    judged_out = Snapshot(n_hypotheses=12, n_rankable=12, full=frozenset({TaskKind.MATCH}))
    kinds = Counter(
        spec.kind for spec in (policy.next(judged_out, state) for _ in range(300)) if spec
    )
    assert kinds and TaskKind.MATCH not in kinds
    # Initial reviews come first, unless the reviewer's model is full: then other work.
    waiting = Snapshot(n_hypotheses=12, n_rankable=12, unreviewed=["h1"])
    spec = policy.next(waiting, state)
    assert spec is not None and spec.kind == TaskKind.REVIEW
    busy_reviewer = Snapshot(
        n_hypotheses=12, n_rankable=12, unreviewed=["h1"], full=frozenset({TaskKind.REVIEW})
    )
    spec = policy.next(busy_reviewer, state)
    assert spec is None or spec.kind != TaskKind.REVIEW
    # A pool still filling waits for its generator rather than doing anything else.
    filling = Snapshot(n_hypotheses=1, n_rankable=1, full=frozenset({TaskKind.GENERATE}))
    assert policy.next(filling, state) is None


@pytest.mark.anyio
async def test_a_slow_judge_does_not_hold_the_writers_slots(tmp_path: Path) -> None:
    # The judge takes 0.3 s a call, one at a time; the writer answers at once. Matches must
    # not fill the run's slots waiting for the judge while the writer idles.
    roles = {"ranking": RoleModel(model="scripted:latency=0.3", concurrency=1)}
    with CoScientist(settings(tmp_path, concurrency=4, roles=roles)) as cs:
        session = cs.start(GOAL)
        summary = await session.run(Limits(time_limit=6, max_calls=5000))
        by_role = cs.store.call_stats(session.id)["by_role"]
    ranking = by_role["ranking"]["calls"]
    others = sum(v["calls"] for role, v in by_role.items() if role != "ranking")
    assert ranking <= 6 / 0.3 + 2  # the judge's pace bounds its calls
    # While the writer kept working beside it. Measured here (6 s): 417 calls in all with
    # planning by model, 82 when matches waiting for the judge held every slot.
    assert others > 8 * ranking, by_role
    assert summary.hypotheses > 30, (summary, by_role)
