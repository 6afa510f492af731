"""The command line as a user meets it: real subprocesses, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest


def cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "coscientist.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, proc.stderr + proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


def test_bad_db_url_exits_2_with_one_line(tmp_path: Path) -> None:
    line = one_line_error(cli("sessions", "--db", "nosuch://nowhere"))
    assert "nosuch://nowhere" in line


def test_unknown_model_spec_exits_2(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    line = one_line_error(cli("run", "a goal", "--db", db, "--model", "gpt-banana"))
    assert "unknown model spec" in line


def test_openai_compatible_without_base_url_exits_2(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    line = one_line_error(cli("run", "a goal", "--db", db, "--model", "openai-compatible"))
    assert "--base-url" in line


def test_unknown_session_and_bad_limit_exit_2(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    assert "no session" in one_line_error(cli("show", "deadbeef", "--db", db))
    proc = cli("run", "goal", "--db", db, "--model", "scripted", "--max-calls", "-3")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_run_show_add_sessions_with_scripted_model(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    run = cli(
        "run",
        "How do tardigrades survive desiccation?",
        "--db",
        db,
        "--model",
        "scripted",
        "--max-calls",
        "60",
        "--seed",
        "2",
    )
    assert run.returncode == 0, run.stderr
    assert "Top hypotheses" in run.stdout
    listing = cli("sessions", "--db", db)
    session_id = listing.stdout.split()[0]
    assert "tardigrades" in listing.stdout
    shown = json.loads(cli("show", session_id, "--db", db, "--json", "--top", "3").stdout)
    board = shown["leaderboard"]
    assert shown["session"]["id"] == session_id and 1 <= len(board) <= 3
    contract = {
        "id",
        "rank",
        "title",
        "statement",
        "mu",
        "sigma",
        "elo",
        "matches",
        "wins",
        "origin",
    }
    extra = {"elo_mean", "elo_low", "elo_high", "rated_by", "in_top", "citations"}
    assert set(board[0]) == contract | extra
    assert [e["rank"] for e in board] == list(range(1, len(board) + 1))
    # Ranked by the Elo shown (the judge fit's strength), inside the interval each entry states.
    assert [e["elo"] for e in board] == sorted((e["elo"] for e in board), reverse=True)
    assert all(e["rated_by"] == "judge fit" for e in board)
    assert all(
        e["elo_low"] <= e["elo"] == e["elo_mean"] <= e["elo_high"] and 0 <= e["in_top"] <= 1
        for e in board
    )
    confidence = shown["confidence"]
    assert 0 <= confidence["expected_recall"] <= 1 and confidence["k"] >= 1
    assert 0 < confidence["first_position_win_rate"] < 1
    assert confidence["confidence_model"] == "judge fit"  # fitted on the session's verdicts
    added = cli("add", session_id, "Trehalose glass formation protects proteins.", "--db", db)
    assert added.returncode == 0, added.stderr
    with sqlite3.connect(tmp_path / "s.db") as con:
        origin = con.execute(
            "select origin from hypotheses where id = ?", (added.stdout.strip(),)
        ).fetchone()
    assert origin == ("scientist",)


def _count(db: Path, table: str) -> int:
    try:
        with sqlite3.connect(db) as con:
            return int(con.execute(f"select count(*) from {table}").fetchone()[0])
    except sqlite3.OperationalError:  # the run has not created its tables yet
        return 0


@pytest.mark.slow
def test_kill_9_then_resume_loses_nothing_and_applies_nothing_twice(tmp_path: Path) -> None:
    db_path = tmp_path / "kill.db"
    db = f"sqlite:///{db_path}"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "coscientist.cli",
            "run",
            "How do plants sense gravity?",
            "--db",
            db,
            "--model",
            "scripted:latency=0.05",
            "--concurrency",
            "4",
            "--max-calls",
            "260",
            "--seed",
            "4",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        time.sleep(0.2)
        if db_path.exists() and _count(db_path, "matches") >= 15:
            break
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with sqlite3.connect(db_path) as con:
        hyps_before = {r[0] for r in con.execute("select id from hypotheses")}
        matches_before = {r[0] for r in con.execute("select id from matches")}
        running = con.execute("select count(*) from tasks where state = 'running'").fetchone()[0]
        session_id = con.execute("select id from sessions").fetchone()[0]
    # Killed mid-run (it was still going). A planned task's row is written with its result,
    # so the work in flight leaves no row behind to take back: the resumed run plans anew.
    assert matches_before and running == 0

    resumed = subprocess.run(
        # More calls than the killed run left: the resumed run must get as far as new matches
        # (its intake and the overview held back for the end take calls of their own).
        [
            sys.executable,
            "-m",
            "coscientist.cli",
            "resume",
            session_id,
            "--db",
            db,
            "--max-calls",
            "400",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr
    with sqlite3.connect(db_path) as con:
        hyps_after = {r[0] for r in con.execute("select id from hypotheses")}
        matches_after = {r[0] for r in con.execute("select id from matches")}
        per_task = con.execute(
            "select task_id, count(*) from matches where task_id is not null group by task_id having count(*) > 1"
        ).fetchall()
        still_running = con.execute(
            "select count(*) from tasks where state = 'running'"
        ).fetchone()[0]
        calls = con.execute("select count(*) from llm_calls").fetchone()[0]
        status = con.execute("select status from sessions").fetchone()[0]
    assert hyps_before <= hyps_after and matches_before <= matches_after
    assert len(matches_after) > len(matches_before)
    assert per_task == []  # no task result applied twice
    assert still_running == 0
    assert calls >= 260  # the run completed its budget after the resume
    assert status == "stopped"


def test_missing_gguf_exits_2_before_any_session_exists(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    line = one_line_error(cli("run", "a goal", "--db", db, "--model", f"gguf:{tmp_path}/none.gguf"))
    assert "none.gguf" in line
    assert cli("sessions", "--db", db).stdout.strip() == ""


def test_a_run_ends_with_the_commands_to_look_at_share_and_continue_it(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    goal = "How do tardigrades survive desiccation?"
    run = cli("run", goal, "--db", db, "--model", "scripted", "--max-calls", "20", "--seed", "2")
    assert run.returncode == 0, run.stderr
    session_id = cli("sessions", "--db", db).stdout.split()[0]
    assert "stopped: call budget after " in run.stdout
    ending = run.stdout[run.stdout.rindex("next:") :].splitlines()
    commands = [line.split("#")[0].strip() for line in ending[1:]]
    assert commands == [
        f"coscientist show {session_id} --db {db}",
        f"coscientist tui {session_id} --db {db}",
        f"coscientist export {session_id} --db {db} --format html --output report.html",
        f"coscientist resume {session_id} --db {db} --max-calls 40",
    ]
    assert "continue (another 20 calls)" in ending[-1]

    # The printed command does what it says: 20 more calls on the same session.
    resume_args = commands[-1].split()[1:]
    resumed = cli(*resume_args)
    assert resumed.returncode == 0, resumed.stderr
    with sqlite3.connect(tmp_path / "s.db") as con:
        assert con.execute("select count(*) from llm_calls").fetchone()[0] == 40
    assert f"coscientist resume {session_id} --db {db} --max-calls 60" in resumed.stdout
    assert "continue (another 20 calls)" in resumed.stdout

    report = tmp_path / "report.html"
    exported = cli("export", session_id, "--db", db, "--format", "html", "--output", str(report))
    assert exported.returncode == 0 and report.is_file()
    # Past a second (a loaded machine) an export says how long it took; nothing else.
    assert re.fullmatch(
        rf"(exporting session {session_id} as html: done in \d+\.\d s\n)?", exported.stderr
    ), exported.stderr


def test_graph_prints_figures_growth_and_json(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'g.db'}"
    run = cli("run", "Why do bees dance?", "--db", db, "--model", "scripted", "--max-calls", "60")
    assert run.returncode == 0, run.stderr
    sid = cli("sessions", "--db", db).stdout.split("\t")[0]
    text = cli("graph", sid, "--db", db)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    for key in ("nodes", "powerlaw_alpha", "modularity", "max_core", "diameter", "mean_path"):
        assert any(line.startswith(f"{key}: ") for line in lines), key
    assert any(line.startswith("growth: ") and "points" in line for line in lines)
    assert any(line.startswith("hubs: ") for line in lines)
    data = json.loads(cli("graph", sid, "--db", db, "--json").stdout)
    assert data["metrics"]["nodes"] > 0 and data["growth"]
    assert {"hubs", "bridges", "communities", "merges", "recent_merges"} <= set(data)
    shown = json.loads(cli("show", sid, "--db", db, "--json").stdout)
    assert shown["graph"]["metrics"]["nodes"] == data["growth"][-1]["nodes"]
    assert "no session" in one_line_error(cli("graph", "deadbeef", "--db", db))


def test_the_leaderboard_table_reads_in_80_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from rich.console import Console

    from coscientist import cli_output
    from coscientist.schemas import LeaderboardEntry

    title = "Butyrate from Faecalibacterium primes CD8 T cells through HDAC inhibition"
    board = [
        LeaderboardEntry(
            id=f"5e55a00000{i:02d}aaaa",
            rank=i,
            title=title,
            statement="s",
            mu=25.0,
            sigma=3.0,
            elo=1250.0 - i,
            matches=12,
            wins=7,
            origin="evolution:combination",
            elo_low=1100.0,
            elo_high=1400.0,
            rated_by="judge fit",
            in_top=0.5,
        )
        for i in (1, 2)
    ]
    printed = io.StringIO()
    monkeypatch.setattr(cli_output, "out", Console(file=printed, width=80))
    cli_output.print_leaderboard(board, title="Leaderboard")
    text = printed.getvalue()
    assert max(len(line) for line in text.splitlines()) <= 80
    for e in board:  # an id is copied into other commands: never broken over lines
        assert e.id in text
    # The title wraps on words in the width left, not a few letters a line.
    rows = [line for line in text.splitlines() if "5e55a0000001aaaa" in line]
    assert "Butyrate from" in rows[0] and "Faecalibacterium primes" in text
    assert "evolution:combination" in text and "1249" in text and "1100-1400" in text
