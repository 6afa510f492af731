"""Running a task: start it, run it through the runner, commit it, apply it, or fail it.

A planned task starts in memory and its row is written with its result; a claimed
one (a retry, a resumed run, a worker's) has its row already. After the commit the
result reaches memory through effects.py; a failure is classified (failures.py):
retried, counted toward stopping the run, or stored with its traceback.
"""

from __future__ import annotations

import random

import anyio
from anyio.abc import TaskGroup

from agents.context import AgentContext
from coscientist.errors import StoreError
from coscientist.llm.base import CallContext
from coscientist.llm.client import ModelClient
from coscientist.llm.roles import TASK_ROLES
from coscientist.scheduler import effects
from coscientist.scheduler.base import SchedulerBase, log
from coscientist.scheduler.failures import FailureKind, classify, describe
from coscientist.scheduler.slots import payload_hypotheses
from coscientist.schemas import Task, TaskKind, TaskResult, TaskSpec, TaskState


class TaskExecution(SchedulerBase):
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
            llm=self.models.for_role(TASK_ROLES[task.kind.value]),
            goal=self.info.goal,
            call=CallContext(role=task.kind.value, session_id=self.info.id, task_id=task.id),
            rng=random.Random(f"{self.info.seed}:{self._tasks_started}:{task.attempts}"),
            preferences=self.info.preferences,
            plan=self.info.plan,  # as it is now: a changed plan applies from the next task on
            feedback=state.meta_review,
            graph_insights=graph_insights,
            literature=self.literature,
            max_tokens=self.max_tokens,
            second_judge=self._second_judge() if task.kind == TaskKind.MATCH else None,
        )

    def _second_judge(self) -> ModelClient | None:
        """The audit role's client when it was given a model, other than the judge's (the
        same model would mostly repeat itself); None otherwise."""
        audit = self.models.own("audit")
        return None if audit is None or audit is self.models.for_role("ranking") else audit

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
                self._graph_marks,  # and the planner's concepts, so merges find them
                len(self.state.hypotheses) + self._committing,
            )
            if read.graph_marks is not None:
                self._graph_marks = read.graph_marks
            await self._absorb(read)
