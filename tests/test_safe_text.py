"""Text is text: model and scientist text never drives the terminal, rich markup or a link.

Hypotheses holding rich markup (`[/] [bold]`), a terminal-retitling OSC sequence
(`ESC ]0;... BEL`), colour codes, a C1 CSI and bidi overrides go through every
place that shows them: `show`, `sessions`, `graph`, the Markdown and HTML
reports and the TUI's render code.
"""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import pytest
from rich.console import Console

from coscientist import cli
from coscientist.reports import export_session
from coscientist.safe_text import console_markup, markdown_text, one_line, printable
from coscientist.schemas import (
    Citation,
    GraphEdge,
    GraphNode,
    Hypothesis,
    SessionInfo,
    new_id,
)
from coscientist.store import Store
from coscientist.tui import render
from coscientist.tui.data import Detail

MARKUP = "[/] [bold]loud[/bold] [link=http://evil.example]x[/link]"
OSC_TITLE = "\x1b]0;pwned title\x07"
COLOURS = "\x1b[31mred\x1b[0m"
C1_CSI = "\x9b31m"
BIDI = "abc\u202edcba"
NASTY = f"{MARKUP} {OSC_TITLE} {COLOURS} {C1_CSI} {BIDI}\rover"
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]")


def test_printable_shows_controls_one_for_one() -> None:
    text = printable(NASTY + "\nnext\tcolumn")
    assert len(text) == len(NASTY + "\nnext\tcolumn")
    assert not RAW_CONTROL.search(text)
    assert "␛]0;pwned title␇" in text and "␛[31mred␛[0m" in text and "␍over" in text
    assert text.endswith("\nnext\tcolumn"), "newlines and tabs are text"
    assert printable("caf\udce9") == "caf\ufffd", "undecodable bytes become U+FFFD"
    assert printable("plain text") == "plain text"


def test_console_markup_prints_markup_literally() -> None:
    console = Console(file=io.StringIO(), width=200, color_system=None)
    console.print(f"[bold]goal[/] {console_markup(NASTY)}")
    shown = console.file.getvalue()  # type: ignore[attr-defined]
    assert "[/] [bold]loud[/bold]" in shown
    assert "\x1b" not in shown and "\x07" not in shown and "\x9b" not in shown


def test_one_line_collapses_whitespace() -> None:
    assert one_line("a\n\n b\t c ") == "a b c"


@pytest.mark.parametrize(
    ("text", "forbidden"),
    [
        ("see [the paper](http://evil.example/x)", r"(?<!\\)\[the paper(?<!\\)\]\("),
        ("![pixel](http://evil.example/p.png)", r"!(?<!\\)\["),
        ("<http://evil.example>", r"(?<!\\)<http"),
        ("<img src=x onerror=alert(1)>", r"(?<!\\)<img"),
        ("[ref]: http://evil.example", r"^(?<!\\)\[ref(?<!\\)\]:"),
    ],
)
def test_markdown_text_has_no_live_links(text: str, forbidden: str) -> None:
    assert not re.search(forbidden, markdown_text(text), re.MULTILINE), markdown_text(text)


def test_markdown_text_puts_bare_urls_and_addresses_in_code() -> None:
    shown = markdown_text("go to https://evil.example/a?b=1 or www.evil.example or me@evil.example")
    assert "`https://evil.example/a?b=1`" in shown
    assert "`www.evil.example`" in shown and "`me@evil.example`" in shown


# --- through the command line and the reports ------------------------------------------------


@pytest.fixture
def nasty_store(tmp_path: Path) -> tuple[str, str, Store]:
    db = f"sqlite:///{tmp_path / 's.db'}"
    store = Store.open(db)
    info = store.create_session(
        SessionInfo(id=new_id(), goal=f"Goal {NASTY}", model_spec="scripted")
    )
    store.add_hypotheses(
        [
            Hypothesis(
                id=new_id(),
                session_id=info.id,
                title=f"Title {NASTY}",
                statement=f"Statement {NASTY} see [this](http://evil.example) ![x](http://evil.example/i.png)",
                origin="scientist",
                citations=[
                    Citation(identifier="doi:10.1000/xyz(1)", title="Checked", verified=True),
                    Citation(
                        identifier="http://evil.example/fake", title="Made up", verified=False
                    ),
                ],
            )
        ]
    )
    store.merge_graph(
        info.id,
        [GraphNode(key="a", label=f"Node {NASTY}"), GraphNode(key="b", label="Plain")],
        [GraphEdge(source="a", target="b", relation="links")],
    )
    return db, info.id, store


def _run(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> str:
    monkeypatch.setattr(sys, "argv", ["coscientist", *argv])
    with pytest.raises(SystemExit) as caught:
        cli.main()
    out, err = capsys.readouterr()
    assert caught.value.code == 0, err
    return out


@pytest.mark.parametrize("command", ["show", "sessions", "graph", "show-json"])
def test_cli_output_is_text(
    command: str,
    nasty_store: tuple[str, str, Store],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db, sid, _ = nasty_store
    argv = {
        "show": ["show", sid, "--db", db],
        "sessions": ["sessions", "--db", db],
        "graph": ["graph", sid, "--db", db],
        "show-json": ["show", sid, "--db", db, "--json"],
    }[command]
    out = _run(argv, monkeypatch, capsys)
    assert not RAW_CONTROL.search(out.replace("\n", "")), repr(out)
    if command != "show-json":  # JSON escapes control characters as \u001b: also text
        assert "␛]0;pwned" in out
    if command in ("show", "graph"):
        assert "[/] [bold]loud" in out


def test_markdown_report_has_no_live_links_but_verified_citations(
    nasty_store: tuple[str, str, Store], tmp_path: Path
) -> None:
    _, sid, store = nasty_store
    text = export_session(store, sid, "md", tmp_path / "r.md").read_text(encoding="utf-8")
    links = re.findall(r"(?<!\\)\[[^\]]*(?<!\\)\]\(([^)]*)\)", text)
    assert links == ["https://doi.org/10.1000/xyz%281%29"], links
    assert "evil.example/fake" in text and "(http://evil.example/fake)" not in text
    assert not RAW_CONTROL.search(text.replace("\n", ""))


def test_html_report_escapes_and_links_nothing_a_model_wrote(
    nasty_store: tuple[str, str, Store], tmp_path: Path
) -> None:
    _, sid, store = nasty_store
    text = export_session(store, sid, "html", tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<img" not in text and "evil.example" in text
    assert not re.search(r"href=[\"']?http://evil", text)
    assert "[/] [bold]loud" in text


def test_tui_render_shows_controls_as_symbols(nasty_store: tuple[str, str, Store]) -> None:
    _, sid, store = nasty_store
    (h,) = store.list_hypotheses(sid)
    page = render.detail(Detail(hypothesis=h, entry=None, reviews=[], parents=[]))
    assert not RAW_CONTROL.search(page.plain.replace("\n", ""))
    assert "␛]0;pwned title␇" in page.plain and MARKUP in page.plain
    header = render.header(store.get_session(sid))
    assert not RAW_CONTROL.search(header.plain.replace("\n", ""))
