"""Smaller API promises: the synchronous helper, literature offline, doctor on the embedded model."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from coscientist.config import Limits, Settings
from coscientist.session import CoScientist, run_objective


def test_run_objective_runs_a_goal_synchronously(tmp_path: Path) -> None:
    settings = Settings(db=f"sqlite:///{tmp_path / 'o.db'}", model="scripted", seed=4)
    info, board = run_objective("How do fireflies synchronise?", settings=settings, max_calls=60)
    assert info.stop_reason == "call budget"
    assert board and board[0].rank == 1
    assert [e.elo for e in board] == sorted((e.elo for e in board), reverse=True)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.anyio
async def test_offline_literature_is_said_once_and_the_session_goes_on(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{_closed_port()}"
    settings = Settings(
        db=f"sqlite:///{tmp_path / 'l.db'}",
        model="scripted",
        seed=2,
        literature=True,
        literature_base_urls={"arxiv": dead, "pubmed": dead, "europepmc": dead},
    )
    notices: list[str] = []
    with CoScientist(settings) as cs:
        session = cs.start("Which enzymes let extremophiles survive boiling water?")

        async def watch() -> None:
            async for event in session.events():
                if event.kind == "literature":
                    notices.append(event.message)

        async with anyio.create_task_group() as tg:
            tg.start_soon(watch)
            summary = await session.run(Limits(max_calls=80))
            tg.cancel_scope.cancel()
        assert summary.stop_reason == "call budget"
        assert cs.store.count_hypotheses(session.id) > 0
    assert len(notices) == 1


@pytest.mark.slow
def test_doctor_on_the_embedded_default_prints_a_structured_answer(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "coscientist.cli",
            "doctor",
            "--db",
            f"sqlite:///{tmp_path / 'd.db'}",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "structured call on embedded" in proc.stdout
    answer = json.loads(proc.stdout[proc.stdout.rindex("{") :])
    assert set(answer) == {"topic", "idea", "confidence"}
    assert 1 <= answer["confidence"] <= 5
