"""Vectors made again by another embedder, and the embedder record of a session."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, func, select

from coscientist.schemas import utcnow
from coscientist.store.tables import hypothesis_vectors, session_embedders


def replace_vectors(
    conn: Connection, session_id: str, embedder: str, vectors: Mapping[str, bytes]
) -> None:
    """Each hypothesis's vector becomes the one given (made by `embedder`)."""
    if not vectors:
        return
    table = hypothesis_vectors
    conn.execute(
        table.delete().where(
            table.c.session_id == session_id, table.c.hypothesis_id.in_(list(vectors))
        )
    )
    conn.execute(
        table.insert(),
        [
            {"hypothesis_id": hid, "session_id": session_id, "vector": data, "embedder": embedder}
            for hid, data in vectors.items()
        ],
    )


def set_session_embedder(
    conn: Connection,
    session_id: str,
    *,
    requested: str,
    name: str,
    model: str,
    dimension: int,
    fallback: str | None,
) -> None:
    table = session_embedders
    conn.execute(table.delete().where(table.c.session_id == session_id))
    conn.execute(
        table.insert(),
        [
            {
                "session_id": session_id,
                "requested": requested,
                "name": name,
                "model": model,
                "dimension": dimension,
                "fallback": fallback,
                "updated_at": utcnow(),
            }
        ],
    )


def session_embedder(conn: Connection, session_id: str) -> dict[str, Any] | None:
    """What `show --json` says of the embedder; None before any run recorded one."""
    table = session_embedders
    row = conn.execute(select(table).where(table.c.session_id == session_id)).mappings().first()
    if row is None:
        return None
    key = hypothesis_vectors.c.embedder
    counts = conn.execute(
        select(key, func.count())
        .where(hypothesis_vectors.c.session_id == session_id)
        .group_by(key)
        .order_by(key)
    )
    by_key = {str(k): int(n) for k, n in counts}
    return {
        "requested": row["requested"],
        "name": row["name"],
        "model": row["model"],
        "dimension": row["dimension"],
        "fallback": row["fallback"],
        "vectors": by_key,
    }
