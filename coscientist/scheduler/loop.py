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

import random
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager, nullcontext
from functools import partial

import anyio
from anyio.abc import TaskGroup

from coscientist.config import Limits
from coscientist.errors import StoreError
from coscientist.llm.roles import TASK_ROLES
from coscientist.scheduler import commands, effects, leases, method, vectors
from coscientist.scheduler.base import ClientFactory
from coscientist.scheduler.budget import RunSummary
from coscientist.scheduler.execution import TaskExecution
from coscientist.scheduler.following import Following
from coscientist.scheduler.graph_refresh import spawner
from coscientist.scheduler.policy import Snapshot
from coscientist.scheduler.runner import TaskRunner
from coscientist.schemas import ReviewKind, TaskKind, TaskSpec
from coscientist.tournament.convergence import (
    DEFAULT_CONFIDENCE,
    DEFAULT_MIN_GAIN,
    Decision,
    StopRule,
    StopWatch,
)

__all__ = ["ClientFactory", "RunSummary", "Scheduler", "one_blas_thread"]

CALL_FLUSH_SECONDS = 0.25
SYNC_SECONDS = 2.0  # how often a plain run looks for hypotheses other processes added
QUEUE_SYNC_SECONDS = 0.5  # how often a planner with a queue, or a worker, follows the store
IDLE_WAIT_SECONDS = 0.5
QUEUE_GRACE_SECONDS = 2.0  # a planner takes back what it queued only after workers had this long
ID_PREFIX, ID_CHARS = 6, 16  # hypothesis ids: 6 characters of the session's, 10 of a stream
# The meta-review writes the research overview once more when a run ends by its call or token
# budget or by convergence: its two calls (patterns, overview) are held back from max_calls.
FINAL_OVERVIEW_CALLS = 2
FINAL_OVERVIEW_MIN_BUDGET = 30  # smaller budgets keep every call for the tournament
STOP_CHECK_INLINE = 100  # ranked hypotheses; a larger pool's stop check runs in a thread
FINAL_OVERVIEW_AFTER = ("call budget", "token budget", "converged", "nothing left to do")


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


class Scheduler(TaskExecution, Following):
    """The loop itself: dispatch, commands and stop rules. Its state and the applying of
    results are in base.py, running a task in execution.py, background jobs in following.py."""

    # --- the run ---------------------------------------------------------------------

    async def run(self, limits: Limits) -> RunSummary:
        self._limits = limits
        self.budget.restart(limits)
        gain = limits.stop_min_gain
        rule = StopRule(
            confidence=limits.stop_confidence or DEFAULT_CONFIDENCE,
            min_gain=DEFAULT_MIN_GAIN if gain is None else gain,
        )
        self.stopwatch = StopWatch(rule, seed=self.info.seed)
        self._spawn: Callable[[Callable[[], Awaitable[object]]], None] | None = None
        self._stop_checking = False  # a stop check is running in a thread
        self._stop_found: Decision | None = None  # its decision, not applied yet
        big_enough = (limits.max_calls or 0) >= FINAL_OVERVIEW_MIN_BUDGET
        self.budget.held_back = FINAL_OVERVIEW_CALLS if self.plans and big_enough else 0
        self.inbox.attach(self.wake)
        try:
            await self._run()
        finally:
            with anyio.CancelScope(shield=True):
                self.inbox.detach()
                await self.models.aclose()
                await self.state.embedding.aclose()
        reason = self.stop_reason or "stopped"
        summary = await self.db(self._summary, reason)
        self.bus.emit("stop", self.info.id, f"stopped: {reason}", reason=reason)
        return summary

    async def _run(self) -> None:
        # Load or probe the embedder; a failure falls back to hashed, told in one line.
        say = partial(self.bus.emit, "embedding", self.info.id)
        await vectors.prepare(self.state, self.db, say, records=self.plans)
        await self.db(self._load)
        await self._embed_waiting()  # stored vectors of another embedder are made again
        await self.graph.start()
        # Fresh sessions with one seed replay exactly; a resumed one continues from its history.
        self.rng.seed(
            f"{self.info.seed}:{self.info.goal}:{len(self.state.hypotheses)}:{self.state.matches_done}"
        )
        self.runner = TaskRunner(
            self.state, self.info.id, self._id_factory(), review_filter=self.review_filter
        )
        self.bus.emit("run_started", self.info.id, f"run started (owner {self.owner})")
        if self.plans:  # the goal's safety review and the research plan come before any task
            self._obey(self.inbox.drain())
            if self.stop_reason is None and not self.budget.spent():
                self.info = await self.intake.prepare(self.info)
        try:
            with one_blas_thread():
                async with anyio.create_task_group() as tg:
                    tg.start_soon(self._every, self.lease_seconds / 3, self._keep_leases)
                    tg.start_soon(self._every, CALL_FLUSH_SECONDS, self._flush_calls)
                    follows_queue = self.queue_depth or not self.plans
                    sync_every = QUEUE_SYNC_SECONDS if follows_queue else SYNC_SECONDS
                    tg.start_soon(self._every, sync_every, self._sync)
                    tg.start_soon(self._every, vectors.CATCH_UP_SECONDS, self._embed_waiting)
                    if self.concurrency > 1:  # graph refreshes and stop checks run beside the slots
                        self.graph.spawn = self._spawn = spawner(tg)
                    await self._dispatch(tg)
                    tg.cancel_scope.cancel()
                if self.stop_reason in FINAL_OVERVIEW_AFTER and self.plans and not self._error:
                    await self._final_overview()
            self.graph.spawn = self._spawn = None
            await self.graph.finish()  # the series' last point is the graph as the run left it
        finally:
            with anyio.CancelScope(shield=True):
                await self._flush_calls()
                await self.db(self.store.release, self.owner)
                # Tasks of owners that died (a killed worker) do not stay "running".
                await self.db(
                    leases.take_back, self.store, self.info.id, self.owner, self.lease_seconds
                )

    async def _final_overview(self) -> None:
        """One more meta-review, with the research overview of the top as the run leaves it.

        Runs alone on the reserved calls. A call it cannot make within them (a repair) waits
        at the gate: the task is then cancelled, and since its row is written only with its
        result, nothing of it stays behind.
        """
        if not self.state.policy_members:
            return
        self.budget.held_back = 0
        self.budget.closed = False
        if self.budget.spent():
            return
        spec = TaskSpec(kind=TaskKind.META_REVIEW, payload={"final": True}, priority=4.0)
        async with anyio.create_task_group() as tg:
            self._start(tg, spec)
            while self._running:
                if self.budget.blocked:
                    tg.cancel_scope.cancel()
                    break
                await self.wake.wait(IDLE_WAIT_SECONDS)
        self.budget.closed = True

    async def _embed_waiting(self) -> None:
        while await vectors.catch_up(self.state, self.db):
            pass

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
        nodes, edges, merges, self._graph_marks = store.graph_since(sid)
        self.state.load(
            hypotheses=store.list_hypotheses(sid),
            ratings=store.ratings(sid),
            reviews=store.list_reviews(sid),
            matches=store.list_matches(sid),
            meta_review=store.latest_meta_review(sid),
            graph=(nodes, edges),
            merges=merges,
            vectors=store.vectors(sid, self.state.embedding.key),
        )
        self.state.method.observations = store.list_observations(sid)
        self.budget.load(store.call_stats(sid))  # answered calls only: refusals cost nothing
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
                # Tasks in a call held at the gate, or waiting for a model's slot behind one.
                stuck = self.budget.blocked + self.models.waiting
                if self._stop_now or self._running <= stuck:
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
                spec = self._plan(ahead=True)
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
                case commands.SetPlan(plan=plan):
                    self.info = self.info.model_copy(update={"plan": plan})
                case commands.AddObservation(observation=observation):
                    self.state.method.observations.append(observation)
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
        """The stop rule of tournament/convergence.py; convergence_window, when set, also asks
        for that many matches without a change in the top.

        A large pool's check (the judge fit: a dense posterior, about 0.3 s at 400
        hypotheses) runs in a thread on copies of the ratings and verdicts, so the slots
        keep being refilled meanwhile; its decision applies when it comes back."""
        window = self._limits.convergence_window
        if window is not None and self._matches_since_top_change < window:
            return False
        found, self._stop_found = self._stop_found, None
        if found is not None:
            return self._decided(found)
        if self._stop_checking:
            return False
        ranked, done = len(self.state.policy_members), self.state.matches_done
        complete = not self._snapshot().can_create()
        if not self.stopwatch.due(ranked=ranked, matches_done=done, pool_complete=complete):
            return False
        check = partial(
            self.stopwatch.check, ranked=ranked, matches_done=done, pool_complete=complete
        )
        if self._spawn is None or ranked < STOP_CHECK_INLINE or not complete:
            return self._decided(
                check(
                    self.state.ranked_ratings,
                    verdicts=lambda: self.state.verdicts,
                    parents=self.state.lineage,
                )
            )
        rows, verdicts = self.state.ranked_ratings(), list(self.state.verdicts)
        lineage = self.state.lineage()
        self._stop_checking = True

        async def in_thread() -> None:
            try:
                self._stop_found = await anyio.to_thread.run_sync(
                    partial(check, lambda: rows, verdicts=lambda: verdicts, parents=lambda: lineage)
                )
            finally:
                self._stop_checking = False
                self.wake.set()

        self._spawn(in_thread)
        return False

    def _decided(self, decision: Decision) -> bool:
        if decision.stop:
            self.bus.emit("converged", self.info.id, decision.reason)
        return decision.stop

    # --- choosing work -----------------------------------------------------------------

    def _deep_due(self) -> list[tuple[str, frozenset[ReviewKind]]]:
        state = self.state
        pool = len(state.policy_members)
        if pool < self.policy.min_pool:
            return []  # while the pool fills, every hypothesis is "top": wait for a real top
        top = state.top_ids(method.debate_k(pool, self.policy.top_k))
        return method.deep_reviews_due(
            top, state.reviews, state.ratings, literature=self.literature is not None
        )

    def _snapshot(self) -> Snapshot:
        state, busy = self.state, self.in_flight.busy
        memory = state.method
        top = state.top()
        top_ids = [h.id for h in top]
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
            calls_left=(
                None
                if self._limits.max_calls is None
                else max(0, self._limits.max_calls - self.budget.calls)
            ),
            top_ids=[h.id for h in top],
            top_origins=[h.origin for h in top],
            deep_due=[d for d in self._deep_due() if not busy(d[0])],
            tournament_due=[
                h for h in method.tournament_reviews_due(top_ids, memory) if not busy(h)
            ],
            observations=len(memory.observations),
            debates_done=memory.debates,
            matches_since_top_change=self._matches_since_top_change,
            literature=self.literature is not None,
            graph_gap=bool(state.graph_view.gaps(self._last_top)),
            busy_ids=self.in_flight.busy_ids(),
        )

    def _full_kinds(self) -> frozenset[TaskKind]:
        """Task kinds whose model (a model per role) has a task in flight for every slot."""
        if len(self.models.clients) < 2 and not self.models.default.role_limit_count:
            return frozenset()  # one model: the slots are its slots
        kinds_of: dict[int, list[TaskKind]] = {}
        for kind in TaskKind:
            client = self.models.for_role(TASK_ROLES[kind.value])
            kinds_of.setdefault(id(client), []).append(kind)
        full: set[TaskKind] = set()
        for client in self.models.clients:
            kinds = kinds_of.get(id(client), [])
            if sum(self.in_flight.kinds[k] for k in kinds) >= client.concurrency:
                full.update(kinds)
            for kind in kinds:  # a role with a limit of its own on a shared model
                limit = client.role_limit(TASK_ROLES[kind.value])
                if limit is not None and self.in_flight.kinds[kind] >= limit:
                    full.add(kind)
        return frozenset(full)

    def _plan(self, *, ahead: bool = False) -> TaskSpec | None:
        """The next task; planned `ahead` for workers, whose models' slots are their own."""
        snapshot = self._snapshot()
        if not ahead:
            snapshot.full = self._full_kinds()
        return self.policy.next(snapshot, self.state)

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
            max_in_flight=self.models.max_in_flight,
            error=self._error,
        )
