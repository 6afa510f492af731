"""PubMed through NCBI E-utilities: esearch (ids) then esummary (records), both JSON.

Without an API key NCBI allows three requests a second; `tool` names the
client as NCBI asks. Summaries carry no abstract: Europe PMC fills it in when
it returns the same PMID.
"""

from __future__ import annotations

import json
import re
from typing import Any

from coscientist.literature.http import MAX_AUTHORS, Fetcher, Paper, ServiceError, tidy

DEFAULT_BASE_URL = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils"
MIN_INTERVAL = 0.34  # a little over 1/3 s: three requests a second
TOOL = "coscientist"


def _json(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ServiceError(f"PubMed answered something that is not JSON: {text[:80]!r}") from exc
    if not isinstance(data, dict):
        raise ServiceError("PubMed answered JSON of an unexpected shape")
    return data


def parse_esearch(text: str) -> list[str]:
    result = _json(text).get("esearchresult")
    if not isinstance(result, dict):
        raise ServiceError("PubMed esearch answer has no esearchresult")
    if "ERROR" in result:
        raise ServiceError(f"PubMed esearch error: {result['ERROR']}")
    return [str(uid) for uid in result.get("idlist", [])]


def _doi(record: dict[str, Any]) -> str:
    for article_id in record.get("articleids", []):
        if isinstance(article_id, dict) and article_id.get("idtype") == "doi":
            return str(article_id.get("value", ""))
    return ""


def _authors(record: dict[str, Any]) -> tuple[str, ...]:
    names = (  # people only: a consortium ("CollectiveName") is nobody to write to
        tidy(str(a.get("name", "")))
        for a in record.get("authors", [])
        if isinstance(a, dict) and a.get("authtype", "Author") == "Author"
    )
    return tuple(n for n in names if n)[:MAX_AUTHORS]


def parse_esummary(text: str) -> list[Paper]:
    result = _json(text).get("result")
    if not isinstance(result, dict):
        raise ServiceError("PubMed esummary answer has no result")
    papers: list[Paper] = []
    for uid in result.get("uids", []):
        record = result.get(str(uid))
        if not isinstance(record, dict) or "error" in record:
            continue
        year = re.search(r"\d{4}", str(record.get("pubdate") or record.get("sortpubdate") or ""))
        papers.append(
            Paper(
                identifier=f"PMID:{uid}",
                title=tidy(str(record.get("title", ""))),
                source="pubmed",
                year=year.group(0) if year else "",
                doi=_doi(record),
                url=f"https://pubmed.ncbi.nlm.nih.gov/{uid}/",
                authors=_authors(record),
            )
        )
    return papers


class PubMed:
    name = "pubmed"

    def __init__(
        self, fetch: Fetcher, base_url: str = DEFAULT_BASE_URL, email: str | None = None
    ) -> None:
        self.fetch = fetch
        self.base = base_url.rstrip("/")
        self.common = {"db": "pubmed", "retmode": "json", "tool": TOOL}
        if email:
            self.common["email"] = email

    async def _ids(self, term: str, limit: int) -> list[str]:
        params = {**self.common, "term": term, "retmax": str(limit), "sort": "relevance"}
        return await self.fetch.get(f"{self.base}/esearch.fcgi", params, parse_esearch)

    async def search(self, query: str, limit: int) -> list[Paper]:
        ids = (await self._ids(query, limit))[:limit]
        if not ids:
            return []
        params = {**self.common, "id": ",".join(ids)}
        return await self.fetch.get(f"{self.base}/esummary.fcgi", params, parse_esummary)

    async def exists(self, pmid: str) -> bool:
        return pmid in await self._ids(f"{pmid}[pmid]", 1)

    async def lookup(self, pmid: str) -> Paper | None:
        """The record of this PMID (esummary), or None when PubMed has none."""
        papers = await self.fetch.get(
            f"{self.base}/esummary.fcgi", {**self.common, "id": pmid}, parse_esummary
        )
        return next((p for p in papers if p.identifier == f"PMID:{pmid}"), None)
