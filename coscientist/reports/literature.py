"""The literature part of `show --json` and the reports: citations with their checks, contacts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from coscientist.literature.contacts import ResearchContact, research_contacts
from coscientist.schemas import Hypothesis
from coscientist.store import Store

CONTACTS_TOP = 10  # contacts come from the citations of this many leaders


def contacts_of(
    hypotheses: Sequence[Hypothesis], ranked_ids: Sequence[str]
) -> list[ResearchContact]:
    """Recurring authors across the citations of the first CONTACTS_TOP of `ranked_ids`."""
    by_id = {h.id: h for h in hypotheses}
    top = [by_id[i] for i in ranked_ids[:CONTACTS_TOP] if i in by_id]
    return research_contacts(top)


def board_citations(
    store: Store, session_id: str, board_ids: Sequence[str]
) -> dict[str, list[dict[str, Any]]]:
    """Each listed hypothesis's citations with their checks, for show --json."""
    by_id = {h.id: h for h in store.list_hypotheses(session_id)}
    return {
        hid: [c.model_dump(mode="json") for c in by_id[hid].citations]
        for hid in board_ids
        if hid in by_id
    }
