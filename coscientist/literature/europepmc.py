"""Europe PMC REST search (JSON): PubMed records with abstracts, preprints, DOIs."""

from __future__ import annotations

import html
import json
import re
from typing import Any

from coscientist.literature.http import MAX_AUTHORS, Fetcher, Paper, ServiceError, shorten, tidy

DEFAULT_BASE_URL = "https://www.ebi.ac.uk/europepmc/webservices/rest"
MIN_INTERVAL = 0.2
_TAG = re.compile(r"<[^>]+>")


def _plain(text: str) -> str:
    """Abstracts and titles carry inline markup (<i>, <h4>) and entities."""
    return tidy(html.unescape(_TAG.sub(" ", text)))


def _results(text: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ServiceError(
            f"Europe PMC answered something that is not JSON: {text[:80]!r}"
        ) from exc
    result_list = data.get("resultList") if isinstance(data, dict) else None
    if not isinstance(result_list, dict):
        raise ServiceError("Europe PMC answer has no resultList")
    return [r for r in result_list.get("result", []) if isinstance(r, dict)]


def _authors(author_string: str) -> tuple[str, ...]:
    """ "Doe J, Roe R, et al." -> ("Doe J", "Roe R")."""
    names = (tidy(n).rstrip(".") for n in author_string.split(","))
    return tuple(n for n in names if n and n.casefold() != "et al")[:MAX_AUTHORS]


def _paper(record: dict[str, Any]) -> Paper | None:
    pmid, doi = str(record.get("pmid", "")), str(record.get("doi", ""))
    source, ext_id = str(record.get("source", "")), str(record.get("id", ""))
    if pmid:
        identifier, url = f"PMID:{pmid}", f"https://europepmc.org/article/MED/{pmid}"
    elif doi:
        identifier, url = f"doi:{doi}", f"https://doi.org/{doi}"
    elif source and ext_id:
        identifier, url = f"{source}:{ext_id}", f"https://europepmc.org/article/{source}/{ext_id}"
    else:
        return None
    return Paper(
        identifier=identifier,
        title=_plain(str(record.get("title", ""))),
        source="europepmc",
        abstract=shorten(_plain(str(record.get("abstractText", "")))),
        year=str(record.get("pubYear", "")),
        doi=doi,
        url=url,
        authors=_authors(str(record.get("authorString", ""))),
    )


def parse_search(text: str) -> list[Paper]:
    return [p for p in (_paper(r) for r in _results(text)) if p is not None]


class EuropePmc:
    name = "europepmc"

    def __init__(self, fetch: Fetcher, base_url: str = DEFAULT_BASE_URL) -> None:
        self.fetch = fetch
        self.url = base_url.rstrip("/") + "/search"

    async def _search(self, query: str, limit: int, result_type: str) -> list[Paper]:
        params = {
            "query": query,
            "format": "json",
            "pageSize": str(limit),
            "resultType": result_type,
        }
        return (await self.fetch.get(self.url, params, parse_search))[:limit]

    async def search(self, query: str, limit: int) -> list[Paper]:
        return await self._search(query, limit, "core")  # core carries abstractText

    async def has_doi(self, doi: str) -> bool:
        return await self.by_doi(doi) is not None

    async def has_pmid(self, pmid: str) -> bool:
        return await self.by_pmid(pmid) is not None

    async def by_doi(self, doi: str) -> Paper | None:
        papers = await self._search(f'DOI:"{doi}"', 1, "lite")
        return next((p for p in papers if p.doi.casefold() == doi.casefold()), None)

    async def by_pmid(self, pmid: str) -> Paper | None:
        papers = await self._search(f"EXT_ID:{pmid} AND SRC:MED", 1, "lite")
        return next((p for p in papers if p.identifier == f"PMID:{pmid}"), None)
