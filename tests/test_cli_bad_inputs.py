"""Bad input at the command line, row by row: exit 2, one line on stderr, the store unchanged.

Every command, every option, every kind of store URL and model URL. The rows run
`coscientist.cli.main` in this process (the real entry point, argv and all) so the
table stays fast; tests/test_cli.py and the subprocess tests below cover what only a
real process shows (argument bytes, the crash log). Endpoints are real HTTP servers on
127.0.0.1: the fake OpenAI-compatible server, one that wants a key, and a closed port.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from coscientist import cli
from coscientist.config import Settings
from coscientist.session import CoScientist
from tests.bad_input_rows import PASSWORD, ROWS, Row
from tests.fakes.openai_server import FakeOpenAIServer


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A store holding one scripted session and one openai-compatible session, and the servers."""
    tmp = tmp_path_factory.mktemp("bad-inputs")
    db = f"sqlite:///{tmp / 'store.db'}"
    with (
        pytest.MonkeyPatch.context() as mp,
        FakeOpenAIServer(strict_models=True) as fake,
        FakeOpenAIServer(api_key="right-key") as keyed,
    ):
        mp.setenv("COSCIENTIST_CONFIG", str(tmp / "absent.toml"))
        with CoScientist(Settings(db=db, model="scripted", seed=1)) as cs:
            import anyio

            from coscientist.config import Limits

            session = cs.start("Why do tardigrades survive drying out?")
            anyio.run(session.run, Limits(max_calls=12))
        settings = Settings(db=db, model="openai-compatible", base_url=fake.url)
        with CoScientist(settings) as cs:
            other = cs.start("Why do cells age?")
        yield {
            "db": db,
            "path": str(tmp / "store.db"),
            "tmp": str(tmp),
            "sid": session.id,
            "osid": other.id,
            "fake": fake.url,
            "fake_root": fake.url.removesuffix("/v1"),
            "keyed": keyed.url,
            "dead": str(_free_port()),
        }


def _dump(path: str) -> str:
    with sqlite3.connect(path) as con:
        return "\n".join(con.iterdump())


def invoke(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["coscientist", *argv])
    with pytest.raises(SystemExit) as caught:
        cli.main()
    out, err = capsys.readouterr()
    code = caught.value.code
    return (code if isinstance(code, int) else 1), out, err


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_bad_input_is_one_line_exit_2_and_changes_nothing(
    row: Row,
    world: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for key, value in row.env.items():
        monkeypatch.setenv(key, value)
    if row.config is not None:
        config = tmp_path / "config.toml"
        config.write_text(row.config, encoding="utf-8")
        monkeypatch.setenv("COSCIENTIST_CONFIG", str(config))
    argv = [arg.format(**world) for arg in row.argv]
    before = _dump(world["path"])
    code, out, err = invoke(argv, monkeypatch, capsys)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, f"exit {code}: {err}{out}"
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and row.expect in lines[0], lines[0]
    assert "Traceback" not in err + out
    assert PASSWORD not in err + out
    assert _dump(world["path"]) == before, "the store changed"
    if row.config is not None and "line" in row.expect:
        assert str(tmp_path / "config.toml") in lines[0]


def test_the_table_covers_every_command() -> None:
    commands = {name for name in (c.name for c in cli.app.registered_commands) if name}
    commands |= {c.callback.__name__ for c in cli.app.registered_commands if c.callback}
    covered = {row.argv[0] for row in ROWS}
    assert {
        "run",
        "resume",
        "sessions",
        "show",
        "add",
        "export",
        "graph",
        "tui",
        "worker",
        "doctor",
        "plan",
        "observe",
    } <= covered
    assert commands <= covered | {"frobnicate"}, commands - covered
    assert len(ROWS) >= 30


def test_a_dead_endpoint_leaves_no_session_and_resume_leaves_it_stopped(
    world: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The two rows above, read back through the store: no new session row, status unchanged."""
    with sqlite3.connect(world["path"]) as con:
        before = con.execute("SELECT id, status, base_url FROM sessions ORDER BY id").fetchall()
    dead = f"http://127.0.0.1:{world['dead']}/v1"
    code, _, _ = invoke(
        ["run", "g", "--db", world["db"], "--model", "openai-compatible", "--base-url", dead],
        monkeypatch,
        capsys,
    )
    assert code == 2
    code, _, _ = invoke(
        ["resume", world["osid"], "--db", world["db"], "--base-url", dead], monkeypatch, capsys
    )
    assert code == 2
    with sqlite3.connect(world["path"]) as con:
        after = con.execute("SELECT id, status, base_url FROM sessions ORDER BY id").fetchall()
    assert after == before
    assert all(status != "running" for _, status, _ in after)


# --- what only a real process shows ----------------------------------------------------


def _cli_bytes(
    *args: bytes | str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "coscientist.cli", *args],
        capture_output=True,
        timeout=120,
        env={**os.environ, "PYTHONIOENCODING": "utf-8", **(env or {})},
    )


@pytest.mark.parametrize(
    "args",
    [
        [b"run", b"a goal \xff\xfe", b"--model", b"scripted"],
        [b"add", b"abc", b"caf\xe9"],
        [b"sessions", b"--db", b"sqlite:////tmp/\xff.db"],
    ],
    ids=["goal", "hypothesis-text", "store-url"],
)
def test_arguments_that_are_not_utf8_are_refused_cleanly(
    args: list[bytes], world: dict[str, str]
) -> None:
    before = _dump(world["path"])
    proc = _cli_bytes(*args, env={"COSCIENTIST_DB": world["db"]})
    err = proc.stderr.decode("utf-8")
    lines = [line for line in err.splitlines() if line.strip()]
    assert proc.returncode == 2, err
    assert len(lines) == 1 and "not valid UTF-8" in lines[0], err
    assert _dump(world["path"]) == before


def test_an_unexpected_error_is_one_line_exit_1_with_a_log_file(
    world: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Any bug (here: the store's listing raising a plain RuntimeError) ends as one line naming a
    log file that holds the traceback, with the API key masked."""
    monkeypatch.setenv("COSCIENTIST_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.setenv("COSCIENTIST_API_KEY", "sk-secret-key-123")

    def boom(self: object) -> None:
        raise RuntimeError("the listing broke (key sk-secret-key-123)")

    monkeypatch.setattr("coscientist.store.repository.Store.list_sessions", boom)
    code, _, err = invoke(["sessions", "--db", world["db"]], monkeypatch, capsys)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 1
    assert len(lines) == 1 and "unexpected RuntimeError: the listing broke" in lines[0], err
    assert "sk-secret-key-123" not in err
    logs = list((tmp_path / "logs").glob("crash-*.log"))
    assert len(logs) == 1 and str(logs[0]) in lines[0]
    text = logs[0].read_text(encoding="utf-8")
    assert "Traceback" in text and "in boom" in text
    assert "sk-secret-key-123" not in text
