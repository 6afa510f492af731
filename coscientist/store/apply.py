"""Applying a task's result: everything it produced and its DONE state, in one transaction.

The lease check comes first and the state change last, inside the same
transaction, so a result is applied at most once and only by the owner that
holds the lease; any failure part-way leaves the store as it was.
"""

from __future__ import annotations

from pydantic import BaseModel, Field
from sqlalchemy import Connection

from coscientist.errors import StoreError
from coscientist.schemas import Task, TaskResult
from coscientist.store import content, graph, opinions, queue, tournament
from coscientist.store.tournament import AppliedMatch


class Applied(BaseModel):
    """What complete_task inserted, for events and progress displays."""

    task_id: str
    session_id: str
    hypothesis_ids: list[str] = Field(default_factory=list)
    review_ids: list[str] = Field(default_factory=list)
    matches: list[AppliedMatch] = Field(default_factory=list)
    meta_review_id: str | None = None


def complete(
    conn: Connection, task_id: str, owner: str, result: TaskResult, new: Task | None = None
) -> Applied:
    """`new`: a task this owner started without writing its row (see queue.running_task)."""
    postgres = conn.dialect.name == "postgresql"
    if new is not None:
        # The session is locked before the row goes in: the row's foreign key takes a share
        # lock on the session, and two results each holding one while waiting for the
        # exclusive lock would deadlock. Nobody else can see the new row, so no cycle.
        if postgres:
            content.lock_session(conn, new.session_id)
        queue.insert_row(conn, new)
    session_id: str = queue.leased(conn, task_id, owner)["session_id"]
    if postgres and new is None:
        # One result of a session at a time, always locked task -> session: matches must
        # apply in seq order, and hypothesis rows are then never locked in two orders.
        content.lock_session(conn, session_id)
    strangers = [h.id for h in result.hypotheses if h.session_id != session_id]
    if strangers:
        raise StoreError(
            f"task {task_id} of session {session_id} returned hypotheses {strangers} of another session"
        )
    applied = Applied(task_id=task_id, session_id=session_id)
    content.insert_hypotheses(conn, result.hypotheses, result.vectors, result.embedder)
    applied.hypothesis_ids = [h.id for h in result.hypotheses]
    applied.review_ids = [content.insert_review(conn, session_id, d).id for d in result.reviews]
    applied.matches = tournament.apply_matches(conn, session_id, result.matches, task_id)
    opinions.insert(conn, session_id, task_id, result.second_opinions)
    if result.meta_review is not None:
        meta = content.insert_meta_review(conn, session_id, result.meta_review, task_id)
        applied.meta_review_id = meta.id
    graph.merge(conn, session_id, result.graph_nodes, result.graph_edges, result.graph_merges)
    for hypothesis_id, citations in result.citations.items():
        content.set_citations(conn, session_id, hypothesis_id, citations)
    for hypothesis_id, status in result.status_changes.items():
        reason = result.status_reasons.get(hypothesis_id)
        content.set_status(conn, hypothesis_id, status, None, session_id, reason=reason)
    queue.finish(conn, task_id)
    return applied
