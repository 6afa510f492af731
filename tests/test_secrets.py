"""A password in the model URL and an API key reach no output, error, record or export.

Real processes against the fake OpenAI-compatible server: a run (with a failed
call, so its error is recorded), `sessions`, `show --json`, every export, and
`doctor`; then every byte of stdout, stderr, the SQLite files and the exports is
searched for the secrets.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from coscientist.redact import mask_secrets, scrub
from tests.fakes import FakeOpenAIServer, Reply

PASSWORD = "pw-Zq8-never-shown"
API_KEY = "sk-key-Zq8-never-shown"


def test_mask_secrets_masks_passwords_and_key_parameters() -> None:
    assert mask_secrets("http://bob:s3cret@host:8000/v1") == "http://bob:***@host:8000/v1"
    assert mask_secrets("see https://u:p@ss@h/v1 now") == "see https://u:***@h/v1 now"
    assert (
        mask_secrets("postgresql://u:pw@db/x?sslmode=require")
        == "postgresql://u:***@db/x?sslmode=require"
    )
    assert mask_secrets("https://h/v1?api_key=abc&x=1") == "https://h/v1?api_key=***&x=1"
    assert (
        mask_secrets("http://host/v1 and user@example.org") == "http://host/v1 and user@example.org"
    )
    assert scrub(f"Bearer {API_KEY} failed", API_KEY) == "Bearer *** failed"


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "coscientist.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **env},
    )


@pytest.mark.timeout(300)
def test_no_secret_anywhere(tmp_path: Path) -> None:
    db_path = tmp_path / "s.db"
    db = f"sqlite:///{db_path}"
    env = {
        "COSCIENTIST_API_KEY": API_KEY,
        "COSCIENTIST_LOG_DIR": str(tmp_path / "logs"),
        "COSCIENTIST_CONFIG": str(tmp_path / "none.toml"),
    }
    outputs: list[str] = []
    with FakeOpenAIServer() as server:
        url = server.url.replace("http://", f"http://bob:{PASSWORD}@")
        # One failed attempt, its error recorded (json_schema, then json_object, both 500).
        server.push(Reply.http_error(500, "overloaded"), Reply.http_error(500, "overloaded"))
        run = _cli(
            "run", "Why do bees dance?", "--db", db, "--model", "openai-compatible",
            "--base-url", url, "--max-calls", "8", "--concurrency", "2", env=env,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        sid = _cli("sessions", "--db", db, env=env).stdout.split()[0]
        outputs += [run.stdout, run.stderr]
        for args in (
            ["sessions", "--db", db],
            ["show", sid, "--db", db, "--json"],
            ["doctor", "--db", db, "--model", "openai-compatible", "--base-url", url],
            ["resume", sid, "--db", db, "--base-url", url, "--max-calls", "10"],
        ):
            proc = _cli(*args, env=env)
            assert proc.returncode == 0, proc.stderr
            outputs += [proc.stdout, proc.stderr]
        for fmt in ("md", "html", "json", "graphml"):
            proc = _cli("export", sid, "--format", fmt, "--output", str(tmp_path / f"r.{fmt}"), "--db", db, env=env)  # fmt: skip
            assert proc.returncode == 0, proc.stderr
            outputs += [proc.stdout, proc.stderr, (tmp_path / f"r.{fmt}").read_text("utf-8")]
    assert "bob:***@" in "".join(outputs), "the masked URL is shown"
    with sqlite3.connect(db_path) as con:
        errors = con.execute(
            "SELECT error FROM llm_calls WHERE outcome = 'server_error'"
        ).fetchall()
    assert errors and "bob:***@" in errors[0][0], "the failed call's error is recorded, masked"
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("s.db*"))
    assert b"bob:***@" in stored
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    everything = "\n".join(outputs).encode() + stored + b"".join(p.read_bytes() for p in files)
    assert PASSWORD.encode() not in everything
    assert API_KEY.encode() not in everything
