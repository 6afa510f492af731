"""`coscientist worker`: extra executors claiming tasks from a shared store (scale-out).

A run started with a queue depth (`--queue-depth N`) plans up to N tasks ahead
and leaves them pending in the store. A worker finds RUNNING sessions with
claimable tasks and runs a Scheduler in worker mode on each in turn: it claims
(FOR UPDATE SKIP LOCKED on PostgreSQL), never plans, uses the session's own
model, and stops when the session stops, its stored calls reach max_calls, or
nothing was claimable for `idle_exit` seconds. A killed worker's tasks go back
to pending as soon as a running loop (the planner, another worker) sees that
its owner is dead (leases.py).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import anyio

from coscientist.config import Limits, ModelPrice, Settings
from coscientist.embedding import embedding_service
from coscientist.events import EventBus
from coscientist.literature import LiteratureTools
from coscientist.literature.session import open_literature
from coscientist.llm.base import Gate
from coscientist.llm.pricing import price_for
from coscientist.llm.roles import Endpoint, RolePlan
from coscientist.llm.router import ModelRouter
from coscientist.llm.spec import parse_spec
from coscientist.scheduler.budget import RunSummary
from coscientist.scheduler.loop import Scheduler  # the agents load with the worker, not per task
from coscientist.schemas import CallRecord, SessionInfo, SessionStatus, TaskState
from coscientist.store import Store

log = logging.getLogger(__name__)


class Workspace(Protocol):
    """What a worker needs of its host (a `CoScientist` is one): a store, settings, clients."""

    @property
    def store(self) -> Store: ...

    @property
    def settings(self) -> Settings: ...

    def make_models(
        self,
        info: SessionInfo,
        *,
        gate: Gate | None = None,
        recorder: Callable[[CallRecord], Awaitable[None]] | None = None,
        prices: dict[Endpoint, ModelPrice | None] | None = None,
    ) -> ModelRouter: ...

    def session_roles(self, info: SessionInfo) -> RolePlan: ...


POLL_SECONDS = 1.0
CLAIMABLE = (TaskState.PENDING.value, TaskState.FAILED.value)


@dataclass
class SessionWork:
    session_id: str
    tasks_done: int
    tasks_failed: int
    stop_reason: str
    budget_spent: bool = False


@dataclass
class WorkerSummary:
    sessions: list[SessionWork] = field(default_factory=list)

    @property
    def tasks_done(self) -> int:
        return sum(w.tasks_done for w in self.sessions)

    @property
    def tasks_failed(self) -> int:
        return sum(w.tasks_failed for w in self.sessions)


def claimable_sessions(cs: Workspace, spent: dict[str, dict[str, Any]]) -> list[SessionInfo]:
    """Running sessions with pending (or retryable) tasks, oldest first.

    `spent`: the limits of sessions whose budget ran out; skipped until they change (a resume).
    """
    store = cs.store
    running = [
        s
        for s in store.list_sessions()
        if s.status == SessionStatus.RUNNING and spent.get(s.id) != s.limits
    ]
    out = []
    for info in reversed(running):  # list_sessions is newest first
        counts = store.task_counts(info.id)
        if any(states.get(state, 0) for states in counts.values() for state in CLAIMABLE):
            out.append(info)
    return out


async def run_worker(
    cs: Workspace,
    *,
    idle_exit: float | None = None,
    concurrency: int | None = None,
    on_session: Callable[[SessionWork], None] | None = None,
) -> WorkerSummary:
    """Serve sessions until nothing was claimable for `idle_exit` seconds (None: forever)."""
    summary = WorkerSummary()
    spent: dict[str, dict[str, Any]] = {}  # out of budget: their planner is about to stop
    idle_since = anyio.current_time()
    while True:
        found = await anyio.to_thread.run_sync(claimable_sessions, cs, spent)
        if found:
            info = found[0]
            work = await work_on(cs, info, idle_exit=idle_exit, concurrency=concurrency)
            if work.budget_spent:
                spent[info.id] = info.limits
            if work.tasks_done or work.tasks_failed:
                summary.sessions.append(work)
                if on_session is not None:
                    on_session(work)
                idle_since = anyio.current_time()
            continue
        if idle_exit is not None and anyio.current_time() - idle_since >= idle_exit:
            return summary
        await anyio.sleep(POLL_SECONDS)


async def work_on(
    cs: Workspace,
    info: SessionInfo,
    *,
    idle_exit: float | None,
    concurrency: int | None,
) -> SessionWork:
    """Claim and run one session's tasks until it stops, its budget is spent or it goes idle."""
    stored = Limits(**info.limits) if info.limits else Limits()
    # Only the budgets every process shares through the store; time and convergence are the planner's.
    limits = Limits(
        max_calls=stored.max_calls, max_tokens=stored.max_tokens, max_cost=stored.max_cost
    )
    roles = cs.session_roles(info)  # the planner's models, role by role (sessions.roles)
    prices: dict[Endpoint, ModelPrice | None] = {}
    for endpoint in roles.endpoints():
        # Priced by name; an unnamed served model goes unpriced.
        spec = parse_spec(endpoint.spec)
        prices[endpoint] = price_for(cs.settings, spec.kind, spec.target)
    # Literature as a run would have it (on after a preflight by default): a full review the
    # planner queued gets its sources and checks here too.
    literature, notice = await open_literature(
        cs.settings, cache_get=cs.store.cache_get, cache_put=cs.store.cache_put
    )
    if notice:
        log.warning("%s", notice)
    try:
        run, spent = await _serve(
            cs, info, limits, roles, prices, literature, idle_exit, concurrency
        )
    finally:
        if literature is not None:
            with anyio.CancelScope(shield=True):
                await literature.aclose()
    return SessionWork(info.id, run.tasks_done, run.tasks_failed, run.stop_reason, spent)


async def _serve(
    cs: Workspace,
    info: SessionInfo,
    limits: Limits,
    roles: RolePlan,
    prices: dict[Endpoint, ModelPrice | None],
    literature: LiteratureTools | None,
    idle_exit: float | None,
    concurrency: int | None,
) -> tuple[RunSummary, bool]:
    scheduler = Scheduler(
        store=cs.store,
        make_client=lambda gate, recorder: cs.make_models(
            info, gate=gate, recorder=recorder, prices=prices
        ),
        info=info,
        bus=EventBus(),
        concurrency=concurrency or cs.settings.concurrency,
        lease_seconds=cs.settings.lease_seconds,
        max_tokens=cs.settings.max_output_tokens,
        review_filter=cs.settings.filters_reviews(roles.spec_of("reflection")),
        graph_merge_threshold=cs.settings.graph_merge_threshold,
        plan=False,
        idle_exit=idle_exit if idle_exit is not None else POLL_SECONDS,
        literature=literature,
        embedding=embedding_service(cs.settings),
    )
    run = await scheduler.run(limits)
    return run, scheduler.budget.spent() is not None


__all__ = ["SessionWork", "WorkerSummary", "run_worker", "work_on"]
