"""LiteratureTools: the agents' literature search and citation check (arXiv, PubMed, Europe PMC).

Never raises into an agent. A service that cannot be reached is skipped for a
while; when none can be reached, `search` returns [] and `offline` turns True
so the caller can say once that literature tools are unavailable.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import re
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import TypeVar

import anyio
import httpx

from coscientist.errors import ConfigError
from coscientist.literature import arxiv, europepmc, pubmed
from coscientist.literature.check import Lookup, check_citation
from coscientist.literature.http import (
    USER_AGENT,
    CacheGet,
    CachePut,
    Fetcher,
    Paper,
    ServiceError,
    ServiceUnreachable,
    tidy,
)
from coscientist.literature.identifiers import parse_identifier
from coscientist.literature.ratelimit import MinInterval
from coscientist.schemas import Citation

log = logging.getLogger(__name__)

SERVICES = ("arxiv", "pubmed", "europepmc")
DEFAULT_BASE_URLS = {
    "arxiv": arxiv.DEFAULT_BASE_URL,
    "pubmed": pubmed.DEFAULT_BASE_URL,
    "europepmc": europepmc.DEFAULT_BASE_URL,
}
DEFAULT_MIN_INTERVALS = {
    "arxiv": arxiv.MIN_INTERVAL,
    "pubmed": pubmed.MIN_INTERVAL,
    "europepmc": europepmc.MIN_INTERVAL,
}
MAX_QUERY_CHARS = 300
PREFLIGHT_SECONDS = 4.0  # all three probes together; a connect attempt gives up after 2 s
CONNECT_TIMEOUT = 2.0
OFFLINE_NOTICE = "Literature tools are unavailable: no literature service could be reached."

R = TypeVar("R")
Service = arxiv.Arxiv | pubmed.PubMed | europepmc.EuropePmc


def _title_key(title: str) -> str:
    key = re.sub(r"[^a-z0-9]", "", title.casefold())
    return f"title:{key}" if len(key) >= 20 else ""  # short titles collide too easily


def _keys(paper: Paper) -> list[str]:
    keys = [paper.identifier.casefold()]
    if paper.doi:
        keys.append(f"doi:{paper.doi.casefold()}")
    title = _title_key(paper.title)
    return [*keys, title] if title else keys


def _round_robin(groups: Sequence[Sequence[Paper]]) -> Iterator[Paper]:
    for rank in range(max((len(g) for g in groups), default=0)):
        for group in groups:
            if rank < len(group):
                yield group[rank]


def merge(groups: Sequence[Sequence[Paper]], limit: int) -> list[Paper]:
    """Interleave the services' rankings; one entry per paper, gaps filled from duplicates."""
    kept: list[Paper] = []
    where: dict[str, int] = {}
    for paper in _round_robin(groups):
        keys = _keys(paper)
        hit = next((where[k] for k in keys if k in where), None)
        if hit is None:
            if len(kept) >= limit:
                continue  # later duplicates may still fill in what the kept ones lack
            hit = len(kept)
            kept.append(paper)
        else:
            old = kept[hit]
            kept[hit] = dataclasses.replace(
                old,
                abstract=old.abstract or paper.abstract,
                year=old.year or paper.year,
                doi=old.doi or paper.doi,
            )
        for key in keys:
            where.setdefault(key, hit)
    return kept


async def _found(find: Callable[[], Awaitable[Paper | None]]) -> tuple[Paper | None]:
    """A one-tuple, so that "asked and not found" is not mistaken for "could not ask"."""
    return (await find(),)


class LiteratureTools:
    """Implements agents.context.LiteratureSearch."""

    def __init__(
        self,
        base_urls: Mapping[str, str] | None = None,
        *,
        cache_get: CacheGet | None = None,
        cache_put: CachePut | None = None,
        timeout: float = 10.0,
        min_intervals: Mapping[str, float] | None = None,
        retry_after: float = 300.0,
        email: str | None = None,
    ) -> None:
        unknown = set(base_urls or {}) | set(min_intervals or {})
        unknown -= set(SERVICES)
        if unknown:
            raise ConfigError(
                f"unknown literature service(s) {sorted(unknown)}; known: {', '.join(SERVICES)}"
            )
        urls = {**DEFAULT_BASE_URLS, **(base_urls or {})}
        intervals = {**DEFAULT_MIN_INTERVALS, **(min_intervals or {})}
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT)),
            headers={"User-Agent": USER_AGENT},
            follow_redirects=True,
        )
        self._fetchers = {
            name: Fetcher(name, self._client, MinInterval(intervals[name]), cache_get, cache_put)
            for name in SERVICES
        }
        self._arxiv = arxiv.Arxiv(self._fetchers["arxiv"], urls["arxiv"])
        self._pubmed = pubmed.PubMed(self._fetchers["pubmed"], urls["pubmed"], email=email)
        self._europepmc = europepmc.EuropePmc(self._fetchers["europepmc"], urls["europepmc"])
        self._services: tuple[Service, ...] = (self._arxiv, self._pubmed, self._europepmc)
        self._retry_after = retry_after
        self._down_until: dict[str, float] = {}
        self._notice_given = False
        self.offline = False

    @property
    def requests(self) -> dict[str, int]:
        """Network requests made so far, per service (cache hits are not requests)."""
        return {name: f.requests for name, f in self._fetchers.items()}

    def offline_notice(self) -> str | None:
        """The offline message the first time it applies, then None."""
        if self.offline and not self._notice_given:
            self._notice_given = True
            return OFFLINE_NOTICE
        return None

    # --- the LiteratureSearch protocol -------------------------------------------

    async def search(self, query: str, limit: int = 5) -> list[dict[str, str]]:
        """Merged results: identifier, title, abstract (truncated), year, source, url[, doi]."""
        query = tidy(query)[:MAX_QUERY_CHARS]
        if not query or limit <= 0:
            return []
        found: dict[str, list[Paper]] = {}
        reached: list[bool] = []

        async def ask(service: Service) -> None:
            papers, was_reached = await self._attempt(
                service.name, lambda: service.search(query, limit)
            )
            reached.append(was_reached)
            found[service.name] = papers or []

        async with anyio.create_task_group() as group:
            for service in self._services:
                group.start_soon(ask, service)
        self.offline = not any(reached)
        groups = [found[s.name] for s in self._services]
        return [paper.as_dict() for paper in merge(groups, limit)]

    async def verify(self, identifier: str) -> bool | None:
        """True: a service knows it; False: asked and not found; None: unknown format or unreachable."""
        parsed = parse_identifier(identifier)
        if parsed is None:
            return None
        value = parsed.value
        checks: list[tuple[str, Callable[[], Awaitable[bool]]]]
        if parsed.kind == "arxiv":
            checks = [("arxiv", lambda: self._arxiv.exists(value))]
        elif parsed.kind == "pmid":
            checks = [
                ("pubmed", lambda: self._pubmed.exists(value)),
                ("europepmc", lambda: self._europepmc.has_pmid(value)),
            ]
        else:
            checks = [("europepmc", lambda: self._europepmc.has_doi(value))]
        for name, check in checks:
            answer, _ = await self._attempt(name, check)
            if answer is not None:
                return answer
        return None

    async def preflight(self, deadline: float = PREFLIGHT_SECONDS) -> list[str]:
        """The services that answer one small request within `deadline` seconds in all,
        asked at once (each still waits for its own pace). Unanswering ones rest as after
        any failure, so the run does not ask them again at once."""
        answered: list[str] = []
        probes = {
            "arxiv": (self._arxiv.url, {"search_query": "all:protein", "max_results": "1"}),
            "pubmed": (
                f"{self._pubmed.base}/esearch.fcgi",
                {**self._pubmed.common, "term": "protein", "retmax": "1"},
            ),
            "europepmc": (
                self._europepmc.url,
                {"query": "protein", "format": "json", "pageSize": "1", "resultType": "idlist"},
            ),
        }

        async def probe(name: str) -> None:
            url, params = probes[name]
            fetcher = self._fetchers[name]
            try:
                await fetcher.pace.wait()
                response = await self._client.get(url, params=params)
            except httpx.HTTPError as exc:
                self._down_until[name] = anyio.current_time() + self._retry_after
                log.info("literature preflight: %s did not answer: %r", name, exc)
                return
            fetcher.requests += 1
            if response.status_code == 200:
                answered.append(name)
            else:
                log.info("literature preflight: %s answered HTTP %s", name, response.status_code)

        with anyio.move_on_after(deadline):
            async with anyio.create_task_group() as group:
                for name in SERVICES:
                    group.start_soon(probe, name)
        return sorted(answered, key=SERVICES.index)

    async def lookup(self, identifier: str) -> Lookup:
        """The record an identifier names in its source: found, missing, or unknown (an
        identifier of no known form, or no service could answer)."""
        parsed = parse_identifier(identifier)
        if parsed is None:
            return Lookup("unknown", reason="not an arXiv id, PMID or DOI")
        value = parsed.value
        finders: list[tuple[str, Callable[[], Awaitable[Paper | None]]]]
        if parsed.kind == "arxiv":
            finders = [("arxiv", lambda: self._arxiv.lookup(value))]
        elif parsed.kind == "pmid":
            finders = [
                ("pubmed", lambda: self._pubmed.lookup(value)),
                ("europepmc", lambda: self._europepmc.by_pmid(value)),
            ]
        else:
            finders = [("europepmc", lambda: self._europepmc.by_doi(value))]
        for name, find in finders:
            answer, _ = await self._attempt(name, functools.partial(_found, find))
            if answer is not None:
                (paper,) = answer
                if paper is not None:
                    return Lookup("found", paper, source=name)
                return Lookup("missing", source=name, reason=f"{name} has no {parsed}")
        return Lookup("unknown", reason="no literature service could answer")

    async def check(self, citation: Citation) -> Citation:
        """The citation with its check recorded (coscientist/literature/check.py)."""
        return check_citation(citation, await self.lookup(citation.identifier))

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> LiteratureTools:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # --- internals -----------------------------------------------------------------

    async def _attempt(self, name: str, call: Callable[[], Awaitable[R]]) -> tuple[R | None, bool]:
        """Run one service call: (answer or None, whether the service was reached).

        A service that could not be reached rests for `retry_after` seconds, so
        an offline machine does not pay a connection timeout on every call.
        """
        if self._down_until.get(name, float("-inf")) > anyio.current_time():
            return None, False
        try:
            return await call(), True
        except ServiceUnreachable as exc:
            self._down_until[name] = anyio.current_time() + self._retry_after
            log.info("literature service %s unreachable: %s", name, exc)
            return None, False
        except ServiceError as exc:
            log.warning("literature service %s failed: %s", name, exc)
        except Exception as exc:  # a surprise in a parser must not reach the agent
            log.warning("literature service %s failed unexpectedly: %r", name, exc)
        return None, True
