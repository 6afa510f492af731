"""The task queue: tasks are rows, claimed under a lease by an owner process.

States: pending -> running (leased) -> done, or failed (claimable again while
attempts < max_attempts) -> ... -> dead. A running task whose owner vanished
goes back to pending through release (clean stop) or reclaim (crash).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Select, and_, bindparam, func, or_, select, update
from sqlalchemy.engine import RowMapping

from coscientist.errors import LeaseLostError, NotFoundError
from coscientist.schemas import SessionStatus, Task, TaskKind, TaskSpec, TaskState, new_id, utcnow
from coscientist.store import rows
from coscientist.store.tables import sessions, tasks

MAX_ERROR_CHARS = 4000
_ORDER = (tasks.c.priority.desc(), tasks.c.created_at, tasks.c.id)
_INSERT = tasks.insert()


def _values(items: Iterable[Any]) -> list[str]:
    return sorted(str(i) for i in items)


def insert_tasks(conn: Connection, session_id: str, specs: list[TaskSpec]) -> list[Task]:
    """New pending tasks; created_at grows by a microsecond per spec to keep FIFO order."""
    if not specs:
        return []
    now = utcnow()
    new = [
        Task(
            **spec.model_dump(),
            id=new_id(),
            session_id=session_id,
            created_at=now + timedelta(microseconds=i),
        )
        for i, spec in enumerate(specs)
    ]
    conn.execute(_INSERT, [rows.task_row(t) for t in new])
    return new


def running_task(session_id: str, spec: TaskSpec, owner: str, lease_seconds: float) -> Task:
    """A new task leased by `owner`, not yet written: its row is inserted with its result
    (`insert_row` inside complete or fail), one transaction per task instead of two."""
    now = utcnow()
    return Task(
        **spec.model_dump(),
        id=new_id(),
        session_id=session_id,
        state=TaskState.RUNNING,
        lease_owner=owner,
        lease_expires=now + timedelta(seconds=lease_seconds),
        created_at=now,
    )


def insert_row(conn: Connection, task: Task) -> None:
    conn.execute(_INSERT, [rows.task_row(task)])


@functools.cache
def _claim_select(scoped: bool, by_kind: bool) -> Select[Any]:
    """The candidate query, built once per shape (statement building is the slow part)."""
    # The IN lets the (session_id, state, ...) index skip done and dead tasks.
    claimable = and_(
        tasks.c.state.in_([TaskState.PENDING.value, TaskState.FAILED.value]),
        or_(tasks.c.state == TaskState.PENDING.value, tasks.c.attempts < tasks.c.max_attempts),
    )
    if scoped:
        scope = tasks.c.session_id == bindparam("p_session")
    else:
        running = select(sessions.c.id).where(sessions.c.status == SessionStatus.RUNNING.value)
        scope = tasks.c.session_id.in_(running)
    stmt = select(tasks).where(claimable, scope)
    if by_kind:
        stmt = stmt.where(tasks.c.kind.in_(bindparam("p_kinds", expanding=True)))
    return stmt.order_by(*_ORDER).limit(bindparam("p_limit")).with_for_update(skip_locked=True)


_LEASE = (
    update(tasks)
    .where(tasks.c.id.in_(bindparam("p_ids", expanding=True)))
    .values(
        state=TaskState.RUNNING.value,
        lease_owner=bindparam("p_owner"),
        lease_expires=bindparam("p_expires"),
    )
)


def claim(
    conn: Connection,
    session_id: str | None,
    owner: str,
    limit: int,
    lease_seconds: float,
    kinds: set[TaskKind] | None,
) -> list[Task]:
    """Lease the best claimable tasks: highest priority first, then oldest.

    FOR UPDATE SKIP LOCKED lets concurrent PostgreSQL workers pass each other;
    SQLite ignores it and relies on the BEGIN IMMEDIATE write transaction.
    """
    if limit <= 0:
        return []
    params: dict[str, Any] = {"p_session": session_id, "p_limit": limit}
    if kinds is not None:
        params["p_kinds"] = _values(kinds)
    stmt = _claim_select(session_id is not None, kinds is not None)
    found = conn.execute(stmt, params).mappings().all()
    if not found:
        return []
    expires = utcnow() + timedelta(seconds=lease_seconds)
    ids = [r["id"] for r in found]
    conn.execute(_LEASE, {"p_ids": ids, "p_owner": owner, "p_expires": expires})
    lease = {"state": TaskState.RUNNING, "lease_owner": owner, "lease_expires": expires}
    return [rows.task({**r, **lease}) for r in found]


def renew(conn: Connection, owner: str, lease_seconds: float) -> int:
    stmt = (
        update(tasks)
        .where(tasks.c.state == TaskState.RUNNING.value, tasks.c.lease_owner == owner)
        .values(lease_expires=utcnow() + timedelta(seconds=lease_seconds))
    )
    return int(conn.execute(stmt).rowcount)


_LEASED = select(tasks).where(tasks.c.id == bindparam("p_task")).with_for_update()
_FINISH = (
    update(tasks)
    .where(tasks.c.id == bindparam("p_task"))
    .values(
        state=TaskState.DONE.value,
        lease_owner=None,
        lease_expires=None,
        error=None,
        finished_at=bindparam("p_now"),
    )
)


def leased(conn: Connection, task_id: str, owner: str) -> RowMapping:
    """The task row, locked, if `owner` holds its lease; else LeaseLostError."""
    row = conn.execute(_LEASED, {"p_task": task_id}).mappings().first()
    if row is None:
        raise NotFoundError(f"no task {task_id!r}")
    if row["state"] != TaskState.RUNNING.value or row["lease_owner"] != owner:
        holder = row["lease_owner"] or "nobody"
        raise LeaseLostError(
            f"task {task_id} is {row['state']} and leased by {holder}, not {owner}:"
            " its result is not applied"
        )
    return row


def finish(conn: Connection, task_id: str) -> None:
    conn.execute(_FINISH, {"p_task": task_id, "p_now": utcnow()})


def fail(
    conn: Connection, task_id: str, owner: str, error: str, retry: bool, counted: bool = True
) -> Task:
    """A failed attempt. `counted=False`: the failure was not the task's (the model could not
    be reached), so it costs no attempt and the task waits, claimable, for a later run."""
    row = leased(conn, task_id, owner)
    attempts = row["attempts"] + (1 if counted else 0)
    again = retry and (attempts < row["max_attempts"] or not counted)
    values: dict[str, Any] = {
        "state": (TaskState.FAILED if again else TaskState.DEAD).value,
        "attempts": attempts,
        "lease_owner": None,
        "lease_expires": None,
        "error": error[:MAX_ERROR_CHARS],
        "finished_at": None if again else utcnow(),
    }
    conn.execute(update(tasks).where(tasks.c.id == task_id).values(**values))
    return rows.task({**row, **values})


_BACK_TO_PENDING = {
    "state": TaskState.PENDING.value,
    "lease_owner": None,
    "lease_expires": None,
}


def release(conn: Connection, owner: str) -> int:
    stmt = (
        update(tasks)
        .where(tasks.c.state == TaskState.RUNNING.value, tasks.c.lease_owner == owner)
        .values(**_BACK_TO_PENDING)
    )
    return int(conn.execute(stmt).rowcount)


def running_owners(conn: Connection, session_id: str | None) -> set[str]:
    stmt = select(tasks.c.lease_owner).distinct().where(tasks.c.state == TaskState.RUNNING.value)
    if session_id is not None:
        stmt = stmt.where(tasks.c.session_id == session_id)
    return {o for o in conn.execute(stmt).scalars() if o is not None}


def reclaim(conn: Connection, session_id: str | None, dead: set[str], now: datetime) -> int:
    """Running tasks whose lease expired or whose owner is dead go back to pending."""
    gone = or_(
        tasks.c.lease_expires.is_(None),
        tasks.c.lease_expires < now,
        tasks.c.lease_owner.in_(sorted(dead)),
    )
    stmt = update(tasks).where(tasks.c.state == TaskState.RUNNING.value, gone)
    if session_id is not None:
        stmt = stmt.where(tasks.c.session_id == session_id)
    return int(conn.execute(stmt.values(**_BACK_TO_PENDING)).rowcount)


def get(conn: Connection, task_id: str) -> Task:
    row = conn.execute(select(tasks).where(tasks.c.id == task_id)).mappings().first()
    if row is None:
        raise NotFoundError(f"no task {task_id!r}")
    return rows.task(row)


def states(conn: Connection, task_ids: list[str]) -> dict[str, TaskState]:
    """Only the state column: cheap enough to poll for a handful of ids."""
    if not task_ids:
        return {}
    stmt = select(tasks.c.id, tasks.c.state).where(tasks.c.id.in_(task_ids))
    return {row.id: TaskState(row.state) for row in conn.execute(stmt)}


def list_tasks(
    conn: Connection,
    session_id: str,
    states: set[TaskState] | None,
    kinds: set[TaskKind] | None,
) -> list[Task]:
    stmt = select(tasks).where(tasks.c.session_id == session_id)
    if states is not None:
        stmt = stmt.where(tasks.c.state.in_(_values(states)))
    if kinds is not None:
        stmt = stmt.where(tasks.c.kind.in_(_values(kinds)))
    stmt = stmt.order_by(tasks.c.created_at, tasks.c.id)
    return [rows.task(r) for r in conn.execute(stmt).mappings()]


def counts(conn: Connection, session_id: str) -> dict[str, dict[str, int]]:
    stmt = (
        select(tasks.c.kind, tasks.c.state, func.count())
        .where(tasks.c.session_id == session_id)
        .group_by(tasks.c.kind, tasks.c.state)
    )
    result: dict[str, dict[str, int]] = {}
    for kind, state, n in conn.execute(stmt):
        result.setdefault(kind, {})[state] = int(n)
    return result
