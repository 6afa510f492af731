"""Report exports: a session built through the Store (tests/report_support.py), exported in every
format, read back."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import networkx as nx
import pytest

from coscientist.config import Settings
from coscientist.errors import ConfigError, CoscientistError, NotFoundError
from coscientist.knowledge import KnowledgeGraph
from coscientist.reports import FORMATS, ExportError, export_session, gather, json_export
from coscientist.reports import html as html_report
from coscientist.reports.analysis import generations, wilson_interval
from coscientist.reports.templating import md_cell
from coscientist.schemas import (
    Hypothesis,
    SessionInfo,
    new_id,
)
from coscientist.store import Store
from coscientist.tournament.confidence import annotate
from tests.fakes.openai_server import FakeOpenAIServer
from tests.report_support import (
    GAP,
    GRAPH_EDGES,
    GRAPH_NODES,
    MATCHES,
    MD_XSS_TITLE,
    OVERVIEW,
    PIPE_TITLE,
    SECRET,
    URL_PASSWORD,
    XSS_STATEMENT,
    XSS_TITLE,
    Exported,
    Sample,
    build_session,
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{tmp_path / 'store.db'}") as opened:
        yield opened


@pytest.fixture
def sample(store: Store) -> Sample:
    return build_session(store)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exported]:
    root = tmp_path_factory.mktemp("exports")
    with Store.open(f"sqlite:///{root / 'store.db'}") as opened:
        sample = build_session(opened)
        paths = {
            fmt: export_session(opened, sample.session_id, fmt, root / "new" / fmt / f"r.{fmt}")
            for fmt in FORMATS
        }
        yield Exported(store=opened, sample=sample, paths=paths)


def _section(text: str, start: str, end: str) -> str:
    return text[text.index(start) : text.index(end, text.index(start))]


def test_markdown_report(exported: Exported) -> None:
    store, sample, text = exported.store, exported.sample, exported.text("md")
    assert exported.paths["md"].parent.name == "md"  # its folders were created
    board = _section(text, "## Leaderboard", "## Top hypotheses")
    leader = store.leaderboard(sample.session_id)[0]
    assert leader.id == sample.ids["xss"]  # the fixture's matches make it the clear leader
    positions = {name: board.find(f"`{hid}`") for name, hid in sample.ids.items()}
    assert positions["grand"] == -1  # rejected: not on the leaderboard
    assert positions["xss"] == min(p for p in positions.values() if p >= 0)
    assert board.index(MD_XSS_TITLE) < board.index("Plain hypothesis")
    # Table cells: a pipe is escaped and a newline becomes <br>, so every row keeps its columns.
    assert r"Pipes \| and<br>newlines in a title" in board
    # Raw HTML a model wrote never reaches a Markdown viewer as a tag.
    assert not re.search(r"(?<!\\)<(script|b>)", text)
    assert "Sound & \\<b>bold\\</b> idea" in text
    rows = [line for line in board.splitlines() if line.startswith("| ") and "`" in line]
    assert len(rows) == 5
    assert {len(re.findall(r"(?<!\\)\|", row)) for row in rows} == {10}
    top = _section(text, "## Top hypotheses", "## Meta-review")
    assert top.index(XSS_STATEMENT) < top.index("Statement of")
    for expected in (
        "Two-dose mouse study",
        "- Tau follows with a delay",
        "doi:10.1/real: A real paper (✓ checked)",
        "doi:10.1/fake: A made-up paper (✗ not found)",
        "arXiv:2502.18864 (not checked)",
        "correctness 3.0, novelty 4.0",
        "weakness: small sample",
    ):
        assert expected in top, expected
    assert f"from `{sample.ids['xss']}`" in top  # the evolved child names its parents
    assert OVERVIEW in text and f"- {GAP}" in text
    assert "Hubs: Microglia (3), " in text and "Bridges: Microglia (0.500)" in text
    wins_first = sum(1 for first, _, winner, _ in MATCHES if first == winner)
    assert f"{100 * wins_first / len(MATCHES):.1f} %" in _section(
        text, "## Tournament", "## Lineage"
    )
    assert text.startswith("# Research report: Why do amyloid plaques | tangles form? Find out.\n")


def test_html_escapes_everything_a_model_wrote(exported: Exported) -> None:
    text = exported.text("html")
    assert "<script" not in text.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "Raising the &#34;high&#34; dose &amp; the low dose" in text
    assert "Sound &amp; &lt;b&gt;bold&lt;/b&gt; idea" in text
    assert "<b>" not in text
    board = _section(text, 'id="leaderboard"', "</section>")
    assert board.index("&lt;script&gt;") < board.index("Plain hypothesis")
    # Self-contained: no scripts, stylesheets, images or fonts fetched from anywhere.
    for external in ("<link", "src=", "@import", "url(", "http://", "https://"):
        assert external not in text, external
    assert text.count("<section") == text.count("</section>") == 13


def test_json_document(exported: Exported) -> None:
    store, sample = exported.store, exported.sample
    data = json.loads(exported.text("json"))
    assert data["format_version"] == 5
    board = data["leaderboard"]
    sid = sample.session_id
    # ranked as every display ranks: by the judge fit over the verdicts and the lineage
    shown, _ = annotate(
        store.leaderboard(sid), seed=7, verdicts=store.verdicts(sid), parents=store.lineage(sid)
    )
    assert [row["id"] for row in board] == [e.id for e in shown]
    assert {row["id"] for row in board} == {e.id for e in store.leaderboard(sid)}
    assert all(row["rated_by"] == "judge fit" for row in board)
    assert sample.ids["grand"] not in {row["id"] for row in board}
    for row in board:  # the rating with its interval, from the same fit
        assert row["elo_low"] < row["elo"] < row["elo_high"]
    assert "bradley_terry" not in data and "bradley_terry_rank" not in board[0]
    t = data["tournament"]
    assert (t["matches"], t["debates"], t["single"]) == (len(MATCHES), 3, len(MATCHES) - 3)
    wins_first = sum(1 for first, _, winner, _ in MATCHES if first == winner)
    assert t["first_position_wins"] == wins_first
    assert t["first_position_win_rate"] == pytest.approx(wins_first / len(MATCHES))
    assert t["by_status"]["rejected"] == 1 and t["rated"] == len(sample.ids)
    lineage = {e["id"]: e for e in data["lineage"]}
    assert lineage[sample.ids["child"]]["generation"] == 1
    assert lineage[sample.ids["grand"]]["generation"] == 2
    assert [p["title"] for p in lineage[sample.ids["child"]]["parents"]] == [XSS_TITLE, PIPE_TITLE]
    first = data["top"][0]
    assert first["hypothesis"]["statement"] == XSS_STATEMENT
    assert [c["verified"] for c in first["hypothesis"]["citations"]] == [True, False, None]
    assert {r["kind"] for r in first["reviews"]} == {"full", "initial"}
    assert data["meta_review"]["gaps"] == [GAP] and data["meta_reviews"] == 1
    assert data["calls"]["calls"] == 3 and data["calls"]["by_outcome"] == {"ok": 2, "repaired": 1}
    assert data["knowledge"]["metrics"]["nodes"] == len(GRAPH_NODES)
    assert data["knowledge"]["hubs"][0] == {"label": "Microglia", "links": 3}
    assert data["session"]["limits"] == {"max_calls": 50, "max_hypotheses": 6}


def test_exports_are_reproducible(exported: Exported) -> None:
    """Every draw is seeded from the session: a second export agrees to the last digit."""
    again = json.loads(json_export.render(gather(exported.store, exported.sample.session_id)))
    before = json.loads(exported.text("json"))
    assert again.pop("generated_at") >= before.pop("generated_at")
    assert again == before
    keys = list(json.loads(exported.text("json")))
    assert keys == sorted(keys) and "format_version" in keys


def test_graphml_has_the_knowledge_graph(exported: Exported) -> None:
    graph = nx.read_graphml(exported.paths["graphml"])
    assert graph.number_of_nodes() == len(GRAPH_NODES)
    assert graph.number_of_edges() == len(GRAPH_EDGES)
    assert graph.nodes["a<b & c"]["label"] == 'A<b & "c"'
    assert graph.has_edge("amyloid", "tau")


def test_no_secret_in_any_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A key in the environment and a password in the model URL reach no export.

    Without matches: the places a secret could slip in are the session and its settings.
    """
    from coscientist.session import CoScientist

    monkeypatch.setenv("COSCIENTIST_API_KEY", SECRET)
    with FakeOpenAIServer() as server:  # start() checks the endpoint before storing a session
        endpoint = f"127.0.0.1:{server.port}/v1"
        settings = Settings(
            db=f"sqlite:///{tmp_path / 's.db'}",
            model="openai-compatible",
            base_url=f"http://user:{URL_PASSWORD}@{endpoint}",
        )
        assert settings.api_key_value() == SECRET
        with CoScientist(settings) as cs:
            session = cs.start("Find the cause", seed=3)
    with CoScientist(settings) as cs:
        build_session(cs.store, session.id, matches=[])
        for fmt in FORMATS:
            written = export_session(cs.store, session.id, fmt, tmp_path / f"out.{fmt}")
            text = written.read_text(encoding="utf-8")
            assert SECRET not in text, fmt
            assert URL_PASSWORD not in text, fmt
    assert endpoint in (tmp_path / "out.json").read_text()  # the endpoint itself is kept


def test_a_session_with_nothing_yet_exports(store: Store, tmp_path: Path) -> None:
    info = store.create_session(SessionInfo(id=new_id(), goal="Empty", model_spec="scripted"))
    texts = {
        fmt: export_session(store, info.id, fmt, tmp_path / f"e.{fmt}").read_text("utf-8")
        for fmt in FORMATS
    }
    assert "No active hypotheses yet." in texts["md"] and "No meta-review yet." in texts["html"]
    data = json.loads(texts["json"])
    assert data["leaderboard"] == [] and data["tournament"]["first_position_win_rate"] is None
    assert nx.read_graphml(tmp_path / "e.graphml").number_of_nodes() == 0


def test_unknown_format_is_a_config_error(store: Store, sample: Sample, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown export format 'pdf'"):
        export_session(store, sample.session_id, "pdf", tmp_path / "r.pdf")
    assert not (tmp_path / "r.pdf").exists()


def test_unknown_session_is_not_found(store: Store, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="nosuchsession"):
        export_session(store, "nosuchsession", "md", tmp_path / "new" / "r.md")
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("fmt", ["html", "graphml"])
def test_unwritable_path_is_a_one_line_error(
    store: Store, sample: Sample, tmp_path: Path, fmt: str
) -> None:
    root = tmp_path / "out"
    root.mkdir()
    blocker = root / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(ExportError) as under_a_file:
        export_session(store, sample.session_id, fmt, blocker / "sub" / f"r.{fmt}")
    with pytest.raises(ExportError) as a_directory:
        export_session(store, sample.session_id, fmt, root)
    for caught, expected in (
        (under_a_file, f"{blocker} is a file"),
        (a_directory, "is a directory"),
    ):
        assert isinstance(caught.value, CoscientistError)
        assert "\n" not in str(caught.value) and expected in str(caught.value)
    assert [p.name for p in root.iterdir()] == ["a-file"]


def test_failed_write_keeps_the_previous_file(
    store: Store, sample: Sample, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out" / "g.graphml"
    target.parent.mkdir()
    target.write_text("previous export")

    def half_written(self: KnowledgeGraph, path: str | Path) -> None:
        Path(path).write_text("<graphml")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(KnowledgeGraph, "to_graphml", half_written)
    with pytest.raises(ExportError, match="No space left on device"):
        export_session(store, sample.session_id, "graphml", target)
    assert target.read_text() == "previous export"
    assert [p.name for p in target.parent.iterdir()] == ["g.graphml"]


def test_confidence_audit_and_compute_curve(exported: Exported) -> None:
    """The fixture shows xss-pipe both ways (xss won twice: consistent) and xss-child both ways
    (each won when shown first: flipped), every other pair once."""
    sample = exported.sample
    data = json.loads(exported.text("json"))
    audit = data["judge_audit"]
    assert (audit["pairs_checked"], audit["consistent"]) == (2, 1)
    assert audit["consistency"] == pytest.approx(0.5)
    confidence = data["confidence"]
    board = data["leaderboard"]
    assert confidence["k"] == audit["top_k"] == 2  # five active hypotheses: the top two
    flipped = {sample.ids["xss"]: (2, 1), sample.ids["child"]: (1, 1)}
    in_top = {r["id"] for r in board[:2]}
    flagged = {f["id"]: (f["checked"], f["flipped"]) for f in audit["flagged"]}
    assert flagged == {hid: n for hid, n in flipped.items() if hid in in_top}
    assert sample.ids["xss"] in flagged  # the leader rests on a verdict that flipped
    assert 0.0 < confidence["expected_recall"] <= 1.0
    assert sum(r["in_top"] for r in board) == pytest.approx(2.0)
    assert 0.0 < confidence["first_position_win_rate"] < 1.0
    assert [r["elo"] for r in board] == sorted((r["elo"] for r in board), reverse=True)
    curve = data["compute_curve"]["points"]
    assert [p["matches"] for p in curve] == list(range(1, len(MATCHES) + 1))
    assert all(p["best_elo"] >= p["top_mean_elo"] for p in curve)
    html = exported.text("html")
    # One compute curve of two lines (the knowledge graph draws SVGs of its own beside it).
    curve_svg = html[html.index('<svg class="curve"') :]
    curve_svg = curve_svg[: curve_svg.index("</svg>")]
    assert html.count('<svg class="curve"') == 1 and curve_svg.count("<polyline") == 2
    # Each leaderboard row draws its rating's interval, the one the JSON gives, in both reports.
    leaderboard = _section(html, 'id="leaderboard"', "</section>")
    assert leaderboard.count('<div class="bar">') == len(board)
    md = exported.text("md")
    for row in board:
        shown = f"{row['elo_low']:.0f} to {row['elo_high']:.0f}"
        assert f'<span class="meta">{shown}</span>' in leaderboard and f"| {shown} |" in md
    assert "self-consistency 50.0 %" in md and "### Rating against compute" in md


def test_html_escapes_text_rendered_directly(exported: Exported) -> None:
    report = gather(exported.store, exported.sample.session_id, top=1)
    report.session.goal = "<img src=x onerror=alert(1)>"
    text = html_report.render(report)
    assert "<img" not in text and "&lt;img src=x onerror=alert(1)&gt;" in text


def test_markdown_cell_escaping() -> None:
    assert md_cell("a | b") == r"a \| b"
    assert md_cell("one\r\ntwo\n\nthree ") == "one<br>two<br>three"
    assert md_cell("back\\slash|") == r"back\\slash\|"


def test_wilson_interval() -> None:
    assert wilson_interval(0, 0) is None
    low_high = wilson_interval(63, 100)
    assert low_high is not None and low_high.low < 0.63 < low_high.high
    assert low_high.low == pytest.approx(0.5322, abs=1e-3)
    assert low_high.high == pytest.approx(0.7181, abs=1e-3)
    extreme = wilson_interval(10, 10)
    assert extreme is not None and extreme.high == pytest.approx(1.0) and 0.6 < extreme.low < 0.8


def test_generations_survive_cycles_and_missing_parents() -> None:
    def h(hid: str, *parents: str) -> Hypothesis:
        return Hypothesis(
            id=hid, session_id="s", title=hid, statement=hid, origin="x", parent_ids=list(parents)
        )

    chain = [h("root")] + [h(f"n{i}", f"n{i - 1}" if i else "root") for i in range(1500)]
    assert generations(chain)["n1499"] == 1500  # no recursion limit
    depth = generations([h("a", "b"), h("b", "a"), h("c", "gone")])
    assert depth["c"] == 1
    assert depth["a"] <= 3 and depth["b"] <= 3  # a corrupt cycle ends, it does not hang


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "coscientist.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )


@pytest.mark.slow
def test_cli_export(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    with Store.open(db) as opened:
        sample = build_session(opened)
    output = tmp_path / "reports" / "session.html"
    done = _cli(
        "export", sample.session_id, "--format", "html", "--output", str(output), "--db", db
    )
    assert done.returncode == 0, done.stderr
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in output.read_text(encoding="utf-8")
    assert done.stdout.strip() == str(output)
    bad = _cli(
        "export", sample.session_id, "--format", "pdf", "--output", str(tmp_path / "x"), "--db", db
    )
    assert bad.returncode == 2
    lines = [line for line in bad.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "pdf" in lines[0] and "Traceback" not in bad.stderr
    assert not (tmp_path / "x").exists()


def test_debates_shown_are_of_the_best_ranked_hypotheses_that_debated() -> None:
    from coscientist.reports.method import top_debates
    from coscientist.schemas import Match, MatchMode

    def debate(seq: int, a: str, b: str) -> Match:
        return Match(
            id=f"m{seq}", session_id="s", seq=seq, first_id=a, second_id=b, winner_id=a,
            mode=MatchMode.DEBATE, rationale="r", turns=["1", "2", "3"],
        )  # fmt: skip

    single = Match(id="m0", session_id="s", seq=0, first_id="u1", second_id="a", winner_id="u1")
    matches = [single, debate(1, "a", "b"), debate(2, "b", "c"), debate(3, "a", "x"),
               debate(4, "a", "c"), debate(5, "d", "e"), debate(6, "f", "g")]  # fmt: skip
    titles = {h: h.upper() for h in ("u1", "u2", "a", "b", "c", "d", "e", "f", "g")}  # x withheld
    # u1 and u2 rank first without a debate (u1 played a single match): they are passed over.
    ranked = ["u1", "u2", "b", "a", "c", "d", "e", "f", "g"]
    shown = top_debates(matches, ranked, titles, hypotheses=3, per_hypothesis=2)
    # b's latest two, then a's latest two not yet shown (m3 has a withheld side), then c's.
    assert [d.id for d in shown] == ["m2", "m1", "m4"]
    assert shown[0].first_title == "B" and shown[0].turns == ["1", "2", "3"]
    assert top_debates(matches, ["u1", "u2"], titles) == []
    assert [d.id for d in top_debates(matches, ranked, titles, hypotheses=5)][-1] == "m5"
