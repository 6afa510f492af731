"""A session with literature on against the local fakes: queries, checked citations, contacts.

And offline: the default preflight finds no service, the run says so in one line and goes on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import anyio

from coscientist.config import Limits, Settings
from coscientist.literature.session import PREFLIGHT_FAILED
from coscientist.reports import export_session
from coscientist.schemas import ReviewKind
from coscientist.session import CoScientist
from coscientist.tui import render
from coscientist.tui.data import Detail
from tests.fakes.literature_server import ARXIV, EUROPEPMC, PUBMED, FakeLiteratureServer

NO_PACING = {"arxiv": 0.0, "pubmed": 0.0, "europepmc": 0.0}
MISCITED = "arXiv:2502.18864"
GOAL = "How does tau protein spread between neurons?"
KNOWN = (
    {f"arXiv:{i}" for i in ARXIV}
    | {f"PMID:{i}" for i in PUBMED}
    | {f"doi:{r['doi']}" for r in EUROPEPMC if "pmid" not in r}
)


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "coscientist.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def test_a_session_with_literature_cites_checked_papers_and_lists_contacts(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'lit.db'}"
    with FakeLiteratureServer(
        search_titles={MISCITED: "Towards an AI co-pilot for chemists"}
    ) as fake:
        settings = Settings(
            db=db,
            model="scripted",
            seed=5,
            concurrency=1,  # one task at a time: the same run every time
            literature=None,  # the default: on because the (fake) services answer the preflight
            literature_base_urls=fake.base_urls,
            literature_min_intervals=NO_PACING,
        )
        with CoScientist(settings) as cs:
            session = cs.start(GOAL)
            anyio.run(session.run, Limits(max_calls=150, max_hypotheses=12))
            hypotheses = cs.store.list_hypotheses(session.id)
            full = [r for r in cs.store.list_reviews(session.id) if r.kind is ReviewKind.FULL]
            sid = session.id
        preflights = [
            h
            for h in fake.hits
            if h.params.get("max_results") == "1" and "search_query" in h.params
        ]
        assert preflights, "the default setting asked arXiv before the run"

    # The full reviews searched the model's own queries and recorded every citation's check.
    assert full
    for review in full:
        assert 1 <= len(review.details["queries"]) <= 3
        assert {c["check"] for c in review.details["citations"]} <= {
            "checked",
            "unchecked",
            "not_found",
        }
    cited = [c for h in hypotheses for c in h.citations]
    assert {c.identifier for c in cited} <= KNOWN  # numbers, never invented identifiers
    assert any(c.check == "checked" for c in cited)
    miscited = [c for c in cited if c.identifier == MISCITED]
    assert miscited, "the run cited the paper whose search title is wrong"
    for c in miscited:
        assert c.check == "unchecked" and "title differs" in c.note
    assert all(c.check == "checked" for c in cited if c.identifier != MISCITED)

    # show --json: each leader's citations with their checks, and the research contacts
    env = {k: v for k, v in os.environ.items() if k != "COSCIENTIST_LITERATURE"}
    shown = _cli("show", sid, "--db", db, "--json", "--top", "50", env=env)
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    board_checks = [c["check"] for e in data["leaderboard"] for c in e["citations"]]
    assert "checked" in board_checks
    assert data["contacts"], "an author recurs across the top hypotheses' sources"
    top_ids = [e["id"] for e in data["leaderboard"][:10]]
    for person in data["contacts"]:
        assert len({p["identifier"] for p in person["papers"]}) >= 2
        assert set(person["hypotheses"]) <= set(top_ids)
    assert "Jane Doe" in {
        p["name"] for p in data["contacts"]
    }  # arXiv's "Jane Doe" is PubMed's "Doe J"

    # The reports mark each citation and list the contacts; the TUI shows the marks.
    with CoScientist(settings) as cs:
        md = export_session(cs.store, sid, "md", tmp_path / "r.md").read_text(encoding="utf-8")
        html = export_session(cs.store, sid, "html", tmp_path / "r.html").read_text(
            encoding="utf-8"
        )
        leader = next(h for h in hypotheses if any(c.check == "checked" for c in h.citations))
        view = render.detail(Detail(hypothesis=leader, entry=None, reviews=[], parents=[])).plain
        exported = export_session(cs.store, sid, "json", tmp_path / "r.json")
        report = json.loads(exported.read_text(encoding="utf-8"))
    assert [c["name"] for c in report["contacts"]] == [c["name"] for c in data["contacts"]]
    report_checks = {c["check"] for t in report["top"] for c in t["hypothesis"]["citations"]}
    assert "checked" in report_checks
    assert "✓ checked" in md and "## Research contacts" in md and "Jane Doe" in md
    assert "✓ checked" in html and 'id="contacts"' in html
    assert "✓ " in view and "Citations" in view


def test_offline_default_says_one_line_and_the_run_goes_on(tmp_path: Path) -> None:
    """No service answers (tests/conftest.py points them at a closed port): the preflight
    says so once, in one line, and the session runs without literature."""
    env = {k: v for k, v in os.environ.items() if k != "COSCIENTIST_LITERATURE"}
    db = f"sqlite:///{tmp_path / 'off.db'}"
    proc = _cli(
        "run", GOAL, "--db", db, "--model", "scripted", "--max-calls", "12", "--no-tui", env=env
    )
    assert proc.returncode == 0, proc.stderr
    output = proc.stdout + proc.stderr
    lines = [line for line in output.splitlines() if "Literature is off" in line]
    assert len(lines) == 1, output
    assert PREFLIGHT_FAILED[:40] in lines[0]
