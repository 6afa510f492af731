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

_ID_KEYS = ("identifier", "id", "doi", "pmid", "arxiv", "url")
_TEXT_KEYS = ("abstract", "summary", "snippet", "text")


@dataclass(frozen=True)
class Source:
    identifier: str
    title: str
    text: str

    def line(self, number: int, limit: int = 320) -> str:
        body = f"{self.title}. {self.text}" if self.text else self.title
        return f"[{number}] {clip(body, limit)} ({self.identifier})"


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
        sources.append(Source(identifier, title, _first(result, _TEXT_KEYS)))
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


def citations(sources: Sequence[Source], numbers: Iterable[int]) -> list[Citation]:
    """Citations for the 1-based source numbers the model pointed at; others are ignored."""
    cited: list[Citation] = []
    for number in dict.fromkeys(numbers):
        if 1 <= number <= len(sources):
            source = sources[number - 1]
            cited.append(Citation(identifier=source.identifier, title=source.title))
    return cited


def lines(sources: Sequence[Source]) -> list[str]:
    return [source.line(i) for i, source in enumerate(sources, start=1)]
