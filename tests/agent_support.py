"""Shared set-up for the agent tests: a scripted model, sample hypotheses, fake literature."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from agents.context import AgentContext
from coscientist.errors import CoscientistError
from coscientist.llm.base import CallContext
from coscientist.llm.client import ModelClient
from coscientist.llm.scripted import ScriptedBackend
from coscientist.schemas import CallRecord, Citation, Hypothesis, Match, Review, ReviewKind

GOAL = "Explain why bacteria form biofilms on urinary catheters and how to prevent it"


class Harness:
    """A context wired to a scripted backend, with every request and call record kept."""

    def __init__(self, *, seed: int = 0, **overrides: Any) -> None:
        self.backend = ScriptedBackend(seed=seed)
        self.records: list[CallRecord] = []
        self.client = ModelClient(self.backend, recorder=self._record, repair_attempts=2)
        fields: dict[str, Any] = {
            "llm": self.client,
            "goal": GOAL,
            "call": CallContext(session_id="s1", task_id="t1"),
            "rng": random.Random(seed),
        }
        fields.update(overrides)
        self.ctx = AgentContext(**fields)

    async def _record(self, record: CallRecord) -> None:
        self.records.append(record)

    def queue(self, *answers: Any) -> None:
        self.backend.queue(*answers)

    @property
    def schemas(self) -> list[str]:
        return [r.schema_name for r in self.backend.requests]

    def prompts(self) -> list[str]:
        """The user message of every request, in order."""
        return [r.messages[1]["content"] for r in self.backend.requests]


def hypothesis(hid: str, title: str = "Catheter surface charge drives adhesion") -> Hypothesis:
    return Hypothesis(
        id=hid,
        session_id="s1",
        title=title,
        statement=f"{title}, through a mechanism that can be measured in flow cells ({hid}).",
        rationale="Adhesion precedes biofilm growth.",
        predictions=["Neutral coatings reduce adhesion"],
        experiment="Compare coated and uncoated catheters in a flow cell.",
        origin="generation:debate",
    )


def good_hypothesis(
    title: str = "Silver ions block quorum sensing", **extra: Any
) -> dict[str, Any]:
    return {
        "title": title,
        "statement": "Silver ions released from the catheter block quorum sensing signals.",
        "rationale": "Quorum sensing coordinates biofilm maturation.",
        "predictions": ["Lower autoinducer levels near silver coatings"],
        "experiment": "Measure autoinducer levels on coated catheters.",
        "assumptions": ["Silver reaches the biofilm matrix"],
        **extra,
    }


def review(hid: str, weakness: str, kind: ReviewKind = ReviewKind.INITIAL) -> Review:
    return Review(
        id=f"r-{hid}",
        session_id="s1",
        hypothesis_id=hid,
        kind=kind,
        summary="A plausible idea.",
        weaknesses=[weakness],
        scores={"novelty": 3.0},
    )


class FakeLiterature:
    """LiteratureSearch with fixed results, remembering what it was asked."""

    def __init__(self, results: Sequence[dict[str, str]], known: set[str] | None = None) -> None:
        self.results = list(results)
        self.known = known or set()
        self.queries: list[str] = []
        self.verified: list[str] = []

    async def search(self, query: str, limit: int = 5) -> list[dict[str, str]]:
        self.queries.append(query)
        return self.results[:limit]

    async def verify(self, identifier: str) -> bool | None:
        self.verified.append(identifier)
        return identifier in self.known

    async def check(self, citation: Citation) -> Citation:
        self.verified.append(citation.identifier)
        return citation.model_copy(update={"verified": citation.identifier in self.known})


class BrokenLiterature(FakeLiterature):
    async def search(self, query: str, limit: int = 5) -> list[dict[str, str]]:
        raise CoscientistError("offline")


PAPERS = [
    {"identifier": "doi:10.1/biofilm", "title": "Biofilms on catheters", "abstract": "A review."},
    {"identifier": "PMID:42", "title": "Silver coatings", "abstract": "Silver reduces growth."},
]


def match(i: int, rationale: str) -> Match:
    return Match(
        id=f"m{i}",
        session_id="s1",
        seq=i,
        first_id="a",
        second_id="b",
        winner_id="a",
        rationale=rationale,
    )
