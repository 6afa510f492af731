"""Sessions, hypotheses, reviews and meta-reviews, at the level of one open connection.

These functions never commit: the Store wraps them in a transaction, and
complete_task combines several of them into one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Connection, func, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.sql import ColumnElement

from coscientist.errors import NotFoundError
from coscientist.proximity import (
    HASHED_KEY,
    Vector,
    cached_embed,
    embedding_text,
    from_bytes,
    to_bytes,
)
from coscientist.schemas import (
    Citation,
    Hypothesis,
    HypothesisStatus,
    MetaReview,
    MetaReviewDraft,
    Observation,
    Review,
    ReviewDraft,
    ReviewKind,
    SessionInfo,
    new_id,
    utcnow,
)
from coscientist.store import rows, tables
from coscientist.store.tables import (
    hypotheses,
    hypothesis_vectors,
    meta_reviews,
    observations,
    ratings,
    reviews,
    sessions,
)
from coscientist.tournament.ratings import inherited

SESSION_FIELDS = frozenset(
    {
        "status",
        "goal",
        "preferences",
        "plan",
        "goal_safety",
        "limits",
        "stop_reason",
        "model_spec",
        "base_url",
        "roles",
    }
)


def by_prefix(
    conn: Connection, table: Any, id_or_prefix: str, *where: ColumnElement[bool]
) -> list[RowMapping]:
    """The row with this id, else every row (at most two) whose id starts with it."""
    if not id_or_prefix:
        return []
    exact = conn.execute(select(table).where(table.c.id == id_or_prefix, *where)).mappings()
    found = exact.all()
    if found:
        return list(found)
    stmt = select(table).where(table.c.id.startswith(id_or_prefix, autoescape=True), *where)
    return list(conn.execute(stmt.limit(2)).mappings().all())


# --- sessions -----------------------------------------------------------------


def insert_session(conn: Connection, info: SessionInfo) -> None:
    conn.execute(sessions.insert(), [rows.session_row(info)])


def session_exists(conn: Connection, session_id: str) -> bool:
    stmt = select(sessions.c.id).where(sessions.c.id == session_id)
    return conn.execute(stmt).first() is not None


def require_session(conn: Connection, session_id: str) -> None:
    if not session_exists(conn, session_id):
        raise NotFoundError(f"no session {session_id!r}")


def lock_session(conn: Connection, session_id: str) -> None:
    stmt = select(sessions.c.id).where(sessions.c.id == session_id).with_for_update()
    if conn.execute(stmt).first() is None:
        raise NotFoundError(f"no session {session_id!r}")


def delete_session(conn: Connection, session_id: str) -> None:
    """A session and everything of it, children first (a refused goal leaves nothing behind)."""
    children = (
        tables.rating_history,
        tables.matches,
        tables.reviews,
        tables.ratings,
        tables.hypothesis_vectors,
        tables.session_embedders,
        tables.meta_reviews,
        tables.kg_edges,
        tables.kg_nodes,
        tables.kg_merges,
        tables.kg_series,
        tables.observations,
        tables.answers,
        tables.tasks,
        tables.llm_calls,
        tables.hypotheses,
    )
    for table in children:
        conn.execute(table.delete().where(table.c.session_id == session_id))
    conn.execute(sessions.delete().where(sessions.c.id == session_id))


def list_sessions(conn: Connection) -> list[SessionInfo]:
    stmt = select(sessions).order_by(sessions.c.created_at.desc(), sessions.c.id.desc())
    return [rows.session_info(r) for r in conn.execute(stmt).mappings()]


def update_session(conn: Connection, session_id: str, fields: dict[str, Any]) -> SessionInfo:
    unknown = set(fields) - SESSION_FIELDS
    if unknown:
        raise TypeError(f"update_session cannot change {sorted(unknown)}")
    values = {
        k: v.model_dump(mode="json") if isinstance(v, BaseModel) else v for k, v in fields.items()
    }
    if "status" in values:
        values["status"] = str(values["status"])
    values["updated_at"] = utcnow()
    done = conn.execute(sessions.update().where(sessions.c.id == session_id).values(**values))
    if done.rowcount == 0:
        raise NotFoundError(f"no session {session_id!r}")
    row = conn.execute(select(sessions).where(sessions.c.id == session_id)).mappings().one()
    return rows.session_info(row)


# --- hypotheses ---------------------------------------------------------------


_INSERT_HYPOTHESIS = hypotheses.insert()
_INSERT_RATING = ratings.insert()
_INSERT_VECTOR = hypothesis_vectors.insert()


def insert_hypotheses(
    conn: Connection,
    items: Sequence[Hypothesis],
    vectors: Mapping[str, bytes] | None = None,
    embedder: str = HASHED_KEY,
) -> None:
    """New hypotheses, their embeddings and their rating rows: the initial rating, or for an
    evolved one its parents' mean mu with the initial sigma (tournament.ratings.inherited).

    `vectors`: made by the embedder keyed `embedder` (the run's); a hypothesis without one
    gets its hashed vector here (the scientist's own, added outside a run).
    """
    if not items:
        return
    vectors = vectors or {}
    conn.execute(_INSERT_HYPOTHESIS, [rows.hypothesis_row(h) for h in items])
    conn.execute(
        _INSERT_VECTOR,
        [
            {
                "hypothesis_id": h.id,
                "session_id": h.session_id,
                "vector": made,
                "embedder": embedder,
            }
            if (made := vectors.get(h.id)) is not None
            else {
                "hypothesis_id": h.id,
                "session_id": h.session_id,
                "vector": to_bytes(cached_embed(embedding_text(h))),
                "embedder": HASHED_KEY,
            }
            for h in items
        ],
    )
    parents = {p for h in items for p in h.parent_ids}
    parent_mu: dict[str, float] = {}
    if parents:
        found = select(ratings.c.hypothesis_id, ratings.c.mu).where(
            ratings.c.hypothesis_id.in_(sorted(parents))
        )
        parent_mu = {hid: float(mu) for hid, mu in conn.execute(found)}
    rows_ = []
    for h in items:
        mu, sigma = inherited([parent_mu[p] for p in h.parent_ids if p in parent_mu])
        rows_.append(
            {
                "hypothesis_id": h.id,
                "session_id": h.session_id,
                "mu": mu,
                "sigma": sigma,
                "matches": 0,
                "wins": 0,
            }
        )
    conn.execute(_INSERT_RATING, rows_)


def _status_filter(statuses: set[HypothesisStatus] | None) -> list[ColumnElement[bool]]:
    if statuses is None:
        return []
    return [hypotheses.c.status.in_(sorted(str(s) for s in statuses))]


def list_hypotheses(
    conn: Connection, session_id: str, statuses: set[HypothesisStatus] | None
) -> list[Hypothesis]:
    stmt = (
        select(hypotheses)
        .where(hypotheses.c.session_id == session_id, *_status_filter(statuses))
        .order_by(hypotheses.c.created_at, hypotheses.c.id)
    )
    return [rows.hypothesis(r) for r in conn.execute(stmt).mappings()]


def count_hypotheses(
    conn: Connection, session_id: str, statuses: set[HypothesisStatus] | None
) -> int:
    stmt = (
        select(func.count())
        .select_from(hypotheses)
        .where(hypotheses.c.session_id == session_id, *_status_filter(statuses))
    )
    return int(conn.execute(stmt).scalar_one())


def hypothesis_flags(conn: Connection, session_id: str, hypothesis_id: str) -> RowMapping:
    """Status and pin of a hypothesis of this session, or NotFoundError."""
    stmt = select(hypotheses.c.status, hypotheses.c.pinned).where(
        hypotheses.c.id == hypothesis_id, hypotheses.c.session_id == session_id
    )
    row = conn.execute(stmt).mappings().first()
    if row is None:
        raise NotFoundError(f"no hypothesis {hypothesis_id!r} in session {session_id!r}")
    return row


def set_status(
    conn: Connection,
    hypothesis_id: str,
    status: HypothesisStatus,
    duplicate_of: str | None,
    session_id: str | None = None,
    reason: str | None = None,
) -> None:
    stmt = update(hypotheses).where(hypotheses.c.id == hypothesis_id)
    if session_id is not None:
        stmt = stmt.where(hypotheses.c.session_id == session_id)
    values = {"status": str(status), "duplicate_of": duplicate_of, "status_reason": reason}
    done = conn.execute(stmt.values(**values))
    if done.rowcount == 0:
        where = f" in session {session_id!r}" if session_id else ""
        raise NotFoundError(f"no hypothesis {hypothesis_id!r}{where}")


def set_citations(
    conn: Connection, session_id: str, hypothesis_id: str, citations: Sequence[Citation]
) -> None:
    """A full review's checked citations replace the hypothesis's list (its text stays)."""
    conn.execute(
        update(hypotheses)
        .where(hypotheses.c.id == hypothesis_id, hypotheses.c.session_id == session_id)
        .values(citations=[c.model_dump(mode="json") for c in citations])
    )


def set_pinned(conn: Connection, hypothesis_id: str, pinned: bool) -> None:
    stmt = update(hypotheses).where(hypotheses.c.id == hypothesis_id).values(pinned=pinned)
    if conn.execute(stmt).rowcount == 0:
        raise NotFoundError(f"no hypothesis {hypothesis_id!r}")


# --- reviews ------------------------------------------------------------------


def insert_review(conn: Connection, session_id: str, draft: ReviewDraft) -> Review:
    """Store a review; an initial review marks its hypothesis reviewed.

    A failed initial review rejects an active hypothesis unless the scientist
    pinned it.
    """
    flags = hypothesis_flags(conn, session_id, draft.hypothesis_id)
    review = Review(**draft.model_dump(), id=new_id(), session_id=session_id)
    data = review.model_dump()
    data["kind"] = review.kind.value
    data["details"] = review.model_dump(mode="json")["details"]
    conn.execute(reviews.insert(), [data])
    if review.kind == ReviewKind.INITIAL:
        values: dict[str, Any] = {"reviewed": True}
        active = flags["status"] == HypothesisStatus.ACTIVE.value
        advisory = bool(review.details.get("advisory"))  # recorded, but does not filter
        if not review.passed and active and not flags["pinned"] and not advisory:
            values["status"] = HypothesisStatus.REJECTED.value
        conn.execute(
            update(hypotheses).where(hypotheses.c.id == draft.hypothesis_id).values(**values)
        )
    return review


def list_reviews(
    conn: Connection, session_id: str, hypothesis_id: str | None, limit: int | None
) -> list[Review]:
    stmt = select(reviews).where(reviews.c.session_id == session_id)
    if hypothesis_id is not None:
        stmt = stmt.where(reviews.c.hypothesis_id == hypothesis_id)
    stmt = stmt.order_by(reviews.c.created_at.desc(), reviews.c.id.desc())
    if limit is not None:
        stmt = stmt.limit(limit)
    return [rows.review(r) for r in conn.execute(stmt).mappings()]


# --- meta-reviews -------------------------------------------------------------


def insert_meta_review(
    conn: Connection, session_id: str, draft: MetaReviewDraft, task_id: str | None
) -> MetaReview:
    meta = MetaReview(**draft.model_dump(), id=new_id(), session_id=session_id)
    conn.execute(meta_reviews.insert(), [{**meta.model_dump(), "task_id": task_id}])
    return meta


def list_meta_reviews(conn: Connection, session_id: str, limit: int | None) -> list[MetaReview]:
    """Newest first."""
    stmt = (
        select(meta_reviews)
        .where(meta_reviews.c.session_id == session_id)
        .order_by(meta_reviews.c.created_at.desc(), meta_reviews.c.id.desc())
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return [rows.meta_review(r) for r in conn.execute(stmt).mappings()]


# --- observations -------------------------------------------------------------


def insert_observation(conn: Connection, session_id: str, text: str, source: str) -> Observation:
    item = Observation(id=new_id(), session_id=session_id, text=text, source=source)
    conn.execute(observations.insert(), [item.model_dump()])
    return item


def list_observations(conn: Connection, session_id: str) -> list[Observation]:
    """Oldest first."""
    stmt = (
        select(observations)
        .where(observations.c.session_id == session_id)
        .order_by(observations.c.created_at, observations.c.id)
    )
    return [Observation.model_validate(dict(r)) for r in conn.execute(stmt).mappings()]


def vectors(conn: Connection, session_id: str, embedder: str | None = None) -> dict[str, Vector]:
    """The stored embedding of each hypothesis of a session (none for older sessions);
    with `embedder`, only those that embedder (a key name:model:dimension) made."""
    stmt = select(hypothesis_vectors.c.hypothesis_id, hypothesis_vectors.c.vector).where(
        hypothesis_vectors.c.session_id == session_id
    )
    if embedder is not None:
        stmt = stmt.where(hypothesis_vectors.c.embedder == embedder)
    return {hid: from_bytes(data) for hid, data in conn.execute(stmt)}
