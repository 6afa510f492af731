"""A model per role over real HTTP: the session's model on one local server, the judge on another.

Both are tests/fakes/openai_server.py on 127.0.0.1, each serving a model of its own
name and wanting its own key. The judge server must see only the ranking agent's
requests, at most the judge's concurrency at once, and the store must name the
right model for every call without holding either key or the URL's password.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from coscientist.config import Limits, RoleModel, Settings
from coscientist.errors import ModelUnauthorizedError, ModelUnreachableError
from coscientist.session import CoScientist
from coscientist.store.tables import llm_calls
from tests.fakes import FakeOpenAIServer

GOAL = "Explain why some bacteria survive antibiotics without resistance genes"
WRITER_KEY, JUDGE_KEY = "sk-writer-0123456789", "sk-judge-9876543210"
RANKING_SCHEMAS = {"JudgementOut", "DebateTurnOut"}  # agents/ranking.py's answers


@pytest.fixture
def servers() -> Iterator[tuple[FakeOpenAIServer, FakeOpenAIServer]]:
    with (
        FakeOpenAIServer(model="writer-model", api_key=WRITER_KEY, strict_models=True) as writer,
        FakeOpenAIServer(model="judge-model", api_key=JUDGE_KEY, strict_models=True) as judge,
    ):
        yield writer, judge


def schema_names(server: FakeOpenAIServer) -> Counter[str]:
    names: Counter[str] = Counter()
    for body in server.bodies:
        fmt = body.get("response_format") or {}
        schema = fmt.get("json_schema") or {}
        names[str(schema.get("name", fmt.get("type", "text")))] += 1
    return names


@pytest.mark.anyio
async def test_the_judge_endpoint_serves_only_ranking_calls(
    tmp_path: Path,
    servers: tuple[FakeOpenAIServer, FakeOpenAIServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    writer, judge = servers
    monkeypatch.setenv("COSCIENTIST_API_KEY", WRITER_KEY)
    monkeypatch.setenv("COSCIENTIST_RANKING_API_KEY", JUDGE_KEY)
    roles = {
        "ranking": RoleModel(
            model="openai-compatible:judge-model", base_url=judge.url, concurrency=2
        )
    }
    config = Settings(
        db=f"sqlite:///{tmp_path / 'h.db'}",
        model="openai-compatible:writer-model",
        base_url=writer.url,
        concurrency=4,
        seed=2,
        roles=roles,
    )
    with CoScientist(config) as cs:
        session = cs.start(GOAL)
        summary = await session.run(Limits(max_calls=120, convergence_window=100_000))
        assert summary.matches > 0, summary
        c = llm_calls.c
        with cs.store.engine.connect() as conn:
            rows = conn.execute(
                select(c.role, c.model, c.endpoint).where(c.session_id == session.id)
            ).all()
        stored = cs.store.get_session(session.id)
    judge_label = f"openai-compatible:judge-model @ {judge.url}"
    by_role: dict[str, set[tuple[str, str]]] = {}
    for role, model, endpoint in rows:
        by_role.setdefault(role, set()).add((model, endpoint))
    assert by_role["ranking"] == {("judge-model", judge_label)}
    writer_label = f"openai-compatible:writer-model @ {writer.url}"
    for role, used in by_role.items():
        if role != "ranking":
            assert used == {("writer-model", writer_label)}, role
    # What each server saw: the judge only the ranking agent's requests, two at a time at most.
    assert set(schema_names(judge)) <= RANKING_SCHEMAS
    assert not set(schema_names(writer)) & {"JudgementOut"}
    assert judge.chat_requests == sum(1 for r in rows if r[0] == "ranking")
    assert writer.chat_requests == len(rows) - judge.chat_requests
    assert judge.max_concurrent <= 2
    assert set(judge.auth_headers) == {f"Bearer {JUDGE_KEY}"}
    assert set(writer.auth_headers) == {f"Bearer {WRITER_KEY}"}
    # The role map is remembered, and neither key is in the store.
    assert stored.roles == {"ranking": roles["ranking"]}
    raw = (tmp_path / "h.db").read_bytes()
    for secret in (WRITER_KEY, JUDGE_KEY):
        assert secret.encode() not in raw


@pytest.mark.anyio
async def test_a_role_url_password_is_masked_in_the_store(tmp_path: Path) -> None:
    # Servers without keys: a URL's user and password go as HTTP Basic auth, which they ignore.
    with FakeOpenAIServer(model="writer-model") as writer, FakeOpenAIServer() as judge:
        judge_url = judge.url.replace("http://", "http://bob:url-password@")
        roles = {"ranking": RoleModel(model="openai-compatible", base_url=judge_url)}
        config = Settings(
            db=f"sqlite:///{tmp_path / 'p.db'}",
            model="openai-compatible",
            base_url=writer.url,
            concurrency=4,
            seed=2,
            roles=roles,
        )
        with CoScientist(config) as cs:
            session = cs.start(GOAL)
            await session.run(Limits(max_calls=120, convergence_window=100_000))
            stored = cs.store.get_session(session.id)
            c = llm_calls.c
            with cs.store.engine.connect() as conn:
                endpoints = set(
                    conn.execute(
                        select(c.endpoint).where(c.session_id == session.id, c.role == "ranking")
                    ).scalars()
                )
        masked = judge_url.replace("url-password", "***")
        assert stored.roles["ranking"].base_url == masked
        assert endpoints == {f"openai-compatible @ {masked}"}
        assert judge.chat_requests > 0
    assert b"url-password" not in (tmp_path / "p.db").read_bytes()


def test_a_dead_judge_endpoint_fails_before_any_session(
    tmp_path: Path, servers: tuple[FakeOpenAIServer, FakeOpenAIServer]
) -> None:
    writer, judge = servers
    dead = judge.url
    judge.stop()
    roles = {"ranking": RoleModel(model="openai-compatible", base_url=dead)}
    config = Settings(
        db=f"sqlite:///{tmp_path / 'd.db'}",
        model="openai-compatible",
        base_url=writer.url,
        api_key=WRITER_KEY,  # type: ignore[arg-type]
        roles=roles,
    )
    with CoScientist(config) as cs:
        with pytest.raises(ModelUnreachableError, match=r"^role ranking \(openai-compatible @"):
            cs.start(GOAL)
        assert cs.sessions() == []


def test_the_judge_endpoint_refusing_its_key_fails_before_any_session(
    tmp_path: Path, servers: tuple[FakeOpenAIServer, FakeOpenAIServer]
) -> None:
    writer, judge = servers
    roles = {"ranking": RoleModel(model="openai-compatible:judge-model", base_url=judge.url)}
    config = Settings(
        db=f"sqlite:///{tmp_path / 'k.db'}",
        model="openai-compatible",
        base_url=writer.url,
        api_key=WRITER_KEY,  # type: ignore[arg-type]  # the writer's key, not the judge's
        roles=roles,
    )
    with CoScientist(config) as cs:
        with pytest.raises(ModelUnauthorizedError, match="role ranking"):
            cs.start(GOAL)
        assert cs.sessions() == []
