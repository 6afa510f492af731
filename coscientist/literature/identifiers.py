"""Recognise the citation identifiers agents write: arXiv ids, PMIDs, DOIs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal["arxiv", "pmid", "doi"]

_NEW_ARXIV = re.compile(r"^\d{4}\.\d{4,5}(v\d+)?$")
_OLD_ARXIV = re.compile(r"^[a-z][a-z-]*(\.[a-z]{2})?/\d{7}(v\d+)?$", re.IGNORECASE)
_DOI = re.compile(r"^10\.\d{4,9}/\S+$")
_ARXIV_DOI = re.compile(r"^10\.48550/arxiv\.(.+)$", re.IGNORECASE)
_URL_PREFIXES = {
    "https://doi.org/": "doi",
    "http://doi.org/": "doi",
    "https://arxiv.org/abs/": "arxiv",
    "http://arxiv.org/abs/": "arxiv",
    "https://pubmed.ncbi.nlm.nih.gov/": "pmid",
}


@dataclass(frozen=True)
class Identifier:
    kind: Kind
    value: str  # without its prefix: 2502.13025, 12345, 10.1000/xyz

    def __str__(self) -> str:
        label = {"arxiv": "arXiv", "pmid": "PMID", "doi": "doi"}[self.kind]
        return f"{label}:{self.value}"


def _arxiv(value: str) -> Identifier | None:
    ok = _NEW_ARXIV.match(value) or _OLD_ARXIV.match(value)
    return Identifier("arxiv", value) if ok else None


def _doi(value: str) -> Identifier | None:
    arxiv = _ARXIV_DOI.match(value)
    if arxiv:  # arXiv's own DOIs: ask arXiv, which knows every one of them
        return _arxiv(arxiv.group(1))
    return Identifier("doi", value) if _DOI.match(value) else None


def _pmid(value: str) -> Identifier | None:
    return Identifier("pmid", value) if value.isdigit() and len(value) <= 9 else None


_PARSERS = {"arxiv": _arxiv, "doi": _doi, "pmid": _pmid}


def parse_identifier(text: str) -> Identifier | None:
    """`arXiv:2502.13025`, `PMID:123`, `doi:10.1/x`, their URLs, or bare arXiv ids and DOIs."""
    value = text.strip().rstrip(".,;")
    for prefix, kind in _URL_PREFIXES.items():
        if value.lower().startswith(prefix):
            return _PARSERS[kind](value[len(prefix) :].strip("/"))
    label, sep, rest = value.partition(":")
    if sep and label.strip().casefold() in _PARSERS:
        return _PARSERS[label.strip().casefold()](rest.strip())
    return _arxiv(value) or _doi(value)
