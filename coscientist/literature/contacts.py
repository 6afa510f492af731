"""Research contacts: authors who recur across the cited sources of the top hypotheses.

A name appears as "Jane A. Doe" at arXiv and as "Doe JA" at PubMed and Europe
PMC; both become the key "doe j" (surname, first initial), so one person is
counted once per paper whichever source listed it. Two people who share a
surname and an initial are merged too: the list says who to look up, not who
is who. Citations a check found missing (not_found) do not count.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import BaseModel, Field

from coscientist.schemas import Citation, Hypothesis

MIN_PAPERS = 2  # "recur": in at least two different cited papers
MAX_CONTACTS = 10
_INITIALS = re.compile(r"^[A-Z]{1,3}$")


class ContactPaper(BaseModel):
    identifier: str
    title: str = ""
    year: str = ""
    check: str = "unchecked"


class ResearchContact(BaseModel):
    name: str  # the fullest form of the name seen
    papers: list[ContactPaper] = Field(default_factory=list)  # the papers that put them here
    hypotheses: list[str] = Field(default_factory=list)  # ids of the top hypotheses citing them


def author_key(name: str) -> str:
    """ "Jane A. Doe", "Doe JA", "Doe, Jane" -> "doe j"; "" when no surname can be told."""
    if "," in name:
        surname, _, given = name.partition(",")
        words = [*given.split(), surname]
    else:
        words = name.replace(".", ". ").split()
    words = [w.strip(".") for w in words if w.strip(".")]
    if not words or [w.casefold() for w in words] == ["et", "al"]:
        return ""  # "Smith J, et al." lists an "author" who is not one
    if len(words) >= 2 and _INITIALS.match(words[-1]):  # PubMed style: surname, then initials
        surname, initial = " ".join(words[:-1]), words[-1][0]
    else:
        surname, initial = words[-1], words[0][0] if len(words) >= 2 else ""
    return f"{surname.casefold()} {initial.casefold()}".strip()


def research_contacts(
    top: Sequence[Hypothesis], *, min_papers: int = MIN_PAPERS, limit: int = MAX_CONTACTS
) -> list[ResearchContact]:
    """Authors in at least `min_papers` distinct cited papers of `top`, most papers first."""
    names: dict[str, str] = {}
    papers: dict[str, dict[str, Citation]] = {}
    citing: dict[str, list[str]] = {}
    for h in top:
        for citation in h.citations:
            if citation.verified is False:
                continue
            paper_id = citation.identifier.casefold()
            for author in citation.authors:
                key = author_key(author)
                if not key:
                    continue
                if len(author) > len(names.get(key, "")):
                    names[key] = author
                papers.setdefault(key, {}).setdefault(paper_id, citation)
                ids = citing.setdefault(key, [])
                if h.id not in ids:
                    ids.append(h.id)
    recurring = [k for k, found in papers.items() if len(found) >= min_papers]
    recurring.sort(key=lambda k: (-len(papers[k]), -len(citing[k]), k))
    return [
        ResearchContact(
            name=names[key],
            papers=[
                ContactPaper(identifier=c.identifier, title=c.title, year=c.year, check=c.check)
                for c in papers[key].values()
            ],
            hypotheses=citing[key],
        )
        for key in recurring[:limit]
    ]
