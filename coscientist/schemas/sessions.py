"""A research session: its status, research plan, goal safety verdict and stored info."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from coscientist.config import RoleModel
from coscientist.schemas.base import utcnow


class SessionStatus(enum.StrEnum):
    CREATED = "created"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"  # a stop rule ended the run; resume can continue with new limits
    DONE = "done"


class ResearchPlan(BaseModel):
    """The research goal turned into a configuration every agent's prompt receives (paper, 3.1).

    Written once by the model at the start of a session from the goal and what the
    scientist gave; the scientist edits it at any time (CLI, API, TUI) and tasks that
    start afterwards use the new plan.
    """

    objective: str = ""
    preferences: list[str] = Field(default_factory=list)
    constraints: list[str] = Field(default_factory=list)
    attributes: list[str] = Field(default_factory=list)  # of a good hypothesis
    out_of_scope: list[str] = Field(default_factory=list)
    drafted: bool = False  # the model has drafted it (the start-of-session call ran)
    edited_at: datetime | None = None  # the scientist's last change

    LISTS: ClassVar[tuple[str, ...]] = ("preferences", "constraints", "attributes", "out_of_scope")

    def edited(
        self,
        lists: Mapping[str, Sequence[str]],
        *,
        objective: str | None = None,
        replace: bool = False,
    ) -> ResearchPlan:
        """A copy with items added to the named lists (`replace`: the lists given replace the
        stored ones); whitespace collapsed, duplicates dropped, the rest kept as it is."""
        unknown = set(lists) - set(self.LISTS)
        if unknown:
            raise ValueError(f"a research plan has no {', '.join(sorted(unknown))}")
        changes: dict[str, Any] = {"edited_at": utcnow()}
        if objective is not None:
            changes["objective"] = " ".join(objective.split())
        for name, items in lists.items():
            cleaned = list(dict.fromkeys(" ".join(i.split()) for i in items if i.strip()))
            if cleaned:
                kept = [] if replace else list(getattr(self, name))
                changes[name] = kept + [i for i in cleaned if i not in kept]
        return self.model_copy(update=changes)

    def is_empty(self) -> bool:
        return not (
            self.objective
            or self.preferences
            or self.constraints
            or self.attributes
            or self.out_of_scope
        )


class SafetyVerdict(BaseModel):
    """A safety judgement of a goal or a hypothesis: our own screen, then the model's review."""

    safe: bool = True
    category: str = ""  # e.g. "weapons", "pathogen enhancement"; "" when safe
    reason: str = ""  # what an export may show: a category-level reason, never the text judged
    by: str = ""  # "screen", "model" or "" (nothing found)
    model_verdict: str = ""  # the model's own answer ("none", "dual_use", "serious")


class SessionInfo(BaseModel):
    id: str
    goal: str
    status: SessionStatus = SessionStatus.CREATED
    model_spec: str
    base_url: str | None = None
    seed: int = Field(default=0, ge=-(2**63), le=2**63 - 1)  # a store's INTEGER holds it
    limits: dict[str, Any] = Field(default_factory=dict)
    preferences: str = ""  # the scientist's constraints and criteria, added to every prompt
    plan: ResearchPlan | None = None
    goal_safety: SafetyVerdict | None = None  # the goal's review, before any other model call
    stop_reason: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    # The judge's learned preference for the hypothesis it reads first, on the mu scale
    # (tournament.ratings.update_positioned); the store updates it with every match.
    position_mu: float = 0.0
    position_sigma: float = 2.0
    # Roles with a model of their own (llm/roles.py): spec, base URL (password masked) and
    # concurrency, so a resume and workers use the same models. Never a key.
    roles: dict[str, RoleModel] = Field(default_factory=dict)
