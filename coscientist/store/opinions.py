"""A second judge's verdicts (the judge audit), at the level of one open connection.

Kept in a table of their own: the ratings, the judge fit and every match count read the
matches table only, so a second judge's verdicts never move a rating."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, select

from coscientist.schemas import SecondOpinion, new_id, utcnow
from coscientist.store.tables import second_opinions


def insert(
    conn: Connection, session_id: str, task_id: str, opinions: Sequence[SecondOpinion]
) -> None:
    if not opinions:
        return
    now = utcnow()
    rows = [
        {
            **o.model_dump(exclude={"task_id"}),
            "id": new_id(),
            "session_id": session_id,
            "task_id": task_id,
            "created_at": now,
        }
        for o in opinions
    ]
    conn.execute(second_opinions.insert(), rows)


def list_for(conn: Connection, session_id: str) -> list[SecondOpinion]:
    """Oldest first."""
    table = second_opinions
    stmt = (
        select(table)
        .where(table.c.session_id == session_id)
        .order_by(table.c.created_at, table.c.id)
    )  # the row's own id, session and time are not the opinion's: validation drops them
    return [SecondOpinion.model_validate(dict(r)) for r in conn.execute(stmt).mappings()]
