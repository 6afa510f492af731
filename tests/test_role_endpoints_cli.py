"""`doctor` and `resume` with a model per role, over real HTTP to local fake servers.

`doctor` takes run's role options (and [roles.*] from the config file) and checks every
distinct endpoint the roles use; `resume --judge-base-url` / `--role-base-url` move a
role's endpoint, preflighted before anything is stored. The command line runs in this
process (`coscientist.cli.main`, argv and all); the servers are
tests/fakes/openai_server.py on 127.0.0.1.
"""

from __future__ import annotations

import base64
import socket
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from coscientist import cli
from coscientist.config import RoleModel, Settings
from coscientist.session import CoScientist
from coscientist.store.tables import llm_calls
from tests.fakes import FakeOpenAIServer

GOAL = "Why do some bacteria survive antibiotics without resistance genes?"
RANKING_SCHEMAS = {"JudgementOut", "DebateTurnOut"}  # agents/ranking.py's answers


@pytest.fixture
def servers() -> Iterator[tuple[FakeOpenAIServer, FakeOpenAIServer]]:
    with (
        FakeOpenAIServer(model="writer-model", strict_models=True) as writer,
        FakeOpenAIServer(model="judge-model", strict_models=True) as judge,
    ):
        yield writer, judge


def invoke(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["coscientist", *argv])
    with pytest.raises(SystemExit) as caught:
        cli.main()
    out, err = capsys.readouterr()
    code = caught.value.code
    return (code if isinstance(code, int) else 1), out, err


def sections(out: str) -> dict[str, list[str]]:
    """The doctor's report by endpoint: heading -> its check lines."""
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in out.splitlines():
        if line.startswith("structured call on "):
            current = found.setdefault(line.removeprefix("structured call on "), [])
        elif line.startswith("  ") and current is not None:
            current.append(line.strip())
        else:
            current = None if not line.startswith((" ", "{", "}")) else current
    return found


def schema_names(server: FakeOpenAIServer) -> Counter[str]:
    names: Counter[str] = Counter()
    for body in server.bodies:
        fmt = body.get("response_format") or {}
        schema = fmt.get("json_schema") or {}
        names[str(schema.get("name", fmt.get("type", "text")))] += 1
    return names


def basic_users(server: FakeOpenAIServer) -> set[str]:
    """user:password of every HTTP Basic header the server saw (a URL's own credentials)."""
    return {
        base64.b64decode(h.split()[1]).decode()
        for h in server.auth_headers
        if h.startswith("Basic")
    }


def dead_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/v1"


# --- doctor ------------------------------------------------------------------------------


def test_doctor_checks_every_endpoint_and_names_its_roles(
    tmp_path: Path,
    servers: tuple[FakeOpenAIServer, FakeOpenAIServer],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    writer, judge = servers
    argv = [
        "doctor", "--db", f"sqlite:///{tmp_path / 'd.db'}",
        "--model", "openai-compatible:writer-model", "--base-url", writer.url,
        "--judge-model", "openai-compatible:judge-model", "--judge-base-url", judge.url,
        "--role-model", "evolution=openai-compatible:judge-model",
        "--role-base-url", f"evolution={judge.url}",
    ]  # fmt: skip
    code, out, err = invoke(argv, monkeypatch, capsys)
    assert code == 0, err + out
    found = sections(out)
    writer_head = (
        f"openai-compatible:writer-model @ {writer.url} (the session's model; "
        "roles: generation, reflection, meta_review, graph)"
    )
    judge_head = (
        f"openai-compatible:judge-model @ {judge.url} (a role's model; roles: ranking, evolution)"
    )
    assert set(found) == {writer_head, judge_head}, out
    for lines in found.values():
        assert lines[0].startswith("ok preflight: model ")
        assert lines[1].startswith("ok openai-compatible:") and "tokens out" in lines[1]
    assert found[judge_head][0] == "ok preflight: model judge-model"
    # Each server answered its own structured call (strict: a wrong model would be a 404).
    assert schema_names(writer)["DoctorAnswer"] == 1
    assert schema_names(judge)["DoctorAnswer"] == 1

    judge.stop()
    code, out, err = invoke(argv, monkeypatch, capsys)
    assert code == 1, err + out
    found = sections(out)
    assert found[writer_head][0].startswith("ok preflight")
    assert found[writer_head][1].startswith("ok openai-compatible:writer-model")
    assert found[judge_head][0].startswith(
        f"-- preflight: role ranking, evolution (openai-compatible:judge-model @ {judge.url}): "
        f"cannot reach {judge.url}"
    )
    assert len(found[judge_head]) == 1, "no structured call after a failed preflight"


def test_doctor_reads_the_roles_of_the_config_file(
    tmp_path: Path,
    servers: tuple[FakeOpenAIServer, FakeOpenAIServer],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    writer, judge = servers
    config = tmp_path / "config.toml"
    config.write_text(
        f'[roles.ranking]\nmodel = "openai-compatible:judge-model"\nbase_url = "{judge.url}"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("COSCIENTIST_CONFIG", str(config))
    argv = ["doctor", "--db", f"sqlite:///{tmp_path / 'd.db'}", "--model", "scripted"]
    code, out, err = invoke(argv, monkeypatch, capsys)
    assert code == 0, err + out
    found = sections(out)
    assert set(found) == {
        "scripted (the session's model; roles: generation, reflection, evolution, meta_review, "
        "graph)",
        f"openai-compatible:judge-model @ {judge.url} (a role's model; roles: ranking)",
    }, out
    assert schema_names(judge)["DoctorAnswer"] == 1
    assert writer.requests_received == 0


def test_doctor_on_one_model_says_every_role(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["doctor", "--db", f"sqlite:///{tmp_path / 'd.db'}", "--model", "scripted"]
    code, out, err = invoke(argv, monkeypatch, capsys)
    assert code == 0, err + out
    assert list(sections(out)) == ["scripted (every role)"]


# --- resume: moving a role's endpoint ------------------------------------------------------


def start_session(db: str, writer: FakeOpenAIServer, judge_url: str) -> str:
    roles = {"ranking": RoleModel(model="openai-compatible:judge-model", base_url=judge_url)}
    settings = Settings(
        db=db, model="openai-compatible:writer-model", base_url=writer.url, seed=3, roles=roles
    )
    with CoScientist(settings) as cs:
        return cs.start(GOAL).id


def stored_roles(db: str, session_id: str) -> dict[str, RoleModel]:
    with CoScientist(Settings(db=db)) as cs:
        return cs.store.get_session(session_id).roles


def test_resume_moves_the_judge_and_keeps_the_url_password_out_of_the_store(
    tmp_path: Path,
    servers: tuple[FakeOpenAIServer, FakeOpenAIServer],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    writer, old_judge = servers
    db_path = tmp_path / "r.db"
    db = f"sqlite:///{db_path}"
    sid = start_session(db, writer, old_judge.url)
    with FakeOpenAIServer(model="judge-model", strict_models=True) as new_judge:
        judge_url = new_judge.url.replace("http://", "http://bob:judge-pw@")
        writer_url = writer.url.replace("http://", "http://ann:writer-pw@")
        argv = [
            "resume", sid, "--db", db, "--max-calls", "150",
            "--base-url", writer_url, "--judge-base-url", judge_url,
        ]  # fmt: skip
        code, out, err = invoke(argv, monkeypatch, capsys)
        assert code == 0, err + out
        # The judge's endpoint moved, its model did not; the URL's password is masked.
        masked = judge_url.replace("judge-pw", "***")
        assert stored_roles(db, sid) == {
            "ranking": RoleModel(model="openai-compatible:judge-model", base_url=masked)
        }
        # Every ranking call went to the new judge, with the URL's password in full.
        assert new_judge.chat_requests > 0, out
        assert set(schema_names(new_judge)) <= RANKING_SCHEMAS
        assert old_judge.chat_requests == 0
        assert "JudgementOut" not in schema_names(writer)  # (generation debates too)
        assert basic_users(new_judge) == {"bob:judge-pw"}
        # The session's own moved URL keeps its password too, after the store masked it.
        assert basic_users(writer) == {"ann:writer-pw"}
    with CoScientist(Settings(db=db)) as cs:
        c = llm_calls.c
        with cs.store.engine.connect() as conn:
            endpoints = set(
                conn.execute(
                    select(c.endpoint).where(c.session_id == sid, c.role == "ranking")
                ).scalars()
            )
    assert endpoints == {f"openai-compatible:judge-model @ {masked}"}
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("r.db*"))
    assert b"judge-pw" not in raw and b"writer-pw" not in raw


def test_resume_moves_a_role_without_a_model_of_its_own(
    tmp_path: Path,
    servers: tuple[FakeOpenAIServer, FakeOpenAIServer],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--role-base-url graph=URL: the graph role keeps the session's model, on another server."""
    writer, judge = servers
    db = f"sqlite:///{tmp_path / 'g.db'}"
    sid = start_session(db, writer, judge.url)
    with FakeOpenAIServer(model="writer-model", strict_models=True) as spare:
        moved = f"graph={spare.url}"
        argv = ["resume", sid, "--db", db, "--max-calls", "3", "--role-base-url", moved]
        code, out, err = invoke(argv, monkeypatch, capsys)
        assert code == 0, err + out
        assert spare.requests_received > 0, "the preflight probed the new endpoint"
    assert stored_roles(db, sid)["graph"] == RoleModel(base_url=spare.url)
    assert stored_roles(db, sid)["ranking"].base_url == judge.url


@pytest.mark.parametrize("refusal", ["dead", "401", "wrong-model"])
def test_a_refused_judge_endpoint_leaves_the_stored_one(
    refusal: str,
    tmp_path: Path,
    servers: tuple[FakeOpenAIServer, FakeOpenAIServer],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    writer, judge = servers
    db = f"sqlite:///{tmp_path / 'x.db'}"
    sid = start_session(db, writer, judge.url)
    with CoScientist(Settings(db=db)) as cs:
        before = cs.store.get_session(sid)
    with (
        FakeOpenAIServer(model="judge-model", api_key="other-key") as keyed,
        FakeOpenAIServer(model="another-model", strict_models=True) as wrong,
    ):
        url = {"dead": dead_url(), "401": keyed.url, "wrong-model": wrong.url}[refusal]
        expect = {
            "dead": "cannot reach",
            "401": "HTTP 401",
            "wrong-model": "does not serve model 'judge-model'",
        }[refusal]
        argv = ["resume", sid, "--db", db, "--max-calls", "5", "--judge-base-url", url]
        code, out, err = invoke(argv, monkeypatch, capsys)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err + out
    assert len(lines) == 1 and lines[0].startswith("error: role ranking (") and expect in lines[0]
    with CoScientist(Settings(db=db)) as cs:
        after = cs.store.get_session(sid)
        assert cs.store.call_stats(sid).get("calls", 0) == 0
    assert after.roles == before.roles
    assert (after.status, after.updated_at) == (before.status, before.updated_at)
    assert writer.chat_requests == 0
