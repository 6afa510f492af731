"""Background jobs of a running loop: leases, provenance, and what other processes commit.

Each job runs on its own period; a store failure in one is reported as an event
and tried again at the next period, never ending the run. A planner follows the
tasks it queued for workers and the scientist's additions from other terminals;
a worker follows its planner's session (stopping with it) and everyone's calls.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from coscientist.errors import StoreError
from coscientist.scheduler import effects, leases
from coscientist.scheduler.base import SchedulerBase, log
from coscientist.schemas import SessionStatus, TaskKind, TaskState


class Following(SchedulerBase):
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
        await self._follow_session()
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
            self._graph_marks if finished else None,  # every kind of task adds to the graph
            len(self.state.hypotheses) + self._committing,
        )
        if read.graph_marks is not None:
            self._graph_marks = read.graph_marks
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

    async def _follow_session(self) -> None:
        """The plan, preferences and observations another process gave (`coscientist plan`,
        `coscientist observe`, a TUI browsing the store): tasks starting from now on use them."""
        info = await self.db(self.store.get_session, self.info.id)
        changed = {
            name: getattr(info, name)
            for name in ("goal", "preferences", "plan")
            if getattr(info, name) != getattr(self.info, name)
        }
        if changed:
            self.info = self.info.model_copy(update=changed)
        memory = self.state.method
        observations = await self.db(self.store.list_observations, self.info.id)
        if len(observations) != len(memory.observations):
            memory.observations = observations

    async def _watch_session(self) -> None:
        """A worker follows the planner: stop with the session, and count everyone's calls."""
        info = await self.db(self.store.get_session, self.info.id)
        if info.status != SessionStatus.RUNNING:
            self.stop_reason = self.stop_reason or f"the session is {info.status.value}"
        self.info = self.info.model_copy(update={"plan": info.plan, "goal": info.goal})
        await self._count_stored_calls()

    async def _count_stored_calls(self) -> None:
        self.budget.catch_up(await self.db(self.store.call_stats, self.info.id))
        self.wake.set()
