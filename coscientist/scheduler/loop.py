"""The loop: keeps `concurrency` tasks in flight until a stop rule fires.

Whenever a slot frees it takes a task left in the store (a resumed run, a
retry) or asks the policy for a new one, runs it through the runner, commits
the result and the task's state change in one transaction, and only then
applies it to memory (effects.py). Commands from the session (pause, stop, the
scientist's hypotheses) arrive through the inbox and are applied here, between
decisions. Background jobs keep the leases, write provenance in batches and
follow what other processes commit; a store hiccup in any of them is retried
and never ends the run.

A loop plans (the default), plans ahead into the store for workers
(`queue_depth`), or only claims what a planner queued (`plan=False`: a worker).
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import anyio
from anyio.abc import TaskGroup

from agents.context import AgentContext, LiteratureSearch
from coscientist.config import Limits
from coscientist.errors import StoreError
from coscientist.events import EventBus
from coscientist.llm.base import CallContext
from coscientist.llm.client import ModelClient
from coscientist.scheduler import commands, effects, leases
from coscientist.scheduler.budget import Budget, CallLog, RunSummary
from coscientist.scheduler.commands import Inbox
from coscientist.scheduler.failures import FailureCount, FailureKind, classify, describe
from coscientist.scheduler.policy import Policy, Snapshot
from coscientist.scheduler.runner import TaskRunner
from coscientist.scheduler.slots import InFlight, payload_hypotheses
from coscientist.scheduler.state import SessionState
from coscientist.scheduler.storage import StoreCalls
from coscientist.schemas import (
    CallRecord,
    SessionInfo,
    SessionStatus,
    Task,
    TaskKind,
    TaskResult,
    TaskSpec,
    TaskState,
)
from coscientist.store import Store

log = logging.getLogger(__name__)

ClientFactory = Callable[
    [Callable[[], Awaitable[None]], Callable[[CallRecord], Awaitable[None]]], ModelClient
]

DEFAULT_CONVERGENCE_WINDOW = 60
MIN_MATCHES_FOR_CONVERGENCE = 3
CALL_FLUSH_SECONDS = 0.25
SYNC_SECONDS = 2.0  # how often a plain run looks for hypotheses other processes added
QUEUE_SYNC_SECONDS = 0.5  # how often a planner with a queue, or a worker, follows the store
IDLE_WAIT_SECONDS = 0.5
QUEUE_GRACE_SECONDS = 2.0  # a planner takes back what it queued only after workers had this long
ID_PREFIX, ID_CHARS = 6, 16  # hypothesis ids: 6 characters of the session's, 10 of a stream


def one_blas_thread() -> AbstractContextManager[object]:
    """Numpy's BLAS on one thread while a run lasts.

    The proximity lookups are small matrix-vector products. OpenBLAS spreads each over
    every core and its threads spin between calls: on a busy machine a product over
    1,000 hypotheses took 14 ms instead of 0.1 ms, and the spinning threads starved the
    event loop. Without threadpoolctl nothing changes.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return nullcontext()
    limits: AbstractContextManager[object] = threadpool_limits(limits=1, user_api="blas")
    return limits


class Scheduler:
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
    ) -> None:
        self.store = store
        self.info = info
        self.bus = bus
        self.inbox = inbox or Inbox()
        self.budget = Budget(Limits())
        self.calls = CallLog(self.budget)
        # The client gets the budget's gate and the call log when it is built.
        self.client = make_client(self.budget.gate, self.calls.record)
        self.concurrency = max(1, concurrency or self.client.concurrency)
        self.literature = literature
        self.lease_seconds = lease_seconds
        self.max_tokens = max_tokens
        self.review_filter = review_filter
        self.plans = plan  # False: a worker, which only claims what a planner queued
        self.queue_depth = max(0, queue_depth) if plan else 0
        self.idle_exit = idle_exit
        self.owner = leases.make_owner_id()
        self.rng = random.Random(f"{info.seed}:{info.goal}")
        self.state = SessionState(rng=self.rng, session_id=info.id)
        self.policy = Policy(rng=self.rng)
        self.db = StoreCalls(store)
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

    @property
    def wake(self) -> Any:
        return self.budget.wake

    # --- the run ---------------------------------------------------------------------

    async def run(self, limits: Limits) -> RunSummary:
        self._limits = limits
        self.budget.restart(limits)
        self.inbox.attach(self.wake)
        try:
            await self._run()
        finally:
            with anyio.CancelScope(shield=True):
                self.inbox.detach()
                await self.client.aclose()
        reason = self.stop_reason or "stopped"
        summary = await self.db(self._summary, reason)
        self.bus.emit("stop", self.info.id, f"stopped: {reason}", reason=reason)
        return summary

    async def _run(self) -> None:
        await self.db(self._load)
        # Fresh sessions with one seed replay exactly; a resumed one continues from its history.
        self.rng.seed(
            f"{self.info.seed}:{self.info.goal}:{len(self.state.hypotheses)}:{self.state.matches_done}"
        )
        self.runner = TaskRunner(
            self.state, self.info.id, self._id_factory(), review_filter=self.review_filter
        )
        self.bus.emit("run_started", self.info.id, f"run started (owner {self.owner})")
        try:
            with one_blas_thread():
                async with anyio.create_task_group() as tg:
                    tg.start_soon(self._every, self.lease_seconds / 3, self._keep_leases)
                    tg.start_soon(self._every, CALL_FLUSH_SECONDS, self._flush_calls)
                    follows_queue = self.queue_depth or not self.plans
                    sync_every = QUEUE_SYNC_SECONDS if follows_queue else SYNC_SECONDS
                    tg.start_soon(self._every, sync_every, self._sync)
                    await self._dispatch(tg)
                    tg.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await self._flush_calls()
                await self.db(self.store.release, self.owner)
                # Tasks of owners that died (a killed worker) do not stay "running".
                await self.db(
                    leases.take_back, self.store, self.info.id, self.owner, self.lease_seconds
                )

    def _id_factory(self) -> Callable[[], str]:
        """Hypothesis ids: the session's prefix, then a stream drawn from the seed.

        The prefix keeps ids unique across sessions (the same goal run twice in one store);
        the seeded stream makes one seed give one session, and since ids sort by their
        streams alone, ties break alike in two sessions run with one seed. A worker draws
        from a stream of its own (its owner id), never the planner's.
        """
        stream = f"{self.info.seed}:{self.info.goal}:{len(self.state.hypotheses)}"
        if not self.plans:
            stream += f":{self.owner}"
        ids = random.Random(stream)
        prefix = self.info.id[:ID_PREFIX]
        width = ID_CHARS - ID_PREFIX
        return lambda: prefix + uuid.UUID(int=ids.getrandbits(128), version=4).hex[:width]

    def _load(self) -> None:
        store, sid = self.store, self.info.id
        leases.register(store, self.owner)
        reclaimed = leases.take_back(store, sid, self.owner, self.lease_seconds)
        if reclaimed:
            self.bus.emit("reclaimed", sid, f"took back {reclaimed} task(s) of a stopped run")
        self.state.load(
            hypotheses=store.list_hypotheses(sid),
            ratings=store.ratings(sid),
            reviews=store.list_reviews(sid),
            matches=store.list_matches(sid),
            meta_review=store.latest_meta_review(sid),
            graph=store.graph(sid),
            vectors=store.vectors(sid),
        )
        stats = store.call_stats(sid)
        self.budget.calls = int(stats.get("calls", 0))
        self.budget.tokens = int(stats.get("tokens_in", 0)) + int(stats.get("tokens_out", 0))
        self._last_top = self.state.top_ids()
        self._match_seq = max((m.seq for m in self.state.recent_matches), default=0)

    async def _dispatch(self, tg: TaskGroup) -> None:
        idle_rounds = 0
        idle_since: float | None = None  # a worker's: since when nothing was claimable
        while True:
            self._obey(self.inbox.drain())
            self._check_limits()
            if self.stop_reason is not None:
                self.budget.closed = True  # calls not yet started wait at the gate
                if self._stop_now or self._running == self.budget.blocked:
                    return
            elif not self._paused and self._running < self.concurrency:
                if self._may_claim() and await self._claim(tg):
                    idle_rounds = 0
                    continue
                spec = self._plan() if self.plans else None
                if spec is not None:
                    idle_rounds = 0
                    # Planned synchronously, started in memory: the loop never waits for
                    # the store before filling the next slot.
                    self._start(tg, spec)
                    continue
                if self._queued and await self._claim(tg):  # nothing new: take the queue back
                    idle_rounds = 0
                    continue
                if not self.plans:
                    idle_since = self._idle(idle_since)
                elif self._running == 0 and not self._queued:
                    idle_rounds += 1
                    if idle_rounds >= 3:
                        self.stop_reason = "nothing left to do"
                        continue
            elif not self._paused and len(self._queued) < self.queue_depth:
                # Every slot busy: plan ahead for the workers, up to queue_depth tasks.
                spec = self._plan()
                if spec is not None:
                    await self._enqueue(spec)
                    continue
            await self.wake.wait(IDLE_WAIT_SECONDS)

    def _may_claim(self) -> bool:
        """A planner with workers leaves what it queued to them for a moment: taking it back at
        once, whenever one of its own slots frees, would starve them."""
        if not self._queued_at:
            return True
        return anyio.current_time() - min(self._queued_at.values()) >= QUEUE_GRACE_SECONDS

    async def _claim(self, tg: TaskGroup) -> bool:
        """Work left in the store (a resumed run, retries, a planner's queue) goes first."""
        if not (self._store_has_pending or not self.plans):
            return False
        free = self.concurrency - self._running
        try:
            claimed = await self.db(
                self.store.claim, self.info.id, self.owner, free, self.lease_seconds
            )
        except StoreError as exc:
            self.bus.emit("store_retry", self.info.id, f"could not claim tasks: {exc}")
            return False
        for task in claimed:
            self._queued_at.pop(task.id, None)
            entry = self._queued.pop(task.id, None)  # one this run queued: counted once
            if entry is not None:
                self.in_flight.drop(*entry)
            self._start(tg, task)
        self._store_has_pending = bool(claimed)
        return bool(claimed)

    def _idle(self, since: float | None) -> float | None:
        """A worker stops once nothing was claimable for idle_exit seconds (None: never)."""
        if self._running:
            return None
        now = anyio.current_time()
        if since is None:
            return now
        if self.idle_exit is not None and now - since >= self.idle_exit:
            self.stop_reason = "no task to claim"
        return since

    # --- commands and stop rules --------------------------------------------------------

    def _obey(self, given: list[commands.Command]) -> None:
        sid = self.info.id
        for command in given:
            match command:
                case commands.Pause():
                    self._paused = True
                    self.bus.emit("paused", sid, "paused by the scientist")
                case commands.Resume():
                    self._paused = False
                    self.bus.emit("resumed", sid, "resumed")
                case commands.Stop(reason=reason):
                    self.stop_reason = self.stop_reason or reason
                case commands.AddHypothesis(hypothesis=h):
                    effects.apply(self.state, self.bus, effects.Effects(hypotheses=[h]))
                case commands.AddReview(review=review):
                    effects.apply(self.state, self.bus, effects.Effects(reviews=[review]))
                case commands.RefineGoal(goal=goal):
                    self.info = self.info.model_copy(update={"goal": goal})
                case commands.SetPreferences(preferences=preferences):
                    self.info = self.info.model_copy(update={"preferences": preferences})
                case commands.SetPinned(hypothesis_id=hid, pinned=pinned):
                    self.state.set_pinned(hid, pinned)
                case commands.SetStatus(hypothesis_id=hid, status=status):
                    self.state.set_status(hid, status)

    def _check_limits(self) -> None:
        if self.stop_reason is not None:
            return
        if self.budget.out_of_time():
            self.stop_reason, self._stop_now = "time limit", True
        else:
            converged = self.plans and self._converged()  # a worker leaves that to the planner
            self.stop_reason = self.budget.spent() or ("converged" if converged else None)

    def _converged(self) -> bool:
        window = self._limits.convergence_window or DEFAULT_CONVERGENCE_WINDOW
        if self._matches_since_top_change < window:
            return False
        state = self.state
        return (
            all(
                state.ratings[hid].matches >= MIN_MATCHES_FOR_CONVERGENCE
                for hid in state.policy_members
            )
            and not self._snapshot().can_create()
        )

    def _stop_for_fault(self, reason: str) -> None:
        self.stop_reason = self.stop_reason or reason
        self._error = self._error or reason
        self.wake.set()

    # --- choosing work -----------------------------------------------------------------

    def _snapshot(self) -> Snapshot:
        state, busy = self.state, self.in_flight.busy
        top = state.top()
        return Snapshot(
            n_hypotheses=len(state.hypotheses),
            n_rankable=len(state.policy_members),
            unreviewed=[h for h in state.unreviewed() if not busy(h)],
            in_flight=self.in_flight.kinds.copy(),
            matches_done=state.matches_done,
            matches_since_meta=state.matches_done - state.matches_at_meta,
            tasks_since_graph=self._tasks_since_graph,
            has_meta_review=state.meta_review is not None,
            max_hypotheses=self._limits.max_hypotheses,
            top_ids=[h.id for h in top],
            top_origins=[h.origin for h in top],
            needs_deep_review=[h for h in state.deep_review_candidates() if not busy(h)],
            matches_since_top_change=self._matches_since_top_change,
            literature=self.literature is not None,
            busy_ids=self.in_flight.busy_ids(),
        )

    def _plan(self) -> TaskSpec | None:
        return self.policy.next(self._snapshot(), self.state)

    async def _enqueue(self, spec: TaskSpec) -> None:
        self.in_flight.hold(spec.kind, spec.payload)
        try:
            (task,) = await self.db(self.store.enqueue, self.info.id, [spec])
        except StoreError as exc:
            self.in_flight.drop(spec.kind, spec.payload)
            self._release_pair(spec.kind, spec.payload)
            self.bus.emit("store_retry", self.info.id, f"could not queue {spec.kind.value}: {exc}")
            return
        self._queued[task.id] = (spec.kind, spec.payload)
        self._queued_at[task.id] = anyio.current_time()
        self._planned.add(task.id)
        self._store_has_pending = True

    def _release_pair(self, kind: TaskKind, payload: dict[str, Any]) -> None:
        if kind == TaskKind.MATCH:
            self.state.policy.release(str(payload.get("first_id")), str(payload.get("second_id")))

    # --- running a task ------------------------------------------------------------------

    def _start(self, tg: TaskGroup, work: Task | TaskSpec) -> None:
        self._tasks_started += 1
        self._running += 1
        self.in_flight.hold(work.kind, work.payload)
        tg.start_soon(self._run_task, work)

    async def _run_task(self, work: Task | TaskSpec) -> None:
        try:
            if isinstance(work, Task):
                if not self.plans:
                    await self._sync_for(work)
                await self._execute(work, written=True)
            else:
                # Planned here: the task's row is written with its result, in one transaction.
                # A kill before that loses only the work in flight, which the next run plans
                # again; nothing committed depends on the row.
                task = self.store.running_task(self.info.id, work, self.owner, self.lease_seconds)
                self._planned.add(task.id)
                await self._execute(task, written=False)
        finally:
            self._running -= 1
            self.in_flight.drop(work.kind, work.payload)
            self.wake.set()

    async def _execute(self, task: Task, *, written: bool) -> None:
        self.bus.emit(
            "task_started", self.info.id, task.kind.value, task_id=task.id, kind=task.kind.value
        )
        new = None if written else task
        try:
            result = await self.runner.run(task, self._context(task))
            self._cap_new_hypotheses(result)
            self._committing += len(result.hypotheses)
            try:
                applied = await self.db(self.store.complete_task, task.id, self.owner, result, new)
            finally:
                self._committing -= len(result.hypotheses)
        except Exception as exc:
            await self._fail(task, exc, new)
        else:
            self.failures.succeeded()
            done = effects.from_result(task, result, applied, planned=task.id in self._planned)
            await self._absorb(done)
            self._task_ended(task.kind)
            self.bus.emit(
                "task_done", self.info.id, task.kind.value, task_id=task.id, kind=task.kind.value
            )
        notice = getattr(self.literature, "offline_notice", None)
        message = notice() if notice is not None else None
        if message:  # once per run: the literature services cannot be reached
            self.bus.emit("literature", self.info.id, str(message))

    def _context(self, task: Task) -> AgentContext:
        state = self.state
        graph_insights = state.graph_insights if task.kind == TaskKind.GENERATE else []
        return AgentContext(
            llm=self.client,
            goal=self.info.goal,
            call=CallContext(role=task.kind.value, session_id=self.info.id, task_id=task.id),
            rng=random.Random(f"{self.info.seed}:{self._tasks_started}:{task.attempts}"),
            preferences=self.info.preferences,
            feedback=state.meta_review,
            graph_insights=graph_insights,
            literature=self.literature,
            max_tokens=self.max_tokens,
        )

    def _cap_new_hypotheses(self, result: TaskResult) -> None:
        cap = self._limits.max_hypotheses
        if cap is not None and result.hypotheses:
            room = max(0, cap - len(self.state.hypotheses))
            del result.hypotheses[room:]

    async def _fail(self, task: Task, exc: Exception, new: Task | None) -> None:
        kind = classify(exc)
        if kind == FailureKind.LEASE:
            self.bus.emit("task_lost", self.info.id, str(exc), task_id=task.id)
            return
        bug = kind == FailureKind.BUG
        line = describe(exc)
        if bug:
            log.error("task %s (%s) hit a bug", task.id, task.kind.value, exc_info=exc)
        self._release_pair(task.kind, task.payload)
        try:
            with anyio.CancelScope(shield=True):
                stored = await self.db(
                    self.store.fail_task,
                    task.id,
                    self.owner,
                    describe(exc, with_traceback=bug),
                    not bug,  # a bug is not retried: it would fail the same way
                    new,
                    kind != FailureKind.UNREACHABLE,  # the model's absence costs no attempt
                )
            self._store_has_pending |= stored.state == TaskState.FAILED
        except StoreError as store_exc:  # the lease is gone, or the store is: nothing to undo
            log.warning("could not record the failure of task %s: %s", task.id, store_exc)
        self.bus.emit(
            "task_failed",
            self.info.id,
            line,
            task_id=task.id,
            kind=task.kind.value,
            failure=kind.value,
        )
        self._count_failure(kind, f"{line} in {task.kind.value} task {task.id}")

    def _count_failure(self, kind: FailureKind, message: str) -> None:
        reason = self.failures.failed_with(kind, message)
        if reason is not None:
            self._stop_for_fault(reason)

    # --- applying committed results -------------------------------------------------------

    async def _absorb(self, committed: effects.Effects) -> None:
        """Apply committed effects to memory, then what follows from them."""
        applied = effects.apply(self.state, self.bus, committed)
        for _ in applied.matches:
            self._after_match()
        if applied.new_graph_keys:
            await effects.refresh_graph_insights(self.state, applied.new_graph_keys)
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

    # --- background jobs -------------------------------------------------------------------

    async def _every(self, seconds: float, job: Callable[[], Awaitable[None]]) -> None:
        """Run `job` every `seconds`; a store failure is reported and tried again next time."""
        while True:
            await anyio.sleep(seconds)
            try:
                await job()
            except StoreError as exc:
                log.warning("%s failed, will try again: %s", job.__name__, exc)
                self.bus.emit("store_retry", self.info.id, f"{job.__name__.strip('_')}: {exc}")

    async def _keep_leases(self) -> None:
        await self.db(leases.renew, self.store, self.owner, self.lease_seconds)
        taken = await self.db(
            leases.take_back, self.store, self.info.id, self.owner, self.lease_seconds
        )
        if taken:
            self.bus.emit("reclaimed", self.info.id, f"took back {taken} task(s) of a dead owner")
            self._store_has_pending = True
            self.wake.set()

    async def _flush_calls(self) -> None:
        # Batched: one transaction per flush keeps the store off the critical path at high
        # concurrency. At most CALL_FLUSH_SECONDS of provenance rows can be lost to a kill.
        batch = self.calls.take()
        if batch:
            try:
                await self.db(self.store.record_calls, batch)
            except BaseException:  # a busy store, or the run ending while it retries
                self.calls.pending[:0] = batch  # kept for the next flush (the last one at stop)
                raise

    async def _sync(self) -> None:
        """Follow what other processes commit: a worker's results, another terminal's `add`."""
        if not self.plans:
            await self._watch_session()
            return
        finished = await self._finished_elsewhere()
        kinds = {kind for kind, _ in finished.values()}
        reviewed = [
            str(payload["hypothesis_id"])
            for kind, payload in finished.values()
            if kind == TaskKind.REVIEW and payload.get("hypothesis_id")
        ]
        read = await self.db(
            effects.read_since,
            self.store,
            self.info.id,
            self._match_seq if finished else None,
            set(self._planned),
            reviewed,
            TaskKind.META_REVIEW in kinds,
            TaskKind.GRAPH in kinds,
            len(self.state.hypotheses) + self._committing,
        )
        if read.matches:
            self._match_seq = max(self._match_seq, read.matches[-1].match.seq)
        for kind, _ in finished.values():
            self._task_ended(kind)
        await self._absorb(read)
        if self.queue_depth:
            await self._count_stored_calls()

    async def _finished_elsewhere(self) -> dict[str, tuple[TaskKind, dict[str, Any]]]:
        """Tasks this run queued that have ended, wherever they ran."""
        if not self._queued:
            return {}
        states = await self.db(self.store.task_states, list(self._queued))
        ended = (TaskState.DONE, TaskState.DEAD)
        finished = {
            tid: self._queued.pop(tid)
            for tid, st in states.items()
            if st in ended and tid in self._queued  # not claimed back here meanwhile
        }
        for tid in finished:
            self._queued_at.pop(tid, None)
        for tid, (kind, payload) in finished.items():
            self.in_flight.drop(kind, payload)
            if states[tid] == TaskState.DEAD:
                self._release_pair(kind, payload)
        return finished

    async def _sync_for(self, task: Task) -> None:
        """A worker's task may name hypotheses the planner wrote after this worker last synced."""
        ids = payload_hypotheses(task.payload)
        ids += [str(p) for p in task.payload.get("parent_ids") or []]
        if any(hid not in self.state.hypotheses for hid in ids):
            read = await self.db(
                effects.read_since,
                self.store,
                self.info.id,
                None,
                (),
                (),
                False,
                False,
                len(self.state.hypotheses) + self._committing,
            )
            await self._absorb(read)

    async def _watch_session(self) -> None:
        """A worker follows the planner: stop with the session, and count everyone's calls."""
        info = await self.db(self.store.get_session, self.info.id)
        if info.status != SessionStatus.RUNNING:
            self.stop_reason = self.stop_reason or f"the session is {info.status.value}"
        await self._count_stored_calls()

    async def _count_stored_calls(self) -> None:
        stats = await self.db(self.store.call_stats, self.info.id)
        stored = int(stats.get("tokens_in", 0)) + int(stats.get("tokens_out", 0))
        self.budget.calls = max(self.budget.calls, int(stats.get("calls", 0)))
        self.budget.tokens = max(self.budget.tokens, stored)
        self.wake.set()

    def _summary(self, reason: str) -> RunSummary:
        stats = self.store.call_stats(self.info.id)
        return RunSummary(
            session_id=self.info.id,
            stop_reason=reason,
            tasks_done=self._tasks_done,
            tasks_failed=self.failures.failed,
            calls=int(stats.get("calls", 0)),
            tokens_in=int(stats.get("tokens_in", 0)),
            tokens_out=int(stats.get("tokens_out", 0)),
            hypotheses=self.store.count_hypotheses(self.info.id),
            matches=self.store.count_matches(self.info.id),
            elapsed_s=self.budget.elapsed(),
            max_in_flight=self.client.max_in_flight,
            error=self._error,
        )
