"""Literature results as agents use them: numbered in the prompt, cited by number.

The model never writes an identifier itself; it points at the numbered sources
it was shown, and the citation is built from the search result. That keeps
invented DOIs out of the hypotheses.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from agents.common import clip
from agents.context import AgentContext
from coscientist.errors import CoscientistError
from coscientist.schemas import Citation

log = logging.getLogger(__name__)

MAX_CHECKS = 8  # citations checked per task
_ID_KEYS = ("identifier", "id", "doi", "pmid", "arxiv", "url")
_TEXT_KEYS = ("abstract", "summary", "snippet", "text")


@dataclass(frozen=True)
class Source:
    identifier: str
    title: str
    text: str
    year: str = ""
    authors: tuple[str, ...] = ()

    def line(self, number: int, limit: int = 320) -> str:
        year = f" ({self.year})" if self.year else ""
        head = f"{clip(self.title, 200)}{year}"
        body = f"{head}. {clip(self.text, max(limit - len(head), 40))}" if self.text else head
        return f"[{number}] {body} ({self.identifier})"

    def citation(self) -> Citation:
        return Citation(
            identifier=self.identifier,
            title=self.title,
            year=self.year,
            authors=list(self.authors),
        )


def _first(result: Mapping[str, str], keys: Iterable[str]) -> str:
    for key in keys:
        value = result.get(key)
        if value:
            return str(value).strip()
    return ""


def to_sources(results: Sequence[Mapping[str, str]], limit: int) -> list[Source]:
    """Keep results that can be cited (they have an identifier), at most `limit`."""
    sources: list[Source] = []
    seen: set[str] = set()
    for result in results:
        identifier = _first(result, _ID_KEYS)
        if not identifier or identifier in seen:
            continue
        seen.add(identifier)
        title = _first(result, ("title",)) or identifier
        authors = tuple(a.strip() for a in _first(result, ("authors",)).split(";") if a.strip())
        year = _first(result, ("year",))
        sources.append(Source(identifier, title, _first(result, _TEXT_KEYS), year, authors))
        if len(sources) >= limit:
            break
    return sources


async def search(ctx: AgentContext, query: str, limit: int = 5) -> list[Source] | None:
    """Search the literature; None when no tools are configured or the search failed."""
    if ctx.literature is None:
        return None
    try:
        results = await ctx.literature.search(clip(query, 300), limit)
    except CoscientistError as exc:
        log.warning("literature search failed, continuing without it: %s", exc)
        return None
    return to_sources(results, limit)


async def search_all(
    ctx: AgentContext, queries: Sequence[str], limit: int, per_query: int = 4
) -> list[Source] | None:
    """Several queries' results, interleaved and without repeats, at most `limit`; None when
    no tools are configured or every search failed."""
    groups: list[list[Source]] = []
    for query in queries:
        found = await search(ctx, query, per_query)
        if found is not None:
            groups.append(found)
    if not groups:
        return None
    merged: dict[str, Source] = {}
    for rank in range(max(len(g) for g in groups)):
        for group in groups:
            if rank < len(group):
                merged.setdefault(group[rank].identifier, group[rank])
    return list(merged.values())[:limit]


def citations(sources: Sequence[Source], numbers: Iterable[int]) -> list[Citation]:
    """Citations for the 1-based source numbers the model pointed at. A number that is not
    in the list (the model made it up) is dropped, never stored."""
    cited: list[Citation] = []
    for number in dict.fromkeys(numbers):
        if 1 <= number <= len(sources):
            cited.append(sources[number - 1].citation())
        else:
            log.info(
                "dropped citation number %s: only %s sources were listed", number, len(sources)
            )
    return cited


async def check_all(
    ctx: AgentContext, citations: Sequence[Citation], limit: int = MAX_CHECKS
) -> list[Citation]:
    """Each citation checked where tools are configured (the first `limit`; the rest are kept
    as they were). Look-ups are cached in the store, so a paper cited again costs nothing."""
    if ctx.literature is None:
        return list(citations)
    checked: list[Citation] = []
    for i, citation in enumerate(citations):
        if i >= limit:
            checked.append(citation)
            continue
        try:
            checked.append(await ctx.literature.check(citation))
        except CoscientistError as exc:
            checked.append(citation.model_copy(update={"verified": None, "note": str(exc)}))
    return checked


def lines(sources: Sequence[Source], limit: int = 320) -> list[str]:
    return [source.line(i, limit) for i, source in enumerate(sources, start=1)]
