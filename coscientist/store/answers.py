"""Questions asked about a session and their answers, at the level of one open connection."""

from __future__ import annotations

from sqlalchemy import Connection, select, update

from coscientist.errors import NotFoundError
from coscientist.schemas import Answer
from coscientist.store.content import by_prefix, require_session
from coscientist.store.tables import answers


def insert(conn: Connection, answer: Answer) -> None:
    require_session(conn, answer.session_id)
    row = answer.model_dump()
    row["follow_up"] = answer.follow_up.model_dump(mode="json") if answer.follow_up else None
    conn.execute(answers.insert(), [row])


def list_for(conn: Connection, session_id: str, limit: int | None) -> list[Answer]:
    """Oldest first; with `limit`, the newest `limit` of them (still oldest first)."""
    stmt = (
        select(answers)
        .where(answers.c.session_id == session_id)
        .order_by(answers.c.created_at.desc(), answers.c.id.desc())
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    found = [Answer.model_validate(dict(r)) for r in conn.execute(stmt).mappings()]
    return found[::-1]


def get(conn: Connection, session_id: str, id_or_prefix: str) -> Answer:
    found = by_prefix(conn, answers, id_or_prefix, answers.c.session_id == session_id)
    if not found:
        raise NotFoundError(f"no answer {id_or_prefix!r} in session {session_id}")
    if len(found) > 1:
        raise NotFoundError(f"answer prefix {id_or_prefix!r} is ambiguous: type more of the id")
    return Answer.model_validate(dict(found[0]))


def mark_applied(conn: Connection, answer_id: str, applied: str) -> bool:
    """Record what the follow-up became; False when it was applied already (nothing changed)."""
    stmt = (
        update(answers)
        .where(answers.c.id == answer_id, answers.c.applied.is_(None))
        .values(applied=applied)
    )
    return conn.execute(stmt).rowcount == 1
