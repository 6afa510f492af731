"""What every part of the loop shares: its dependencies, its counters, and applying results.

`Scheduler` (loop.py) is this state plus three parts, each in its own module:
dispatch and stop rules (loop.py), running a task (execution.py), and the
background jobs that follow the store (following.py).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

from agents.context import LiteratureSearch
from coscientist.config import Limits
from coscientist.embedding import EmbeddingService
from coscientist.events import EventBus
from coscientist.knowledge.concepts import DEFAULT_MERGE_THRESHOLD
from coscientist.llm.base import Gate
from coscientist.llm.client import ModelClient
from coscientist.llm.roles import TASK_ROLES
from coscientist.llm.router import ModelRouter
from coscientist.scheduler import effects, leases
from coscientist.scheduler.budget import Budget, CallLog
from coscientist.scheduler.commands import Inbox
from coscientist.scheduler.failures import FailureCount
from coscientist.scheduler.graph_refresh import GraphRefresher
from coscientist.scheduler.intake import Intake
from coscientist.scheduler.policy import Policy
from coscientist.scheduler.runner import TaskRunner
from coscientist.scheduler.slots import InFlight
from coscientist.scheduler.state import SessionState
from coscientist.scheduler.storage import StoreCalls
from coscientist.scheduler.wakeup import Wakeup
from coscientist.schemas import CallRecord, SessionInfo, TaskKind
from coscientist.store import Store
from coscientist.store.graph import GraphMarks

log = logging.getLogger("coscientist.scheduler")

# A run's models: one client, or a client per role's model (llm/router.py).
ClientFactory = Callable[[Gate, Callable[[CallRecord], Awaitable[None]]], ModelClient | ModelRouter]


class SchedulerBase:
    runner: TaskRunner  # built when a run starts, once the session is loaded

    def __init__(
        self,
        *,
        store: Store,
        make_client: ClientFactory,
        info: SessionInfo,
        bus: EventBus,
        inbox: Inbox | None = None,
        concurrency: int | None = None,
        literature: LiteratureSearch | None = None,
        lease_seconds: float = 60.0,
        max_tokens: int = 512,
        review_filter: bool = True,
        queue_depth: int = 0,
        plan: bool = True,
        idle_exit: float | None = None,
        top_k: int | None = None,
        graph_merge_threshold: float | None = None,
        embedding: EmbeddingService | None = None,
    ) -> None:
        self.store = store
        self.info = info
        self.bus = bus
        self.inbox = inbox or Inbox()
        self.budget = Budget(Limits())
        self.calls = CallLog(self.budget)
        # The clients get the budget's gate and the call log when they are built.
        built = make_client(self.budget.gate, self.calls.record)
        self.models = built if isinstance(built, ModelRouter) else ModelRouter.single(built)
        self.client = self.models.default  # the session's own model: intake, unnamed roles
        serving = self.models.serving(TASK_ROLES.values())  # the models tasks run on
        slots = sum(c.concurrency for c in serving) if len(serving) > 1 else None
        self.concurrency = max(1, slots or concurrency or self.client.concurrency)
        self.literature = literature
        self.lease_seconds = lease_seconds
        self.max_tokens = max_tokens
        self.review_filter = review_filter
        self.plans = plan  # False: a worker, which only claims what a planner queued
        self.queue_depth = max(0, queue_depth) if plan else 0
        self.idle_exit = idle_exit
        self.owner = leases.make_owner_id()
        self.rng = random.Random(f"{info.seed}:{info.goal}")
        self.state = SessionState(
            rng=self.rng,
            session_id=info.id,
            merge_threshold=graph_merge_threshold or DEFAULT_MERGE_THRESHOLD,
            embedding=embedding or EmbeddingService(),
        )
        self.policy = Policy(rng=self.rng, top_k=top_k)
        self.db = StoreCalls(store)
        self.intake = Intake(
            self.client,
            self.db,
            bus,
            binding=review_filter,
            max_tokens=max_tokens,
            budget=self.budget,
        )
        self.graph = GraphRefresher(self.state, self.db, bus, record=plan, seed=info.seed)
        self.failures = FailureCount()
        self.in_flight = InFlight()
        self.stop_reason: str | None = None
        self._error: str | None = None
        self._stop_now = False
        self._paused = False
        self._running = 0
        self._store_has_pending = True
        self._tasks_done = 0
        self._tasks_started = 0
        self._tasks_since_graph = 0
        self._committing = 0  # new hypotheses of results being committed right now
        self._matches_since_top_change = 0
        self._last_top: list[str] = []
        self._limits = Limits()
        self._queued: dict[str, tuple[TaskKind, dict[str, Any]]] = {}  # for workers, not ended
        self._queued_at: dict[str, float] = {}  # when each of those was queued
        self._planned: set[str] = set()  # tasks whose pairs the policy recorded when planning
        self._match_seq = 0  # the store's matches up to this seq have been read here
        self._graph_marks: GraphMarks = (0, 0, 0)  # graph rows read up to these row ids

    @property
    def wake(self) -> Wakeup:
        return self.budget.wake

    def _release_pair(self, kind: TaskKind, payload: dict[str, Any]) -> None:
        if kind == TaskKind.MATCH:
            self.state.policy.release(str(payload.get("first_id")), str(payload.get("second_id")))

    def _stop_for_fault(self, reason: str) -> None:
        self.stop_reason = self.stop_reason or reason
        self._error = self._error or reason
        self.wake.set()

    # --- applying committed results -------------------------------------------------------

    async def _absorb(self, committed: effects.Effects) -> None:
        """Apply committed effects to memory, then what follows from them."""
        applied = effects.apply(self.state, self.bus, committed)
        for _ in applied.matches:
            self._after_match()
        if applied.graph_changed:
            await self.graph.changed(applied.new_graph_keys)
        self.wake.set()

    def _task_ended(self, kind: TaskKind) -> None:
        self._tasks_done += 1
        self._tasks_since_graph = 0 if kind == TaskKind.GRAPH else self._tasks_since_graph + 1

    def _after_match(self) -> None:
        top = self.state.top_ids()
        if top == self._last_top:
            self._matches_since_top_change += 1
        else:
            self._matches_since_top_change = 0
            self._last_top = list(top)
