"""The method in one scripted session of 600 calls, as a scientist meets it.

`show --json`, the three reports and the TUI all show the research plan, the
safety gate, deeper reviews that changed statuses, observation and tournament
reviews, debates (at least 15 % of the matches) with their transcripts, and a
Specific Aims overview written again at the end of the run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest
from textual.widgets import DataTable, Static

from coscientist.config import Limits, Settings
from coscientist.reports import export_session
from coscientist.scheduler.method import title_key
from coscientist.schemas import HypothesisStatus, MatchMode, ReviewKind, TaskKind, TaskState
from coscientist.session import CoScientist
from coscientist.store import Store
from coscientist.tui.app import BrowseApp
from coscientist.tui.detail import HypothesisScreen, MatchesTable, MatchScreen
from coscientist.tui.method_screen import MethodScreen
from coscientist.tui.widgets import LeaderboardTable
from tests.tui_support import rendered, table_keys, wait_for

GOAL = "Why do some tumours resist chemotherapy?"
OBSERVATION = "Resistant tumour cells overexpress the ABCB1 efflux pump"
CALLS = 600


@dataclass(frozen=True)
class Ran:
    db: str
    session_id: str


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ran]:
    db = f"sqlite:///{tmp_path_factory.mktemp('method') / 's.db'}"
    config = Settings(db=db, model="scripted", concurrency=8, seed=3)

    async def main() -> str:
        with CoScientist(config) as cs:
            session = cs.start(GOAL)
            session.add_observation(OBSERVATION)
            summary = await session.run(Limits(max_calls=CALLS))
            assert summary.error is None and summary.stop_reason == "call budget"
            assert summary.tasks_failed == 0
            assert summary.calls == CALLS, "the overview's reserved calls were spent at the end"
            return session.id

    yield Ran(db, anyio.run(main))


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "coscientist.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ),
    )


def test_show_json_has_every_part_of_the_method(ran: Ran) -> None:
    proc = cli("show", ran.session_id, "--db", ran.db, "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["leaderboard"] and set(data["leaderboard"][0]) >= {
        "id", "rank", "title", "statement", "mu", "sigma", "elo", "matches", "wins", "origin"
    }  # fmt: skip
    plan = data["plan"]
    assert plan["drafted"] and plan["objective"] and plan["constraints"]
    assert data["session"]["plan"] == plan
    safety = data["safety"]
    assert safety["goal"]["safe"] and safety["goal"]["model_verdict"] == "none"
    assert safety["withheld"] == sum(safety["by_reason"].values())
    kinds = data["reviews_by_kind"]
    assert kinds["deep_verification"] >= 5 and kinds["simulation"] >= 1
    assert kinds["observation"] >= 1 and kinds["tournament"] >= 1
    flawed = [n for n in data["out_of_tournament"] if n["status"] == "flawed"]
    assert flawed and all(
        n["reason"].startswith(("deep verification found a fatal flaw", "simulation failed"))
        for n in flawed
    )
    t = data["tournament"]
    assert set(t["by_mode"]) == {"single", "debate"}
    assert t["debate_share"] >= 0.15, t
    # The debates of the top five, in full; none only when no debate involves them (the
    # leaderboard may put untested children of the best at the top).
    with Store.open(ran.db) as store:
        debated = [m for m in store.list_matches(ran.session_id) if m.mode == MatchMode.DEBATE]
        unsafe = {
            h.id
            for h in store.list_hypotheses(ran.session_id)
            if h.status == HypothesisStatus.UNSAFE
        }
    assert len(debated) == t["debates"] > 0
    debated = [m for m in debated if not unsafe & {m.first_id, m.second_id}]  # shown ones
    # The latest debates of the five best-ranked hypotheses that have debated, best first:
    # never empty while a shown debate exists, whatever untested children the board puts on top.
    assert debated and data["debates"]
    debate = data["debates"][0]
    assert debate["mode"] == "debate" and len(debate["turns"]) == 3 and debate["rationale"]
    ranked = [row["id"] for row in data["leaderboard"]]
    debaters = {h for m in debated for h in (m.first_id, m.second_id)}
    best_debater = next(h for h in ranked if h in debaters)
    assert best_debater in {debate["first_id"], debate["second_id"]}
    overview = data["overview"]
    assert overview["title"] and overview["background"] and overview["gap"]
    assert overview["aims"] and all(a["hypothesis_id"] and a["pitfalls"] for a in overview["aims"])
    assert data["observations"][0]["text"] == OBSERVATION


def test_statuses_reviews_and_the_final_overview_in_the_store(ran: Ran) -> None:
    with Store.open(ran.db) as store:
        sid = ran.session_id
        hypotheses = {h.id: h for h in store.list_hypotheses(sid)}
        board = store.leaderboard(sid)
        assert all(hypotheses[e.id].status == HypothesisStatus.ACTIVE for e in board)
        assert len({title_key(e.title) for e in board}) == len(board), "no title twice"
        # Deeper reviews changed statuses, with reasons; flawed ones are no longer paired.
        flawed = [h for h in hypotheses.values() if h.status == HypothesisStatus.FLAWED]
        assert len(flawed) >= 3 and all(h.status_reason for h in flawed)
        reviews = store.list_reviews(sid)
        observed = [r for r in reviews if r.kind == ReviewKind.OBSERVATION]
        assert observed and all(OBSERVATION in r.details["observations"] for r in observed)
        tournament = [r for r in reviews if r.kind == ReviewKind.TOURNAMENT]
        assert tournament and all(r.details["losses"] for r in tournament)
        # The overview is written again when the run ends, on the calls held back for it.
        metas = store.list_tasks(sid, kinds={TaskKind.META_REVIEW})
        finals = [t for t in metas if t.payload.get("final")]
        assert len(finals) == 1 and finals[0].state == TaskState.DONE
        assert len(metas) >= 3, "and on its schedule before that"
        latest = store.latest_meta_review(sid)
        assert latest is not None and latest.research_overview is not None
        matches = store.list_matches(sid)
        debates = [m for m in matches if m.mode == MatchMode.DEBATE]
        assert len(debates) / len(matches) >= 0.15


def test_the_reports_show_plan_safety_aims_reviews_and_debates(ran: Ran, tmp_path: Path) -> None:
    with Store.open(ran.db) as store:
        texts = {
            fmt: export_session(store, ran.session_id, fmt, tmp_path / f"r.{fmt}").read_text()
            for fmt in ("md", "html", "json")
        }
    data = json.loads(texts["json"])
    assert data["plan"]["drafted"] and data["overview"]["aims"]
    assert "by_mode" in data["tournament"] and data["tournament"]["by_mode"]["debate"]["matches"]
    assert data["safety"]["goal"]["model_verdict"] == "none"
    turn = data["debates"][0]["turns"][0]
    for fmt in ("md", "html"):
        text = texts[fmt]
        for heading in (
            "Research plan",
            "Research overview: Specific Aims",
            "Reviews and statuses",
            "Safety",
            "Debates of the top hypotheses",
        ):
            assert heading in text, (fmt, heading)
        assert "Aim 1" in text and "flawed" in text and "deep_verification" in text
        assert turn.split(":", 1)[1].strip()[:40] in text.replace("&#39;", "'"), fmt


@pytest.mark.anyio
async def test_the_tui_shows_the_method_and_a_debates_turns(ran: Ran) -> None:
    with Store.open(ran.db) as store:
        board = store.leaderboard(ran.session_id)
        debated = next(
            e.id
            for e in board
            if any(
                m.mode == MatchMode.DEBATE and e.id in (m.first_id, m.second_id)
                for m in store.list_matches(ran.session_id)
            )
        )
        app = BrowseApp(store, ran.session_id, poll_seconds=5.0)
        async with app.run_test(size=(120, 40)) as pilot:
            table = app.screen.query_one(LeaderboardTable)
            await wait_for(lambda: table.row_count > 0, what="the leaderboard")
            await pilot.press("v")
            await wait_for(lambda: isinstance(app.screen, MethodScreen), what="the method page")
            body = app.screen.query_one("#method-body", Static)
            await wait_for(lambda: "Specific Aims" in rendered(body), what="the method text")
            text = rendered(body)
            for part in ("Research plan", "Objective:", "Safety", "Aim 1:", "pitfalls", "flawed"):
                assert part in text, part
            assert "observation" in text and OBSERVATION in text
            await pilot.press("escape")

            table = app.screen.query_one(LeaderboardTable)
            table.move_cursor(row=table_keys(table).index(debated))
            await pilot.press("enter")
            await wait_for(lambda: isinstance(app.screen, HypothesisScreen), what="the detail")
            matches = app.screen.query_one(MatchesTable)
            await wait_for(lambda: matches.row_count > 0, what="its matches")
            row = next(
                i
                for i, key in enumerate(table_keys(matches))
                if matches.get_cell(key, "mode").plain == "debate"
            )
            matches.focus()
            matches.move_cursor(row=row)
            await pilot.press("enter")
            await wait_for(lambda: isinstance(app.screen, MatchScreen), what="the match")
            shown = rendered(app.screen.query_one("#match-body", Static))
            assert "Debate (3 turns)" in shown and "Advocate for Hypothesis 1" in shown
            assert "Verdict" in shown and "winner" in shown
            assert isinstance(matches, DataTable)
