"""arXiv through its export API (Atom 1.0 feed). Terms of use ask for one request every 3 s."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from coscientist.literature.http import MAX_AUTHORS, Fetcher, Paper, ServiceError, shorten, tidy

DEFAULT_BASE_URL = "https://export.arxiv.org/api"
MIN_INTERVAL = 3.0

_ATOM = "{http://www.w3.org/2005/Atom}"
_ARXIV = "{http://arxiv.org/schemas/atom}"
_VERSION = re.compile(r"v\d+$")
_STOPWORDS = frozenset({"the", "and", "for", "with", "from", "into", "that", "this", "what", "how"})
MAX_QUERY_TERMS = 5


class QueryRejected(ServiceError):
    """arXiv's way of saying 400: HTTP 200 with a single entry titled "Error"."""


def bare_id(arxiv_id: str) -> str:
    """2502.13025v2 -> 2502.13025: versions are the same paper."""
    return _VERSION.sub("", arxiv_id.strip())


def search_query(text: str) -> str:
    """All of the first few content words, in any field (arXiv's `all:` prefix)."""
    words = [w for w in re.findall(r"[\w-]+", text.casefold()) if len(w) > 2]
    terms = [w for w in dict.fromkeys(words) if w not in _STOPWORDS][:MAX_QUERY_TERMS]
    return " AND ".join(f"all:{w}" for w in terms)


def _text(entry: ET.Element, tag: str) -> str:
    found = entry.find(tag)
    return tidy(found.text or "") if found is not None else ""


def _authors(entry: ET.Element) -> tuple[str, ...]:
    names = (tidy(a.findtext(f"{_ATOM}name") or "") for a in entry.iter(f"{_ATOM}author"))
    return tuple(n for n in names if n)[:MAX_AUTHORS]


def parse_feed(xml: str) -> list[Paper]:
    """Papers of an Atom feed; an error entry or a non-feed body is a ServiceError."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:  # e.g. the plain-text "Rate exceeded." page
        raise ServiceError(f"arXiv answered something that is not a feed: {xml[:80]!r}") from exc
    if root.tag != f"{_ATOM}feed":
        raise ServiceError("arXiv answered an XML document that is not an Atom feed")
    papers: list[Paper] = []
    for entry in root.iter(f"{_ATOM}entry"):
        link = _text(entry, f"{_ATOM}id")
        if "/api/errors" in link:
            raise QueryRejected(f"arXiv rejected the query: {_text(entry, f'{_ATOM}summary')}")
        if "/abs/" not in link:
            continue  # an empty placeholder entry
        arxiv_id = bare_id(link.split("/abs/", 1)[1])
        papers.append(
            Paper(
                identifier=f"arXiv:{arxiv_id}",
                title=_text(entry, f"{_ATOM}title"),
                source="arxiv",
                abstract=shorten(_text(entry, f"{_ATOM}summary")),
                year=_text(entry, f"{_ATOM}published")[:4],
                doi=_text(entry, f"{_ARXIV}doi"),
                url=f"https://arxiv.org/abs/{arxiv_id}",
                authors=_authors(entry),
            )
        )
    return papers


class Arxiv:
    name = "arxiv"

    def __init__(self, fetch: Fetcher, base_url: str = DEFAULT_BASE_URL) -> None:
        self.fetch = fetch
        self.url = base_url.rstrip("/") + "/query"

    async def search(self, query: str, limit: int) -> list[Paper]:
        terms = search_query(query)
        if not terms:
            return []
        params = {
            "search_query": terms,
            "start": "0",
            "max_results": str(limit),
            "sortBy": "relevance",
        }
        return (await self.fetch.get(self.url, params, parse_feed))[:limit]

    async def exists(self, arxiv_id: str) -> bool:
        return await self.lookup(arxiv_id) is not None

    async def lookup(self, arxiv_id: str) -> Paper | None:
        """The paper with this id (any version), or None when arXiv has none."""
        wanted = bare_id(arxiv_id)
        try:
            papers = await self.fetch.get(
                self.url, {"id_list": wanted, "max_results": "1"}, parse_feed
            )
        except QueryRejected:
            return None  # "incorrect id format": no such paper
        return next((p for p in papers if p.identifier == f"arXiv:{wanted}"), None)
