"""Literature tools against a local server that answers like arXiv, PubMed and Europe PMC."""

from __future__ import annotations

import itertools
import socket
import time
from collections.abc import AsyncIterator, Iterator

import anyio
import pytest

from coscientist.errors import ConfigError
from coscientist.literature import LiteratureTools, ServiceError, parse_identifier
from coscientist.literature.arxiv import QueryRejected, parse_feed, search_query
from coscientist.literature.tools import OFFLINE_NOTICE
from tests.fakes.literature_server import FakeLiteratureServer, arxiv_feed

NO_PACING = {"arxiv": 0.0, "pubmed": 0.0, "europepmc": 0.0}


@pytest.fixture
def server() -> Iterator[FakeLiteratureServer]:
    with FakeLiteratureServer() as fake:
        yield fake


@pytest.fixture
async def tools(server: FakeLiteratureServer) -> AsyncIterator[LiteratureTools]:
    async with LiteratureTools(server.base_urls, min_intervals=NO_PACING, timeout=5.0) as lit:
        yield lit


@pytest.mark.anyio
async def test_search_merges_the_three_services(
    server: FakeLiteratureServer, tools: LiteratureTools
) -> None:
    results = await tools.search("tau protein spreading", limit=10)
    by_id = {r["identifier"]: r for r in results}
    assert list(by_id) == [
        "arXiv:2502.13025",  # round robin: arXiv, PubMed, Europe PMC, then second ranks
        "PMID:31000001",
        "arXiv:2502.18864",
        "PMID:32000002",
        "doi:10.1101/2024.01.01.000001",
    ]
    graph = by_id["arXiv:2502.13025"]
    assert graph["title"] == (
        "Agentic Deep Graph Reasoning Yields Self-Organizing Knowledge Networks"
    )
    assert graph["abstract"].startswith("We present an agentic, autonomous graph expansion")
    assert "\n" not in graph["abstract"]
    assert (graph["year"], graph["source"]) == ("2025", "arxiv")
    # PubMed's record and Europe PMC's copy of it are one entry; the abstract comes from Europe PMC
    tau = by_id["PMID:31000001"]
    assert (tau["source"], tau["year"], tau["doi"]) == ("pubmed", "2019", "10.1000/tau.2019.1")
    assert tau["abstract"] == "Background Tau spreads along connected regions & more."
    assert by_id["doi:10.1101/2024.01.01.000001"]["source"] == "europepmc"
    assert len(await tools.search("tau protein spreading", limit=2)) == 2
    # polite client: named User-Agent, NCBI's tool parameter, Europe PMC's abstracts
    assert all("coscientist" in h.headers["User-Agent"] for h in server.hits)
    esearch = next(h for h in server.hits if h.path.endswith("esearch.fcgi"))
    assert (esearch.params["tool"], esearch.params["retmode"]) == ("coscientist", "json")
    europe = next(h for h in server.hits if h.service == "europepmc")
    assert (europe.params["format"], europe.params["resultType"]) == ("json", "core")
    assert tools.offline is False


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("identifier", "expected"),
    [
        ("arXiv:2502.13025", True),
        ("arXiv:2502.13025v2", True),
        ("https://arxiv.org/abs/2502.18864", True),
        ("doi:10.48550/arXiv.2502.18864", True),  # arXiv DOIs are checked at arXiv
        ("arXiv:2502.99999", False),
        ("PMID:31000001", True),
        ("PMID:39999999", False),
        ("doi:10.1000/tau.2019.1", True),
        ("10.1101/2024.01.01.000001", True),
        ("doi:10.1000/made.up", False),
        ("Smith et al. 2020", None),
    ],
)
async def test_verify(tools: LiteratureTools, identifier: str, expected: bool | None) -> None:
    assert await tools.verify(identifier) is expected


@pytest.mark.anyio
async def test_verify_falls_back_to_europe_pmc_when_pubmed_fails(
    server: FakeLiteratureServer, tools: LiteratureTools
) -> None:
    server.failing.add("pubmed")
    assert await tools.verify("PMID:31000001") is True
    assert server.count("europepmc") == 1


@pytest.mark.anyio
async def test_cache_hit_avoids_a_second_request(server: FakeLiteratureServer) -> None:
    cache: dict[str, str] = {}
    async with LiteratureTools(
        server.base_urls, cache_get=cache.get, cache_put=cache.__setitem__, min_intervals=NO_PACING
    ) as lit:
        first = await lit.search("graph reasoning", limit=3)
        assert await lit.verify("arXiv:2502.13025") is True
        requests = server.count()
        assert requests == 5  # arXiv, esearch + esummary, Europe PMC, arXiv id_list
        assert len(cache) == 5
        assert await lit.search("graph reasoning", limit=3) == first
        assert await lit.verify("arXiv:2502.13025") is True
        assert server.count() == requests
    async with LiteratureTools(  # a new process with the same store: still no request
        server.base_urls, cache_get=cache.get, cache_put=cache.__setitem__, min_intervals=NO_PACING
    ) as again:
        assert await again.search("graph reasoning", limit=3) == first
        assert again.requests == {"arxiv": 0, "pubmed": 0, "europepmc": 0}
    assert server.count() == requests


@pytest.mark.anyio
async def test_failed_answers_are_not_cached(server: FakeLiteratureServer) -> None:
    cache: dict[str, str] = {}
    server.failing.add("europepmc")
    async with LiteratureTools(
        server.base_urls, cache_get=cache.get, cache_put=cache.__setitem__, min_intervals=NO_PACING
    ) as lit:
        results = await lit.search("tau", limit=10)
        assert {r["source"] for r in results} == {"arxiv", "pubmed"}  # the others still answer
        assert lit.offline is False
        server.failing.clear()
        results = await lit.search("tau", limit=10)
        assert "europepmc" in {r["source"] for r in results}
        assert server.count("europepmc") == 2


@pytest.mark.anyio
async def test_requests_to_one_service_are_spaced(server: FakeLiteratureServer) -> None:
    pace = {"arxiv": 0.25, "pubmed": 0.3, "europepmc": 0.0}
    async with LiteratureTools(server.base_urls, min_intervals=pace) as lit:
        await lit.search("tau", limit=2)  # PubMed: esearch then esummary
        async with anyio.create_task_group() as group:  # two arXiv look-ups at once
            group.start_soon(lit.verify, "arXiv:2502.13025")
            group.start_soon(lit.verify, "arXiv:2502.18864")
    pubmed = server.times("pubmed")
    arxiv = server.times("arxiv")
    assert len(pubmed) == 2 and len(arxiv) == 3
    # Arrival times at the server: a first request also opens its connection, which on a
    # loaded machine can delay its arrival by tens of milliseconds (seen: 0.277 s apart).
    slack = 0.06
    assert pubmed[1] - pubmed[0] >= 0.3 - slack
    assert all(b - a >= 0.25 - slack for a, b in itertools.pairwise(arxiv))


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.anyio
async def test_unreachable_services_mean_offline_not_an_error() -> None:
    base = f"http://127.0.0.1:{_closed_port()}"
    urls = {"arxiv": f"{base}/arxiv/api", "pubmed": f"{base}/pubmed", "europepmc": base}
    async with LiteratureTools(urls, min_intervals=NO_PACING, timeout=2.0) as lit:
        started = time.monotonic()
        assert await lit.search("tau", limit=3) == []
        assert lit.offline is True
        assert await lit.verify("arXiv:2502.13025") is None
        assert await lit.verify("PMID:31000001") is None
        assert await lit.search("tau", limit=3) == []  # services rest: no new attempt
        assert time.monotonic() - started < 2.0
        assert lit.offline_notice() == OFFLINE_NOTICE
        assert lit.offline_notice() is None  # said once


def test_unknown_service_names_are_a_config_error() -> None:
    with pytest.raises(ConfigError, match="semantic-scholar"):
        LiteratureTools({"semantic-scholar": "http://127.0.0.1:1"})


def test_arxiv_feed_errors_and_query_building() -> None:
    with pytest.raises(QueryRejected, match="incorrect id format"):
        parse_feed(arxiv_feed({"id_list": "12.3"}))
    with pytest.raises(ServiceError):
        parse_feed("Rate exceeded.")  # arXiv's throttling page is plain text
    assert parse_feed(arxiv_feed({"id_list": "2502.99999"})) == []
    assert search_query("What drives the spreading of tau, and how?") == (
        "all:drives AND all:spreading AND all:tau"
    )


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("arXiv:2502.13025", "arxiv", "2502.13025"),
        ("arxiv: hep-th/9901001v2", "arxiv", "hep-th/9901001v2"),
        ("PMID:123456", "pmid", "123456"),
        ("https://pubmed.ncbi.nlm.nih.gov/123456/", "pmid", "123456"),
        ("DOI:10.1038/nature12373.", "doi", "10.1038/nature12373"),
        ("https://doi.org/10.1038/nature12373", "doi", "10.1038/nature12373"),
        ("10.48550/arXiv.2502.13025", "arxiv", "2502.13025"),
    ],
)
def test_parse_identifier(text: str, kind: str, value: str) -> None:
    parsed = parse_identifier(text)
    assert parsed is not None and (parsed.kind, parsed.value) == (kind, value)


@pytest.mark.parametrize("text", ["", "PMID:abc", "arXiv:12", "Smith 2020", "doi:11.1/x"])
def test_parse_identifier_rejects(text: str) -> None:
    assert parse_identifier(text) is None
