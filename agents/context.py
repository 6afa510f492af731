"""What every agent receives: the model, the goal, feedback, a seeded RNG.

Agents get and return pydantic objects (coscientist.schemas); they never see
the store. The supervisor builds one AgentContext per task.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from coscientist.llm.base import CallContext
from coscientist.schemas import Citation, MetaReviewDraft, ResearchPlan

if TYPE_CHECKING:
    from coscientist.llm.client import ModelClient


class LiteratureSearch(Protocol):
    """Optional literature tools (arXiv, PubMed, Europe PMC)."""

    async def search(self, query: str, limit: int = 5) -> list[dict[str, str]]: ...

    async def verify(self, identifier: str) -> bool | None: ...

    async def check(self, citation: Citation) -> Citation:
        """The citation with its check recorded: resolved in its source, title compared."""
        ...


@dataclass
class AgentContext:
    llm: ModelClient
    goal: str
    call: CallContext
    rng: random.Random
    preferences: str = ""
    plan: ResearchPlan | None = None  # the session's research plan as it was when the task started
    feedback: MetaReviewDraft | None = None  # latest meta-review, fed into prompts
    graph_insights: list[str] = field(default_factory=list)  # from the knowledge graph
    # Concepts of the knowledge graph the task builds on (bridges, gaps): shown in the prompt
    # and recorded as the new hypothesis's `inspired_by`.
    focus: list[str] = field(default_factory=list)
    literature: LiteratureSearch | None = None
    max_tokens: int = 512
    # A match's second judge (the `audit` role on a model other than the judge's), or None.
    second_judge: ModelClient | None = None
    # The role the calls are recorded as when it is not the agent's own: a second judge runs
    # the Ranking agent's prompts, and its calls are the `audit` role's.
    call_role: str = ""
