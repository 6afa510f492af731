"""Shared HTTP plumbing for the literature services: cache, pacing, errors, the record type."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import TypeVar
from urllib.parse import urlencode

import httpx

from coscientist.errors import CoscientistError
from coscientist.literature.ratelimit import MinInterval


def _version() -> str:
    try:
        return importlib.metadata.version("coscientist")
    except importlib.metadata.PackageNotFoundError:  # a checkout that was never installed
        return "0"


USER_AGENT = f"coscientist/{_version()} (open AI co-scientist; literature lookup)"
MAX_ABSTRACT_CHARS = 600
MAX_AUTHORS = 12  # enough to find recurring authors; consortium papers list hundreds

CacheGet = Callable[[str], str | None]
CachePut = Callable[[str, str], None]
R = TypeVar("R")


class ServiceError(CoscientistError):
    """A literature service answered badly (HTTP error, throttling, unreadable body)."""


class ServiceUnreachable(ServiceError):
    """No answer at all: DNS, connection or timeout failure. Usually means offline."""


@dataclass(frozen=True)
class Paper:
    identifier: str  # arXiv:2502.18864, PMID:123, doi:10.1/x
    title: str
    source: str  # arxiv, pubmed, europepmc
    abstract: str = ""
    year: str = ""
    doi: str = ""
    url: str = ""
    authors: tuple[str, ...] = ()  # as the source writes them: "Jane Doe" or "Doe J"

    def as_dict(self) -> dict[str, str]:
        """Search results as agents take them: strings only; authors joined by "; "."""
        out = {k: v for k, v in asdict(self).items() if k != "authors" and (k != "doi" or v)}
        if self.authors:
            out["authors"] = "; ".join(self.authors)
        return out


def tidy(text: str) -> str:
    """One line, single spaces: feeds hard-wrap titles and abstracts."""
    return " ".join(text.split())


def shorten(text: str, limit: int = MAX_ABSTRACT_CHARS) -> str:
    text = tidy(text)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


class Fetcher:
    """One service's GET: answer from the cache, else wait for the pace, ask, parse, remember.

    Only answers that parse are cached, so a throttling page or an error body
    is retried next time rather than served forever.
    """

    def __init__(
        self,
        service: str,
        client: httpx.AsyncClient,
        pace: MinInterval,
        cache_get: CacheGet | None = None,
        cache_put: CachePut | None = None,
    ) -> None:
        self.service = service
        self.client = client
        self.pace = pace
        self.cache_get = cache_get
        self.cache_put = cache_put
        self.requests = 0

    async def get(self, url: str, params: Mapping[str, str], parse: Callable[[str], R]) -> R:
        key = f"literature:{self.service}:{url}?{urlencode(sorted(params.items()))}"
        cached = self.cache_get(key) if self.cache_get else None
        if cached is not None:
            try:
                return parse(cached)
            except ServiceError:
                pass  # a stale or foreign entry: ask the service again
        await self.pace.wait()
        self.requests += 1
        try:
            response = await self.client.get(url, params=params)
        except httpx.TransportError as exc:
            raise ServiceUnreachable(f"{self.service}: {type(exc).__name__}: {exc}") from exc
        if response.status_code != 200:
            raise ServiceError(f"{self.service} answered HTTP {response.status_code}")
        text = response.text
        value = parse(text)
        if self.cache_put:
            self.cache_put(key, text)
        return value
