"""Citation check: the identifier resolves in its source and the title is the one cited.

A model that cites by number cannot invent an identifier, but a citation can still
be wrong: a record withdrawn or renumbered, a search result whose title differs
from the record behind its identifier, a citation typed by hand. So each one is
looked up by its identifier and the source's title compared with the cited one.

Title comparison: both titles are normalised (Unicode compatibility form, accents
and case dropped, every run of non-alphanumerics one space), then compared with
difflib's ratio (2 * matching characters / total characters). At or above
TITLE_MATCH_THRESHOLD (0.9) the titles match. That tolerates what sources
differ in (markup, punctuation, a trailing period, British and American spelling,
a typo or two) and rejects another paper's title: two different titles on the
same subject score far lower (tests/test_citation_check.py pins examples).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from coscientist.schemas import Citation

if TYPE_CHECKING:
    from coscientist.literature.http import Paper

TITLE_MATCH_THRESHOLD = 0.9
_NON_ALNUM = re.compile(r"[^0-9a-z]+")


@dataclass(frozen=True)
class Lookup:
    """What the source said about an identifier."""

    outcome: Literal["found", "missing", "unknown"]
    paper: Paper | None = None
    source: str = ""
    reason: str = ""


def normalise_title(title: str) -> str:
    decomposed = unicodedata.normalize("NFKD", title)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NON_ALNUM.sub(" ", plain.casefold()).strip()


def title_similarity(cited: str, found: str) -> float:
    """1.0 for the same title up to case, accents and punctuation; lower as they differ."""
    a, b = normalise_title(cited), normalise_title(found)
    if not a or not b:
        return 0.0
    return 1.0 if a == b else difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def check_citation(citation: Citation, lookup: Lookup) -> Citation:
    """The citation with `verified` and `note` set from the look-up; year and authors are
    filled from the source's record where the citation lacks them."""
    if lookup.outcome == "unknown":
        return citation.model_copy(update={"verified": None, "note": lookup.reason})
    if lookup.outcome == "missing" or lookup.paper is None:
        return citation.model_copy(update={"verified": False, "note": lookup.reason})
    paper = lookup.paper
    filled = {
        "year": citation.year or paper.year,
        "authors": citation.authors or list(paper.authors),
    }
    if not citation.title.strip():
        note = f"no title was cited to compare with {lookup.source}'s"
        return citation.model_copy(update={**filled, "verified": None, "note": note})
    score = title_similarity(citation.title, paper.title)
    if score >= TITLE_MATCH_THRESHOLD:
        return citation.model_copy(update={**filled, "verified": True, "note": ""})
    note = (
        f"the title differs from {lookup.source}'s record "
        f"({paper.title[:160]!r}, similarity {score:.2f} < {TITLE_MATCH_THRESHOLD})"
    )
    return citation.model_copy(update={**filled, "verified": None, "note": note})
