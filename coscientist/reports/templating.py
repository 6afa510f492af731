"""Jinja2 environments for the report templates shipped in coscientist/reports/templates.

Templates are package data loaded through PackageLoader (importlib under the
hood), so they work from an installed wheel, not only from a checkout. Both
environments use StrictUndefined: a misspelt field is an error, not a blank.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import jinja2

from coscientist.literature.identifiers import parse_identifier
from coscientist.safe_text import markdown_text
from coscientist.schemas import Citation

_NEWLINES = re.compile(r"\s*(?:\r\n|\r|\n)\s*")
_RESOLVERS = {
    "doi": "https://doi.org/",
    "arxiv": "https://arxiv.org/abs/",
    "pmid": "https://pubmed.ncbi.nlm.nih.gov/",
}


class MarkdownSafe(str):
    """Text already made safe for Markdown: the environment's finalize leaves it alone."""

    __slots__ = ()


def md_escape(value: object) -> object:
    """Finalize hook of the Markdown environment: every string printed is made inert.

    Model and scientist text shows as written but cannot become raw HTML, a link,
    an image or a terminal escape (safe_text.markdown_text). Numbers and
    MarkdownSafe values (built by the template's own filters) pass unchanged.
    """
    if isinstance(value, MarkdownSafe) or not isinstance(value, str):
        return value
    return markdown_text(value)


def md_cell(value: object) -> MarkdownSafe:
    """Model text made safe for one Markdown table cell: inert, no `|`, no line breaks."""
    text = markdown_text(_NEWLINES.sub("\n", str(value).strip())).replace("|", "\\|")
    return MarkdownSafe(text.replace("\n", "<br>"))


def md_citation(citation: Citation) -> MarkdownSafe:
    """A citation's identifier; a link only when the literature tools verified it, and then
    to the resolver of its kind (doi.org, arxiv.org, PubMed), never to a URL a model wrote."""
    label = markdown_text(" ".join(citation.identifier.split()))
    parsed = parse_identifier(citation.identifier) if citation.verified else None
    if parsed is None:
        return MarkdownSafe(label)
    url = _RESOLVERS[parsed.kind] + quote(parsed.value, safe="/.")
    if parsed.kind == "pmid":
        url += "/"
    return MarkdownSafe(f"[{label}]({url})")


def one_line(value: object) -> str:
    """Model text for a heading or list item: every run of whitespace becomes one space."""
    return " ".join(str(value).split())


def fixed(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def percent(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{100.0 * value:.{digits}f} %"


def when(value: datetime, seconds: bool = True) -> str:
    """A UTC timestamp; a naive one is taken to be UTC already (that is how the store keeps time)."""
    moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC" if seconds else "%Y-%m-%d %H:%M UTC")


def verified(value: bool | None) -> str:
    """A citation's check (coscientist/literature/check.py) in words, with a mark."""
    return {True: "✓ checked", False: "✗ not found", None: "not checked"}[value]


_COMMON_FILTERS: dict[str, Any] = {
    "fixed": fixed,
    "percent": percent,
    "verified": verified,
    "when": when,
    "one_line": one_line,
}


def _environment(autoescape: bool, **options: Any) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("coscientist.reports", "templates"),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        **options,
    )
    env.filters.update(_COMMON_FILTERS)
    return env


def markdown_environment() -> jinja2.Environment:
    """No HTML autoescape (it would litter the text with entities): `md_escape` instead."""
    env = _environment(autoescape=False, finalize=md_escape)
    env.filters["cell"] = md_cell
    env.filters["citation"] = md_citation
    return env


def html_environment() -> jinja2.Environment:
    """Autoescape on for every value: everything a model wrote is untrusted text."""
    return _environment(autoescape=True)
