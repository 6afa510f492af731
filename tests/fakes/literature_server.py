"""A real HTTP server on 127.0.0.1 answering like arXiv, NCBI E-utilities and Europe PMC.

Paths: /arxiv/api/query (Atom 1.0 feed), /pubmed/esearch.fcgi and
/pubmed/esummary.fcgi (retmode=json), /europepmc/search (format=json). The
response shapes follow each service's documentation; the records are made up.
Every request is logged with its arrival time, so tests can count requests
and measure pacing. `failing` names services that answer HTTP 503.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

ARXIV = {
    "2502.13025": (
        "Agentic Deep Graph Reasoning Yields\n  Self-Organizing Knowledge Networks",
        "We present an agentic, autonomous graph expansion framework that\n"
        "  iteratively structures and refines knowledge in situ.",
        "2025-02-18T17:20:08Z",
    ),
    "2502.18864": (
        "Towards an AI co-scientist",
        "Scientific discovery relies on scientists generating novel hypotheses\n"
        "  that undergo rigorous experimental validation.",
        "2025-02-26T18:31:23Z",
    ),
}
# Made-up authors; "Jane Doe" here and "Doe J" at PubMed are one research contact.
ARXIV_AUTHORS = {
    "2502.13025": ["Ada Graph", "Jane Doe"],
    "2502.18864": ["Jane Doe", "Carl Scientist"],
}
PUBMED = {
    "31000001": ("Tau propagation across neural networks.", "2019 Apr 12", "10.1000/tau.2019.1"),
    "32000002": ("Microglia and amyloid clearance.", "2020 Jan", "10.1000/mg.2020.2"),
}
PUBMED_AUTHORS = {"31000001": ["Doe J", "Roe R"], "32000002": ["Doe J", "Moe M"]}
EUROPEPMC = [
    {
        "id": "31000001",
        "source": "MED",
        "pmid": "31000001",
        "doi": "10.1000/tau.2019.1",
        "title": "Tau propagation across neural networks.",
        "authorString": "Doe J, Roe R.",
        "pubYear": "2019",
        "abstractText": "<h4>Background</h4>Tau spreads along <i>connected</i> regions &amp; more.",
    },
    {
        "id": "PPR900001",
        "source": "PPR",
        "doi": "10.1101/2024.01.01.000001",
        "title": "A preprint on tau seeding in organoids",
        "authorString": "Poe P, Doe J.",
        "pubYear": "2024",
        "abstractText": "Organoids show tau seeding.",
    },
]

_ATOM_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<feed xmlns="http://www.w3.org/2005/Atom" '
    'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" '
    'xmlns:arxiv="http://arxiv.org/schemas/atom">\n'
    '  <link href="http://arxiv.org/api/query" rel="self" type="application/atom+xml"/>\n'
    '  <title type="html">ArXiv Query: {query}</title>\n'
    "  <id>http://arxiv.org/api/fakefeedid</id>\n"
    "  <updated>2025-03-01T00:00:00-05:00</updated>\n"
    "  <opensearch:totalResults>{total}</opensearch:totalResults>\n"
    "  <opensearch:startIndex>0</opensearch:startIndex>\n"
    "  <opensearch:itemsPerPage>{total}</opensearch:itemsPerPage>\n"
)


def _arxiv_entry(arxiv_id: str, titles: Mapping[str, str]) -> str:
    title, summary, published = ARXIV[arxiv_id]
    title = titles.get(f"arXiv:{arxiv_id}", title)
    authors = "".join(
        f"    <author><name>{escape(name)}</name></author>\n" for name in ARXIV_AUTHORS[arxiv_id]
    )
    return (
        "  <entry>\n"
        f"    <id>http://arxiv.org/abs/{arxiv_id}v1</id>\n"
        f"    <updated>{published}</updated>\n"
        f"    <published>{published}</published>\n"
        f"    <title>{escape(title)}</title>\n"
        f"    <summary>  {escape(summary)}\n</summary>\n"
        f"{authors}"
        f'    <link href="http://arxiv.org/abs/{arxiv_id}v1" rel="alternate" type="text/html"/>\n'
        f'    <link title="pdf" href="http://arxiv.org/pdf/{arxiv_id}v1" rel="related"/>\n'
        '    <arxiv:primary_category term="cs.AI" scheme="http://arxiv.org/schemas/atom"/>\n'
        '    <category term="cs.AI" scheme="http://arxiv.org/schemas/atom"/>\n'
        "  </entry>\n"
    )


def _arxiv_error(message: str) -> str:
    return (
        "  <entry>\n"
        f"    <id>http://arxiv.org/api/errors#{escape(message.replace(' ', '_'))}</id>\n"
        "    <title>Error</title>\n"
        f"    <summary>{escape(message)}</summary>\n"
        "    <updated>2025-03-01T00:00:00-05:00</updated>\n"
        '    <link href="http://arxiv.org/api/errors" rel="alternate" type="text/html"/>\n'
        "    <author><name>arXiv api core</name></author>\n"
        "  </entry>\n"
    )


def arxiv_feed(params: dict[str, str], search_titles: Mapping[str, str] | None = None) -> str:
    """An id_list look-up answers the true titles; a search, `search_titles` where given."""
    if "id_list" in params:
        wanted = [re.sub(r"v\d+$", "", i) for i in params["id_list"].split(",")]
        bad = [i for i in wanted if not re.fullmatch(r"\d{4}\.\d{4,5}|[a-z-]+/\d{7}", i)]
        if bad:
            return (
                _ATOM_HEAD.format(query="", total=1)
                + _arxiv_error(f"incorrect id format for {bad[0]}")
                + "</feed>\n"
            )
        entries = [_arxiv_entry(i, {}) for i in wanted if i in ARXIV]
    else:
        limit = int(params.get("max_results", "10"))
        entries = [_arxiv_entry(i, search_titles or {}) for i in ARXIV][:limit]
    head = _ATOM_HEAD.format(query=escape(str(params)), total=len(entries))
    return head + "".join(entries) + "</feed>\n"


def esearch(params: dict[str, str]) -> dict[str, Any]:
    term = params.get("term", "")
    exact = re.fullmatch(r"(\d+)\[pmid\]", term)
    if exact:
        ids = [exact.group(1)] if exact.group(1) in PUBMED else []
    else:
        ids = list(PUBMED)[: int(params.get("retmax", "20"))]
    return {
        "header": {"type": "esearch", "version": "0.3"},
        "esearchresult": {
            "count": str(len(ids)),
            "retmax": str(len(ids)),
            "retstart": "0",
            "idlist": ids,
            "translationset": [],
            "querytranslation": term,
        },
    }


def esummary(params: dict[str, str]) -> dict[str, Any]:
    uids = [u for u in params.get("id", "").split(",") if u]
    result: dict[str, Any] = {"uids": uids}
    for uid in uids:
        if uid not in PUBMED:
            result[uid] = {"uid": uid, "error": "cannot get document summary"}
            continue
        title, pubdate, doi = PUBMED[uid]
        result[uid] = {
            "uid": uid,
            "pubdate": pubdate,
            "source": "J Fake Neurosci",
            "authors": [
                {"name": name, "authtype": "Author", "clusterid": ""}
                for name in PUBMED_AUTHORS[uid]
            ],
            "title": title,
            "articleids": [
                {"idtype": "pubmed", "idtypen": 1, "value": uid},
                {"idtype": "doi", "idtypen": 3, "value": doi},
            ],
            "sortpubdate": pubdate[:4] + "/01/01 00:00",
        }
    return {"header": {"type": "esummary", "version": "0.3"}, "result": result}


def europepmc_search(params: dict[str, str]) -> dict[str, Any]:
    query = params.get("query", "")
    doi = re.fullmatch(r'DOI:"(.+)"', query)
    ext = re.fullmatch(r"EXT_ID:(\S+) AND SRC:MED", query)
    if doi:
        hits = [r for r in EUROPEPMC if r.get("doi", "").lower() == doi.group(1).lower()]
    elif ext:
        hits = [r for r in EUROPEPMC if r.get("pmid") == ext.group(1)]
    else:
        hits = list(EUROPEPMC)
    hits = hits[: int(params.get("pageSize", "25"))]
    if params.get("resultType") == "lite":
        hits = [{k: v for k, v in r.items() if k != "abstractText"} for r in hits]
    return {
        "version": "6.9",
        "hitCount": len(hits),
        "nextCursorMark": "AoE=",
        "request": {
            "queryString": query,
            "resultType": params.get("resultType", "lite"),
            "cursorMark": "*",
            "pageSize": int(params.get("pageSize", "25")),
            "sort": "",
            "synonym": False,
        },
        "resultList": {"result": hits},
    }


@dataclass(frozen=True)
class Hit:
    service: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    at: float  # time.monotonic() on arrival


@dataclass
class FakeLiteratureServer:
    failing: set[str] = field(default_factory=set)
    hits: list[Hit] = field(default_factory=list)
    # Titles a search answers in place of the true ones (by identifier, e.g. "arXiv:2502.18864"),
    # so that a citation built from the search is mis-cited; look-ups by id stay true.
    search_titles: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def base_urls(self) -> dict[str, str]:
        return {
            "arxiv": f"{self.url}/arxiv/api",
            "pubmed": f"{self.url}/pubmed",
            "europepmc": f"{self.url}/europepmc",
        }

    def count(self, service: str | None = None) -> int:
        with self._lock:
            return sum(1 for h in self.hits if service in (None, h.service))

    def times(self, service: str) -> list[float]:
        with self._lock:
            return [h.at for h in self.hits if h.service == service]

    def __enter__(self) -> FakeLiteratureServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _answer(self, path: str, params: dict[str, str]) -> tuple[str, int, str, str]:
        """(service, status, content type, body) for one GET."""
        routes = {
            "/arxiv/api/query": ("arxiv", "application/atom+xml", arxiv_feed),
            "/pubmed/esearch.fcgi": ("pubmed", "application/json", esearch),
            "/pubmed/esummary.fcgi": ("pubmed", "application/json", esummary),
            "/europepmc/search": ("europepmc", "application/json", europepmc_search),
        }
        if path not in routes:
            return "unknown", 404, "text/plain", "not found"
        service, content_type, build = routes[path]
        if service in self.failing:
            return service, 503, "text/plain", "Service Unavailable"
        body = arxiv_feed(params, self.search_titles) if service == "arxiv" else build(params)
        text = body if isinstance(body, str) else json.dumps(body)
        return service, 200, content_type, text

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                arrived = time.monotonic()
                parts = urlsplit(self.path)
                params = {k: v[0] for k, v in parse_qs(parts.query).items()}
                service, status, content_type, text = fake._answer(parts.path, params)
                with fake._lock:
                    fake.hits.append(
                        Hit(service, parts.path, params, dict(self.headers.items()), arrived)
                    )
                payload = text.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", f"{content_type}; charset=UTF-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        return Handler
