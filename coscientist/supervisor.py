"""The asynchronous scheduler: keeps `concurrency` tasks in flight until a stop rule fires.

Not an LLM. Each time a worker slot frees up it claims a pending task from the
store or plans a new one (planner.py), runs it, and commits the result and the
task's state change in one transaction. Leases name this process; a killed
run's tasks go back to pending as soon as the next run sees the owner is dead.
"""

from __future__ import annotations

import os
import random
import socket
import uuid
from collections import Counter
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import anyio
from anyio.abc import TaskGroup

from agents.context import AgentContext, LiteratureSearch
from coscientist import queue_sync
from coscientist.budget import Budget
from coscientist.config import Limits
from coscientist.errors import LeaseLostError
from coscientist.events import EventBus
from coscientist.llm.base import CallContext
from coscientist.llm.client import ModelClient
from coscientist.mirror import mirror_result
from coscientist.planner import Planner, Snapshot
from coscientist.runtime import RunSummary, make_owner_id, one_blas_thread
from coscientist.schemas import (
    CallRecord,
    MatchMode,
    SessionInfo,
    SessionStatus,
    Task,
    TaskKind,
    TaskResult,
    TaskSpec,
    TaskState,
)
from coscientist.state import SessionState
from coscientist.store import Applied, Store, owner_is_dead
from coscientist.tasks import TaskRunner

R = TypeVar("R")

DEFAULT_CONVERGENCE_WINDOW = 60
CALL_FLUSH_SECONDS = 0.25
SYNC_SECONDS = 2.0
QUEUE_SYNC_SECONDS = 0.5  # how often the planner looks for its queued tasks finished elsewhere
DEBATE_MIN_POOL = 10  # ranked hypotheses (twice the top-k) before top pairs are debated
MIN_MATCHES_FOR_CONVERGENCE = 3


class Supervisor:
    def __init__(
        self,
        *,
        store: Store,
        client: ModelClient,
        info: SessionInfo,
        bus: EventBus,
        concurrency: int,
        literature: LiteratureSearch | None = None,
        lease_seconds: float = 60.0,
        max_tokens: int = 512,
        review_filter: bool = True,
        queue_depth: int = 0,
        plan: bool = True,
        idle_exit: float | None = None,
    ) -> None:
        self.store = store
        self.client = client
        self.info = info
        self.bus = bus
        self.concurrency = max(1, concurrency)
        self.literature = literature
        self.lease_seconds = lease_seconds
        self.max_tokens = max_tokens
        self.review_filter = review_filter
        self.queue_depth = max(0, queue_depth) if plan else 0
        self.plans = plan  # False: a worker, which only claims what a planner queued
        self.idle_exit = idle_exit
        self.owner = make_owner_id()
        self.rng = random.Random(f"{info.seed}:{info.goal}")
        self.state = SessionState(rng=self.rng)
        self.planner = Planner(rng=self.rng)
        self._db_limiter = anyio.CapacityLimiter(1 if store.dialect == "sqlite" else 8)
        self._wake = anyio.Event()
        self._in_flight: Counter[TaskKind] = Counter()
        self._busy_ids: Counter[str] = Counter()  # hypotheses under review or in a match
        self._running = 0
        self._stop: str | None = None
        self._stop_now = False
        self._paused = False
        self._blocked_in_gate = 0
        self._store_has_pending = True
        self._tasks_done = 0
        self._tasks_started = 0
        self._pending_calls: list[CallRecord] = []
        self._committing: set[str] = set()  # ids of hypotheses whose task is committing
        self._tasks_failed = 0
        self._tasks_since_graph = 0
        self._matches_since_top_change = 0
        self._last_top: list[str] = []
        self._limits = Limits()
        self.budget = Budget(self._limits)
        # Tasks this run planned and queued for workers, counted as in flight until they end.
        self._queued: dict[str, tuple[TaskKind, dict[str, Any]]] = {}
        self._match_seq = 0  # matches up to this seq are mirrored in memory
        self._own_matches: set[str] = set()  # committed here, past _match_seq
        self._executing: set[str] = set()  # ids of tasks this process is running

    # --- public control ----------------------------------------------------------

    def pause(self) -> None:
        self._paused = True
        self.bus.emit("paused", self.info.id, "paused by the scientist")

    def resume(self) -> None:
        self._paused = False
        self._poke()
        self.bus.emit("resumed", self.info.id, "resumed")

    def stop(self, reason: str = "stopped by the scientist") -> None:
        self._stop = self._stop or reason
        self._poke()

    def refine_goal(self, goal: str) -> None:
        self.info = self.info.model_copy(update={"goal": goal})

    def notify_hypothesis(self, hid: str) -> None:
        """The scientist added a hypothesis to the state: wake the planner to review it now."""
        self._poke()

    # --- the run -------------------------------------------------------------------

    async def run(self, limits: Limits) -> RunSummary:
        self._limits = limits
        self.budget = Budget(limits)
        await self._db(self._load)
        # Fresh sessions with one seed replay exactly; a resumed one continues from its history.
        self.rng.seed(
            f"{self.info.seed}:{self.info.goal}:{len(self.state.hypotheses)}:{self.state.matches_done}"
        )
        self._new_id = self._id_factory()
        self.runner = TaskRunner(
            self.state, self.info.id, self._new_id, review_filter=self.review_filter
        )
        self.client.set_hooks(recorder=self._record, gate=self._gate)
        self.bus.emit("run_started", self.info.id, f"run started (owner {self.owner})")
        try:
            with one_blas_thread():
                async with anyio.create_task_group() as tg:
                    tg.start_soon(self._keep_leases)
                    tg.start_soon(self._keep_flushing)
                    tg.start_soon(self._keep_syncing)
                    if self.queue_depth or not self.plans:
                        tg.start_soon(self._keep_syncing_queue)
                    await self._dispatch(tg)
                    tg.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await self._flush_calls()
                await self._db(self.store.release, self.owner)
        reason = self._stop or "stopped"
        summary = await self._db(self._summary, reason)
        self.bus.emit("stop", self.info.id, f"stopped: {reason}", reason=reason)
        return summary

    def _id_factory(self) -> Callable[[], str]:
        # Ids come from the seed so that one seed gives one session, ids included.
        ids = random.Random(f"{self.info.seed}:{len(self.state.hypotheses)}:{self.info.goal}")
        return lambda: uuid.UUID(int=ids.getrandbits(128), version=4).hex[:12]

    def _load(self) -> None:
        store, sid = self.store, self.info.id
        store.register_owner(self.owner, os.getpid(), socket.gethostname())
        reclaimed = store.reclaim(sid, lambda owner: owner_is_dead(store, owner))
        if reclaimed:
            self.bus.emit("reclaimed", sid, f"took back {reclaimed} task(s) of a stopped run")
        self.state.load(
            hypotheses=store.list_hypotheses(sid),
            ratings=store.ratings(sid),
            reviews=store.list_reviews(sid),
            matches=store.list_matches(sid),
            meta_review=store.latest_meta_review(sid),
            graph=store.graph(sid),
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
            self._check_limits()
            if self._stop is not None:
                if self._stop_now or self._running == self._blocked_in_gate:
                    return
            elif not self._paused and self._running < self.concurrency:
                if self._store_has_pending or not self.plans:
                    # Work left in the store (a resumed run, retries) goes first.
                    claimed = await self._db(
                        self.store.claim,
                        self.info.id,
                        self.owner,
                        self.concurrency - self._running,
                        self.lease_seconds,
                    )
                    for task in claimed:
                        self._unqueue(task.id)  # one this run queued: counted once, as running
                        self._start(tg, task, task.kind, task.payload)
                    self._store_has_pending = bool(claimed)
                    if claimed:
                        continue
                spec = self._plan() if self.plans else None
                if spec is not None:
                    idle_rounds = 0
                    # Planned synchronously, inserted by the task itself: the loop never
                    # waits for the store before filling the next slot.
                    self._start(tg, spec, spec.kind, spec.payload)
                    continue
                if not self.plans:
                    idle_since = self._idle(idle_since)
                elif self._running == 0 and not self._queued:
                    idle_rounds += 1
                    if idle_rounds >= 3:
                        self._stop = "nothing left to do"
                        continue
            elif not self._paused and len(self._queued) < self.queue_depth:
                # Every slot busy: plan ahead for the workers, up to queue_depth tasks.
                spec = self._plan()
                if spec is not None:
                    await self._enqueue(spec)
                    continue
            self._wake = anyio.Event()
            with anyio.move_on_after(0.5):
                await self._wake.wait()

    def _idle(self, since: float | None) -> float | None:
        """A worker stops once nothing was claimable for idle_exit seconds (None: never)."""
        if self._running:
            return None
        now = anyio.current_time()
        if since is None:
            return now
        if self.idle_exit is not None and now - since >= self.idle_exit:
            self._stop = "no task to claim"
        return since

    async def _enqueue(self, spec: TaskSpec) -> None:
        self._hold(spec.kind, spec.payload)
        try:
            (task,) = await self._db(self.store.enqueue, self.info.id, [spec])
        except Exception as exc:
            self._drop(spec.kind, spec.payload)
            self._release_pair(spec.kind, spec.payload)
            self.bus.emit("task_failed", self.info.id, f"could not queue {spec.kind.value}: {exc}")
            return
        self._queued[task.id] = (spec.kind, spec.payload)
        self._store_has_pending = True

    def _unqueue(self, task_id: str) -> None:
        entry = self._queued.pop(task_id, None)
        if entry is not None:
            self._drop(*entry)

    def _poke(self) -> None:
        self._wake.set()

    def _check_limits(self) -> None:
        if self._stop is not None:
            return
        if self.budget.out_of_time():
            self._stop, self._stop_now = "time limit", True
        else:
            converged = self.plans and self._converged()  # a worker leaves that to the planner
            self._stop = self.budget.spent() or ("converged" if converged else None)

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

    async def _gate(self) -> None:
        """Awaited before every model call: budgets are enforced by waiting, never by failing."""
        if self.budget.spent() or self._stop is not None:
            self._blocked_in_gate += 1
            self._check_limits()
            self._poke()
            try:
                await anyio.sleep_forever()
            finally:
                self._blocked_in_gate -= 1
        self.budget.calls += 1

    async def _record(self, record: CallRecord) -> None:
        # Batched: one transaction per flush instead of one per call keeps the store off the
        # critical path at high concurrency. At most CALL_FLUSH_SECONDS of rows can be lost to a kill.
        self.budget.tokens += record.tokens_in + record.tokens_out
        self._pending_calls.append(record)

    async def _flush_calls(self) -> None:
        if self._pending_calls:
            batch, self._pending_calls = self._pending_calls, []
            await self._db(self.store.record_calls, batch)

    async def _keep_flushing(self) -> None:
        while True:
            await anyio.sleep(CALL_FLUSH_SECONDS)
            await self._flush_calls()

    # --- choosing work ----------------------------------------------------------------

    def _snapshot(self) -> Snapshot:
        state = self.state
        top = state.top()
        return Snapshot(
            n_hypotheses=len(state.hypotheses),
            n_rankable=len(state.policy_members),
            unreviewed=[h for h in state.unreviewed() if self._busy_ids[h] == 0],
            in_flight=self._in_flight.copy(),
            matches_done=state.matches_done,
            matches_since_meta=state.matches_done - state.matches_at_meta,
            tasks_since_graph=self._tasks_since_graph,
            has_meta_review=state.meta_review is not None,
            max_hypotheses=self._limits.max_hypotheses,
            top_ids=[h.id for h in top],
            top_origins=[h.origin for h in top],
            needs_deep_review=[h for h in state.deep_review_candidates() if self._busy_ids[h] == 0],
            matches_since_top_change=self._matches_since_top_change,
            literature=self.literature is not None,
        )

    def _plan(self) -> TaskSpec | None:
        for _ in range(3):
            spec = self.planner.next(self._snapshot())
            if spec is None:
                return None
            if spec.kind != TaskKind.MATCH:
                if spec.kind == TaskKind.EVOLVE:
                    parents = self.runner.choose_parents(str(spec.payload["strategy"]))
                    spec.payload["parent_ids"] = [p.id for p in parents]
                return spec
            pair = self._choose_pair()
            if pair is not None:
                first, second = pair
                # Debates (several calls) separate the best of a large pool; while the pool is
                # small every hypothesis is "top", and single comparisons rank it faster.
                top = set(self.state.top_ids())
                large = len(self.state.policy_members) >= DEBATE_MIN_POOL
                both_top = first in top and second in top
                mode = MatchMode.DEBATE if large and both_top else MatchMode.SINGLE
                spec.payload.update(first_id=first, second_id=second, mode=mode.value)
                return spec
        return None

    def _choose_pair(self) -> tuple[str, str] | None:
        policy = self.state.policy
        # Keep a hypothesis out of two matches at once only while the pool is large enough.
        crowded = len(self.state.policy_members) < 4 * (self._in_flight[TaskKind.MATCH] + 1)
        exclude = () if crowded else list(self._busy_ids)
        pair = policy.choose(exclude=exclude)
        if pair is None:
            return None
        first, second = pair  # already in the order to show it
        policy.record(first, second)
        return first, second

    # --- running a task ------------------------------------------------------------------

    def _start(
        self, tg: TaskGroup, work: Task | TaskSpec, kind: TaskKind, payload: dict[str, Any]
    ) -> None:
        self._tasks_started += 1
        self._running += 1
        self._hold(kind, payload)
        tg.start_soon(self._run_task, work)

    def _hold(self, kind: TaskKind, payload: dict[str, Any]) -> None:
        """Count a task as in flight, here or queued, so the planner does not plan it twice."""
        self._in_flight[kind] += 1
        for hid in self._payload_hypotheses(payload):
            self._busy_ids[hid] += 1

    def _drop(self, kind: TaskKind, payload: dict[str, Any]) -> None:
        self._in_flight[kind] -= 1
        for hid in self._payload_hypotheses(payload):
            self._busy_ids[hid] -= 1
            if self._busy_ids[hid] <= 0:
                del self._busy_ids[hid]  # only busy ids stay: exclusion lists stay short

    def _release_pair(self, kind: TaskKind, payload: dict[str, Any]) -> None:
        if kind == TaskKind.MATCH:
            self.state.policy.release(str(payload.get("first_id")), str(payload.get("second_id")))

    @staticmethod
    def _payload_hypotheses(payload: dict[str, Any]) -> list[str]:
        keys = ("hypothesis_id", "first_id", "second_id")
        return [str(payload[k]) for k in keys if payload.get(k)]

    def _context(self, task: Task) -> AgentContext:
        state = self.state
        graph_insights = state.graph_insights if task.kind == TaskKind.GENERATE else []
        feedback = state.meta_review
        return AgentContext(
            llm=self.client,
            goal=self.info.goal,
            call=CallContext(role=task.kind.value, session_id=self.info.id, task_id=task.id),
            rng=random.Random(f"{self.info.seed}:{self._tasks_started}:{task.attempts}"),
            preferences=self.info.preferences,
            feedback=feedback,
            graph_insights=graph_insights,
            literature=self.literature,
            max_tokens=self.max_tokens,
        )

    async def _run_task(self, work: Task | TaskSpec) -> None:
        kind, payload = work.kind, work.payload
        try:
            if isinstance(work, Task):
                task = work
                if not self.plans:
                    await self._sync_for(task)
            else:
                task = await self._db(
                    self.store.start_task, self.info.id, work, self.owner, self.lease_seconds
                )
            await self._execute(task)
        except Exception as exc:  # the store refused the new task: give the slot back
            self.bus.emit("task_failed", self.info.id, f"could not start {kind.value}: {exc}")
            self._tasks_failed += 1
        finally:
            self._running -= 1
            self._drop(kind, payload)
            self._poke()

    async def _execute(self, task: Task) -> None:
        self.bus.emit(
            "task_started", self.info.id, task.kind.value, task_id=task.id, kind=task.kind.value
        )
        self._executing.add(task.id)
        try:
            result = await self.runner.run(task, self._context(task))
            self._cap_new_hypotheses(result)
            new_ids = {h.id for h in result.hypotheses}
            self._committing |= new_ids
            try:
                applied = await self._db(self.store.complete_task, task.id, self.owner, result)
            finally:
                self._committing -= new_ids
        except LeaseLostError as exc:
            self.bus.emit("task_lost", self.info.id, str(exc), task_id=task.id)
        except Exception as exc:  # any agent, model or store failure: retry, never orphan
            await self._fail(task, exc)
        else:
            self._apply(task, result, applied)
        finally:
            self._executing.discard(task.id)
        notice = getattr(self.literature, "offline_notice", None)
        message = notice() if notice is not None else None
        if message:  # once per run: the literature services cannot be reached
            self.bus.emit("literature", self.info.id, str(message))

    async def _fail(self, task: Task, exc: Exception) -> None:
        message = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
        self._tasks_failed += 1
        self._release_pair(task.kind, task.payload)
        try:
            with anyio.CancelScope(shield=True):
                failed = await self._db(self.store.fail_task, task.id, self.owner, message)
            self._store_has_pending = self._store_has_pending or failed.state.value == "failed"
        except LeaseLostError:
            pass
        self.bus.emit("task_failed", self.info.id, message, task_id=task.id, kind=task.kind.value)

    def _cap_new_hypotheses(self, result: TaskResult) -> None:
        cap = self._limits.max_hypotheses
        if cap is not None and result.hypotheses:
            room = max(0, cap - len(self.state.hypotheses))
            del result.hypotheses[room:]

    def _apply(self, task: Task, result: TaskResult, applied: Applied) -> None:
        """Mirror a committed result in memory and tell the displays."""
        self._tasks_done += 1
        self._tasks_since_graph = 0 if task.kind == TaskKind.GRAPH else self._tasks_since_graph + 1
        mirrored = mirror_result(self.state, self.bus, task, result, applied)
        for match in mirrored.matches:
            if self.queue_depth and match.seq > self._match_seq:
                self._own_matches.add(match.id)  # the queue sync must not apply it again
            self._after_match()
        if result.follow_ups:
            self._store_has_pending = True
        self.bus.emit(
            "task_done", self.info.id, task.kind.value, task_id=task.id, kind=task.kind.value
        )

    def _after_match(self) -> None:
        top = self.state.top_ids()
        if top == self._last_top:
            self._matches_since_top_change += 1
        else:
            self._matches_since_top_change = 0
            self._last_top = list(top)

    # --- plumbing ------------------------------------------------------------------------

    async def _keep_leases(self) -> None:
        while True:
            await anyio.sleep(self.lease_seconds / 3)
            await self._db(self.store.renew_leases, self.owner, self.lease_seconds)
            await self._db(self.store.heartbeat, self.owner)

    async def _keep_syncing(self) -> None:
        """Pick up hypotheses another process added (`coscientist add` while this run goes on)."""
        while True:
            await anyio.sleep(SYNC_SECONDS)
            await self._sync_hypotheses()

    async def _sync_hypotheses(self) -> None:
        count = await self._db(self.store.count_hypotheses, self.info.id)
        if count <= len(self.state.hypotheses) + len(self._committing):
            return  # results being committed right now account for the difference
        for h in await self._db(self.store.list_hypotheses, self.info.id):
            if h.id not in self.state.hypotheses and h.id not in self._committing:
                self.state.add_hypothesis(h)
                self.bus.emit("hypothesis", self.info.id, h.title, id=h.id, origin=h.origin)
        self._poke()

    async def _keep_syncing_queue(self) -> None:
        """Planner: follow the tasks it queued. Worker: follow the session. Both: the calls."""
        while True:
            await anyio.sleep(QUEUE_SYNC_SECONDS)
            if not self.plans:
                await self._watch_session()
            elif self._queued:
                await self._sync_queue()
                await self._count_stored_calls()

    async def _sync_queue(self) -> None:
        states = await self._db(self.store.task_states, list(self._queued))
        ended = (TaskState.DONE, TaskState.DEAD)
        finished = {
            tid: self._queued.pop(tid)
            for tid, st in states.items()
            if st in ended and tid in self._queued  # not claimed back here meanwhile
        }
        if not finished:
            return
        for tid, (kind, payload) in finished.items():
            self._drop(kind, payload)
            if states[tid] == TaskState.DEAD:
                self._release_pair(kind, payload)
            self._tasks_since_graph = 0 if kind == TaskKind.GRAPH else self._tasks_since_graph + 1
        await self._sync_hypotheses()
        effects = await self._db(
            queue_sync.read, self.store, self.info.id, self._match_seq, finished
        )
        if effects.matches:
            self._match_seq = max(self._match_seq, effects.matches[-1].seq)
        applied = queue_sync.mirror(
            self.state,
            effects,
            planned=set(finished) | set(self._queued),
            skip_tasks=self._executing,
            skip_matches=self._own_matches,
        )
        for _ in applied:
            self._after_match()
        self._poke()

    async def _sync_for(self, task: Task) -> None:
        """A worker's task may name hypotheses the planner wrote after this worker last synced."""
        ids = self._payload_hypotheses(task.payload)
        ids += [str(p) for p in task.payload.get("parent_ids") or []]
        if any(hid not in self.state.hypotheses for hid in ids):
            await self._sync_hypotheses()

    async def _watch_session(self) -> None:
        """A worker follows the planner: stop with the session, and count everyone's calls."""
        info = await self._db(self.store.get_session, self.info.id)
        if info.status != SessionStatus.RUNNING:
            self.stop(f"the session is {info.status.value}")
        await self._count_stored_calls()

    async def _count_stored_calls(self) -> None:
        stats = await self._db(self.store.call_stats, self.info.id)
        stored = int(stats.get("tokens_in", 0)) + int(stats.get("tokens_out", 0))
        self.budget.calls = max(self.budget.calls, int(stats.get("calls", 0)))
        self.budget.tokens = max(self.budget.tokens, stored)
        self._check_limits()
        self._poke()

    async def _db(self, fn: Callable[..., R], *args: Any) -> R:
        return await anyio.to_thread.run_sync(partial(fn, *args), limiter=self._db_limiter)

    def _summary(self, reason: str) -> RunSummary:
        stats = self.store.call_stats(self.info.id)
        return RunSummary(
            session_id=self.info.id,
            stop_reason=reason,
            tasks_done=self._tasks_done,
            tasks_failed=self._tasks_failed,
            calls=int(stats.get("calls", 0)),
            tokens_in=int(stats.get("tokens_in", 0)),
            tokens_out=int(stats.get("tokens_out", 0)),
            hypotheses=self.store.count_hypotheses(self.info.id),
            matches=self.store.count_matches(self.info.id),
            elapsed_s=self.budget.elapsed(),
            max_in_flight=self.client.max_in_flight,
        )


__all__ = ["RunSummary", "Supervisor"]
