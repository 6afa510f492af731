"""The Store's task queue: enqueue, lease, complete or fail, reclaim, count."""

from __future__ import annotations

from collections.abc import Callable

from coscientist.schemas import Task, TaskKind, TaskResult, TaskSpec, TaskState, utcnow
from coscientist.store import content, queue
from coscientist.store.apply import Applied, complete
from coscientist.store.transactions import Transactions


class TaskMethods(Transactions):
    """Part of the Store (store/repository.py)."""

    # --- tasks ------------------------------------------------------------------

    def enqueue(self, session_id: str, specs: list[TaskSpec]) -> list[Task]:
        with self._write() as conn:
            content.require_session(conn, session_id)
            return queue.insert_tasks(conn, session_id, specs)

    @staticmethod
    def running_task(session_id: str, spec: TaskSpec, owner: str, lease_seconds: float) -> Task:
        """A task leased by `owner` whose row complete_task or fail_task writes (`new=`)."""
        return queue.running_task(session_id, spec, owner, lease_seconds)

    def claim(
        self,
        session_id: str | None,
        owner: str,
        limit: int = 1,
        lease_seconds: float = 60,
        kinds: set[TaskKind] | None = None,
    ) -> list[Task]:
        """Lease up to `limit` tasks (None: from any RUNNING session), best first."""
        with self._write() as conn:
            return queue.claim(conn, session_id, owner, limit, lease_seconds, kinds)

    def renew_leases(self, owner: str, lease_seconds: float) -> int:
        with self._write() as conn:
            return queue.renew(conn, owner, lease_seconds)

    def complete_task(
        self, task_id: str, owner: str, result: TaskResult, new: Task | None = None
    ) -> Applied:
        """Apply a result and mark the task done, atomically; LeaseLostError if not `owner`'s.

        `new`: a task started in memory (`running_task`): its row is written here, with its
        result, so a task costs one transaction."""
        with self._write() as conn:
            return complete(conn, task_id, owner, result, new)

    def fail_task(
        self,
        task_id: str,
        owner: str,
        error: str,
        retry: bool = True,
        new: Task | None = None,
        counted: bool = True,
    ) -> Task:
        """Count a failed attempt: FAILED (claimable again) or, out of attempts, DEAD.

        `counted=False` (an unreachable model): no attempt is used up."""
        with self._write() as conn:
            if new is not None:
                queue.insert_row(conn, new)
            return queue.fail(conn, task_id, owner, error, retry, counted)

    def release(self, owner: str) -> int:
        """Hand back `owner`'s running tasks without counting an attempt (clean stop)."""
        with self._write() as conn:
            return queue.release(conn, owner)

    def reclaim(self, session_id: str | None, is_dead: Callable[[str], bool]) -> int:
        """Running tasks with an expired lease or a dead owner go back to pending."""
        now = utcnow()
        with self._read() as conn:
            owners = queue.running_owners(conn, session_id)
        dead = {owner for owner in owners if is_dead(owner)}
        with self._write() as conn:
            return queue.reclaim(conn, session_id, dead, now)

    def get_task(self, task_id: str) -> Task:
        with self._read() as conn:
            return queue.get(conn, task_id)

    def task_states(self, task_ids: list[str]) -> dict[str, TaskState]:
        """The state of each task that exists, by id; unknown ids are left out."""
        with self._read() as conn:
            return queue.states(conn, list(task_ids))

    def list_tasks(
        self,
        session_id: str,
        states: set[TaskState] | None = None,
        kinds: set[TaskKind] | None = None,
    ) -> list[Task]:
        """Oldest first."""
        with self._read() as conn:
            return queue.list_tasks(conn, session_id, states, kinds)

    def task_counts(self, session_id: str) -> dict[str, dict[str, int]]:
        """Nested {kind: {state: count}}, only non-zero counts, e.g. counts["review"]["pending"]."""
        with self._read() as conn:
            return queue.counts(conn, session_id)
