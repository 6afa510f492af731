"""Citation checks, the preflight and research contacts, against the local literature fake."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from coscientist.config import Settings
from coscientist.literature import LiteratureTools
from coscientist.literature.check import TITLE_MATCH_THRESHOLD, title_similarity
from coscientist.literature.contacts import author_key, research_contacts
from coscientist.literature.session import PREFLIGHT_FAILED, open_literature
from coscientist.schemas import Citation, Hypothesis
from tests.fakes.literature_server import FakeLiteratureServer

NO_PACING = {"arxiv": 0.0, "pubmed": 0.0, "europepmc": 0.0}
TRUE_TITLE = "Agentic Deep Graph Reasoning Yields Self-Organizing Knowledge Networks"


@pytest.fixture
def server() -> Iterator[FakeLiteratureServer]:
    with FakeLiteratureServer() as fake:
        yield fake


@pytest.fixture
async def tools(server: FakeLiteratureServer) -> AsyncIterator[LiteratureTools]:
    async with LiteratureTools(server.base_urls, min_intervals=NO_PACING, timeout=5.0) as lit:
        yield lit


def _dead_urls() -> dict[str, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    return {"arxiv": f"{base}/arxiv/api", "pubmed": f"{base}/pubmed", "europepmc": base}


@pytest.mark.parametrize(
    ("cited", "found", "match"),
    [
        (
            TRUE_TITLE,
            "Agentic deep graph reasoning yields self-organizing knowledge networks.",
            True,
        ),
        (
            "Tau propagation across neural networks",
            "Tau propagation across neuronal networks.",
            True,
        ),
        ("Étude of tumour cells", "Etude of tumor cells", True),  # accents, British spelling
        ("Towards an AI co-pilot for robot chemists", "Towards an AI co-scientist", False),
        ("Tau propagation across neural networks.", "Microglia and amyloid clearance.", False),
        ("Tau seeding in organoids", "A preprint on tau seeding in organoids", False),
        ("", "Anything", False),
    ],
)
def test_title_match_threshold(cited: str, found: str, match: bool) -> None:
    assert (title_similarity(cited, found) >= TITLE_MATCH_THRESHOLD) is match


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("citation", "check", "note"),
    [
        (Citation(identifier="arXiv:2502.13025", title=TRUE_TITLE), "checked", ""),
        (
            Citation(identifier="PMID:31000001", title="Tau propagation across neural networks"),
            "checked",
            "",
        ),
        (
            Citation(
                identifier="doi:10.1101/2024.01.01.000001",
                title="A preprint on tau seeding in organoids",
            ),
            "checked",
            "",
        ),
        (
            Citation(identifier="arXiv:2502.13025", title="Towards an AI co-scientist"),
            "unchecked",
            "title differs",
        ),
        (
            Citation(identifier="arXiv:2502.99999", title="A paper nobody wrote"),
            "not_found",
            "has no",
        ),
        (Citation(identifier="PMID:39999999", title="Nothing"), "not_found", "has no"),
        (Citation(identifier="arXiv:2502.18864"), "unchecked", "no title was cited"),
        (
            Citation(identifier="Smith et al. 2020", title="Something"),
            "unchecked",
            "not an arXiv id",
        ),
    ],
)
async def test_check_resolves_the_identifier_and_compares_the_title(
    tools: LiteratureTools, citation: Citation, check: str, note: str
) -> None:
    checked = await tools.check(citation)
    assert checked.check == check
    assert note in checked.note
    assert checked.identifier == citation.identifier and checked.title == citation.title


@pytest.mark.anyio
async def test_check_fills_year_and_authors_from_the_source(tools: LiteratureTools) -> None:
    checked = await tools.check(
        Citation(identifier="PMID:32000002", title="Microglia and amyloid clearance")
    )
    assert (checked.check, checked.year, checked.authors) == ("checked", "2020", ["Doe J", "Moe M"])


@pytest.mark.anyio
async def test_check_when_the_services_cannot_be_reached_is_not_a_verdict() -> None:
    async with LiteratureTools(_dead_urls(), min_intervals=NO_PACING, timeout=2.0) as lit:
        checked = await lit.check(Citation(identifier="arXiv:2502.13025", title=TRUE_TITLE))
    assert (checked.check, checked.note) == ("unchecked", "no literature service could answer")


@pytest.mark.anyio
async def test_preflight_asks_each_service_once_at_the_same_time(
    server: FakeLiteratureServer, tools: LiteratureTools
) -> None:
    assert await tools.preflight() == ["arxiv", "pubmed", "europepmc"]
    assert {h.service for h in server.hits} == {"arxiv", "pubmed", "europepmc"}
    assert server.count() == 3
    server.failing.add("pubmed")
    assert await tools.preflight() == ["arxiv", "europepmc"]


@pytest.mark.anyio
async def test_default_literature_turns_on_when_the_services_answer(
    server: FakeLiteratureServer,
) -> None:
    assert Settings().literature is False  # tests/conftest.py: off unless a test opts in
    on = Settings(
        literature=None, literature_base_urls=server.base_urls, literature_min_intervals=NO_PACING
    )
    tools, notice = await open_literature(on)
    assert tools is not None and notice is None
    await tools.aclose()
    assert server.count() == 3


@pytest.mark.anyio
async def test_default_literature_is_off_in_one_line_when_nothing_answers() -> None:
    settings = Settings(literature=None, literature_base_urls=_dead_urls())
    started = time.monotonic()
    tools, notice = await open_literature(settings)
    assert time.monotonic() - started < 1.0
    assert tools is None
    assert notice is not None and notice.startswith(PREFLIGHT_FAILED) and "\n" not in notice


@pytest.mark.anyio
async def test_literature_off_asks_nothing_and_on_does_not_preflight(
    server: FakeLiteratureServer,
) -> None:
    assert await open_literature(
        Settings(literature=False, literature_base_urls=server.base_urls)
    ) == (None, None)
    insisted, notice = await open_literature(
        Settings(literature=True, literature_base_urls=_dead_urls())
    )
    assert insisted is not None and notice is None
    await insisted.aclose()
    assert server.count() == 0


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Jane A. Doe", "doe j"),
        ("Doe JA", "doe j"),
        ("Doe, Jane", "doe j"),
        ("van der Berg AB", "van der berg a"),
        ("Madonna", "madonna"),
        ("et al.", ""),
        ("", ""),
    ],
)
def test_author_key(name: str, key: str) -> None:
    assert author_key(name) == key


def _h(hid: str, *citations: Citation) -> Hypothesis:
    return Hypothesis(
        id=hid,
        session_id="s",
        title=hid,
        statement=hid,
        origin="generation:literature",
        citations=list(citations),
    )


def test_contacts_are_authors_in_two_distinct_papers_of_the_top() -> None:
    a = Citation(identifier="PMID:1", title="One", authors=["Doe J", "Roe R"], verified=True)
    b = Citation(identifier="arXiv:2502.00001", title="Two", authors=["Jane Doe", "Poe P"])
    gone = Citation(identifier="PMID:9", title="Missing", authors=["Roe R"], verified=False)
    contacts = research_contacts([_h("h1", a, gone), _h("h2", a, b)])
    assert [c.name for c in contacts] == ["Jane Doe"]  # Roe R's second paper was not found
    (doe,) = contacts
    assert [p.identifier for p in doe.papers] == ["PMID:1", "arXiv:2502.00001"]
    assert [p.check for p in doe.papers] == ["checked", "unchecked"]
    assert doe.hypotheses == ["h1", "h2"]
    assert research_contacts([_h("h1", a), _h("h2", a)]) == []  # one paper cited twice


def test_authors_from_each_source_are_people_only() -> None:
    from coscientist.literature.europepmc import parse_search
    from coscientist.literature.pubmed import parse_esummary

    summary = {
        "result": {
            "uids": ["1"],
            "1": {
                "uid": "1",
                "title": "T",
                "authors": [
                    {"name": "Doe J", "authtype": "Author"},
                    {"name": "Tau Genomics Consortium", "authtype": "CollectiveName"},
                ],
            },
        }
    }
    (paper,) = parse_esummary(json.dumps(summary))
    assert paper.authors == ("Doe J",)
    record = {"pmid": "1", "title": "T", "authorString": "Doe J, Roe R, et al."}
    (europe,) = parse_search(json.dumps({"resultList": {"result": [record]}}))
    assert europe.authors == ("Doe J", "Roe R")
