"""The store's tables, declared with sqlmodel.

Column names equal the field names of the pydantic objects in
coscientist.schemas, so a row maps onto its model directly. Enums are stored as
plain strings (no database enum types to migrate). The migration in
migrations in migrations/versions create exactly this schema; a test compares
the two.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import registry
from sqlalchemy.types import TypeEngine
from sqlmodel import Field, SQLModel

from coscientist.proximity import HASHED_KEY

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class StoreTable(SQLModel, registry=registry(metadata=MetaData(naming_convention=NAMING))):
    """Base of our tables: a metadata of their own, apart from SQLModel's global one."""


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend.

    SQLite keeps no offset, so values are stored as naive UTC and get their
    UTC tzinfo back on reading; naive values handed in are taken to be UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class JSONDoc(TypeDecorator[Any]):
    """JSON lists and dicts: JSONB on PostgreSQL, JSON text on SQLite."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(JSON())


def _fk(target: str, **kwargs: Any) -> Any:
    return Field(sa_type=String, sa_column_args=[ForeignKey(target)], **kwargs)


class SessionRow(StoreTable, table=True):
    __tablename__ = "sessions"

    id: str = Field(sa_type=String, primary_key=True)
    goal: str = Field(sa_type=Text)
    status: str = Field(sa_type=String)
    model_spec: str = Field(sa_type=Text)
    base_url: str | None = Field(default=None, sa_type=Text)
    seed: int = Field(sa_type=Integer)
    limits: dict[str, Any] = Field(sa_type=JSONDoc)
    preferences: str = Field(sa_type=Text)
    plan: dict[str, Any] | None = Field(default=None, sa_type=JSONDoc)
    goal_safety: dict[str, Any] | None = Field(default=None, sa_type=JSONDoc)
    stop_reason: str | None = Field(default=None, sa_type=Text)
    match_seq: int = Field(default=0, sa_type=Integer)  # last match seq handed out
    # The judge's first-position offset (tournament.ratings.update_positioned), as of match_seq.
    position_mu: float = Field(
        default=0.0, sa_type=Float, sa_column_kwargs={"server_default": "0.0"}
    )
    position_sigma: float = Field(
        default=2.0, sa_type=Float, sa_column_kwargs={"server_default": "2.0"}
    )
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    roles: dict[str, Any] | None = Field(
        default=None, sa_type=JSONDoc
    )  # migration 0008 (role models)


class HypothesisRow(StoreTable, table=True):
    __tablename__ = "hypotheses"
    __table_args__ = (
        Index("ix_hypotheses_session_status", "session_id", "status"),
        Index("ix_hypotheses_session_created", "session_id", "created_at"),
    )

    id: str = Field(sa_type=String, primary_key=True)
    session_id: str = _fk("sessions.id")
    title: str = Field(sa_type=Text)
    statement: str = Field(sa_type=Text)
    rationale: str = Field(sa_type=Text)
    predictions: list[str] = Field(sa_type=JSONDoc)
    experiment: str = Field(sa_type=Text)
    assumptions: list[str] = Field(sa_type=JSONDoc)
    citations: list[dict[str, Any]] = Field(sa_type=JSONDoc)
    origin: str = Field(sa_type=String)
    parent_ids: list[str] = Field(sa_type=JSONDoc)
    inspired_by: list[str] = Field(sa_type=JSONDoc)
    status: str = Field(sa_type=String)
    pinned: bool = Field(sa_type=Boolean)
    duplicate_of: str | None = Field(default=None, sa_type=String)
    status_reason: str | None = Field(default=None, sa_type=Text)
    reviewed: bool = Field(sa_type=Boolean)
    created_at: datetime = Field(sa_type=UTCDateTime)


class ReviewRow(StoreTable, table=True):
    __tablename__ = "reviews"
    __table_args__ = (
        Index("ix_reviews_session_created", "session_id", "created_at"),
        Index("ix_reviews_hypothesis", "hypothesis_id"),
    )

    id: str = Field(sa_type=String, primary_key=True)
    session_id: str = _fk("sessions.id")
    hypothesis_id: str = _fk("hypotheses.id")
    kind: str = Field(sa_type=String)
    passed: bool = Field(sa_type=Boolean)
    scores: dict[str, float] = Field(sa_type=JSONDoc)
    summary: str = Field(sa_type=Text)
    strengths: list[str] = Field(sa_type=JSONDoc)
    weaknesses: list[str] = Field(sa_type=JSONDoc)
    details: dict[str, Any] = Field(sa_type=JSONDoc)
    author: str = Field(sa_type=String)
    created_at: datetime = Field(sa_type=UTCDateTime)


class MatchRow(StoreTable, table=True):
    __tablename__ = "matches"
    __table_args__ = (UniqueConstraint("session_id", "seq", name="uq_matches_session_seq"),)

    id: str = Field(sa_type=String, primary_key=True)
    session_id: str = _fk("sessions.id")
    seq: int = Field(sa_type=Integer)
    first_id: str = _fk("hypotheses.id")
    second_id: str = _fk("hypotheses.id")
    winner_id: str = _fk("hypotheses.id")
    mode: str = Field(sa_type=String)
    rationale: str = Field(sa_type=Text)
    turns: list[str] = Field(sa_type=JSONDoc)
    task_id: str | None = Field(default=None, sa_type=String)
    created_at: datetime = Field(sa_type=UTCDateTime)


class VectorRow(StoreTable, table=True):
    """Each hypothesis's embedding (float32 bytes), so a large session loads without re-embedding."""

    __tablename__ = "hypothesis_vectors"
    __table_args__ = (Index("ix_hypothesis_vectors_session", "session_id"),)

    hypothesis_id: str = Field(
        sa_type=String, primary_key=True, sa_column_args=[ForeignKey("hypotheses.id")]
    )
    session_id: str = _fk("sessions.id")
    vector: bytes = Field(sa_type=LargeBinary)
    # The key (name:model:dimension) of the embedder that made it: coscientist.embedding.
    embedder: str = Field(
        default=HASHED_KEY, sa_type=String, sa_column_kwargs={"server_default": HASHED_KEY}
    )


class SessionEmbedderRow(StoreTable, table=True):
    """The embedder a session's last run asked for and the one it used (after a fallback)."""

    __tablename__ = "session_embedders"

    session_id: str = Field(
        sa_type=String, primary_key=True, sa_column_args=[ForeignKey("sessions.id")]
    )
    requested: str = Field(sa_type=String)
    name: str = Field(sa_type=String)
    model: str = Field(sa_type=String)
    dimension: int = Field(sa_type=Integer)
    fallback: str | None = Field(default=None, sa_type=Text)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class RatingRow(StoreTable, table=True):
    """The current rating of each hypothesis (history lives in rating_history)."""

    __tablename__ = "ratings"
    __table_args__ = (Index("ix_ratings_session_mu", "session_id", "mu"),)

    hypothesis_id: str = Field(
        sa_type=String, primary_key=True, sa_column_args=[ForeignKey("hypotheses.id")]
    )
    session_id: str = _fk("sessions.id")
    mu: float = Field(sa_type=Float)
    sigma: float = Field(sa_type=Float)
    matches: int = Field(sa_type=Integer)
    wins: int = Field(sa_type=Integer)


class RatingHistoryRow(StoreTable, table=True):
    __tablename__ = "rating_history"
    __table_args__ = (Index("ix_rating_history_session_seq", "session_id", "seq"),)

    id: int | None = Field(default=None, sa_type=Integer, primary_key=True)
    session_id: str = _fk("sessions.id")
    match_id: str = _fk("matches.id")
    seq: int = Field(sa_type=Integer)
    hypothesis_id: str = _fk("hypotheses.id", index=True)
    won: bool = Field(sa_type=Boolean)
    mu_before: float = Field(sa_type=Float)
    sigma_before: float = Field(sa_type=Float)
    mu_after: float = Field(sa_type=Float)
    sigma_after: float = Field(sa_type=Float)
    created_at: datetime = Field(sa_type=UTCDateTime)


class TaskRow(StoreTable, table=True):
    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_claim", "session_id", "state", "priority", "created_at"),
        Index("ix_tasks_lease", "state", "lease_owner"),
    )

    id: str = Field(sa_type=String, primary_key=True)
    session_id: str = _fk("sessions.id")
    kind: str = Field(sa_type=String)
    payload: dict[str, Any] = Field(sa_type=JSONDoc)
    priority: float = Field(sa_type=Float)
    max_attempts: int = Field(sa_type=Integer)
    state: str = Field(sa_type=String)
    attempts: int = Field(sa_type=Integer)
    lease_owner: str | None = Field(default=None, sa_type=String)
    lease_expires: datetime | None = Field(default=None, sa_type=UTCDateTime)
    error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class OwnerRow(StoreTable, table=True):
    """A process that claims tasks; its heartbeat tells others whether it lives."""

    __tablename__ = "owners"

    id: str = Field(sa_type=String, primary_key=True)
    host: str = Field(sa_type=String)
    pid: int = Field(sa_type=Integer)
    started_at: datetime = Field(sa_type=UTCDateTime)
    heartbeat_at: datetime = Field(sa_type=UTCDateTime)


class CallRow(StoreTable, table=True):
    """Provenance of one model call: never the prompt itself, never a key."""

    __tablename__ = "llm_calls"

    id: int | None = Field(default=None, sa_type=Integer, primary_key=True)
    session_id: str | None = Field(default=None, sa_type=String, index=True)
    task_id: str | None = Field(default=None, sa_type=String)
    role: str = Field(sa_type=String)
    model: str = Field(sa_type=String)
    prompt_hash: str = Field(sa_type=String)
    tokens_in: int = Field(sa_type=Integer)
    tokens_out: int = Field(sa_type=Integer)
    latency_ms: float = Field(sa_type=Float)
    outcome: str = Field(sa_type=String)
    error: str | None = Field(default=None, sa_type=Text)
    attempt: int = Field(sa_type=Integer)
    created_at: datetime = Field(sa_type=UTCDateTime)
    cost_usd: float | None = Field(default=None, sa_type=Float)  # migration 0002
    endpoint: str | None = Field(default=None, sa_type=Text)  # migration 0008 (role models)


class GraphNodeRow(StoreTable, table=True):
    __tablename__ = "kg_nodes"
    __table_args__ = (UniqueConstraint("session_id", "key", name="uq_kg_nodes_session_key"),)

    id: int | None = Field(default=None, sa_type=Integer, primary_key=True)
    session_id: str = _fk("sessions.id")
    key: str = Field(sa_type=Text)
    label: str = Field(sa_type=Text)
    iteration: int = Field(sa_type=Integer)
    kind: str = Field(sa_type=String)
    origin: str = Field(sa_type=Text)


class GraphEdgeRow(StoreTable, table=True):
    __tablename__ = "kg_edges"
    __table_args__ = (
        UniqueConstraint(
            "session_id", "source", "target", "relation", name="uq_kg_edges_session_triple"
        ),
    )

    id: int | None = Field(default=None, sa_type=Integer, primary_key=True)
    session_id: str = _fk("sessions.id")
    source: str = Field(sa_type=Text)
    target: str = Field(sa_type=Text)
    relation: str = Field(sa_type=Text)
    iteration: int = Field(sa_type=Integer)
    origin: str = Field(sa_type=Text)


class GraphMergeRow(StoreTable, table=True):
    """A name folded into an existing concept, and why (same normalised name, or embedding)."""

    __tablename__ = "kg_merges"
    __table_args__ = (
        UniqueConstraint("session_id", "alias", "into", name="uq_kg_merges_session_alias"),
    )

    id: int | None = Field(default=None, sa_type=Integer, primary_key=True)
    session_id: str = _fk("sessions.id")
    alias: str = Field(sa_type=Text)
    into: str = Field(sa_type=Text)
    method: str = Field(sa_type=String)
    similarity: float = Field(sa_type=Float)
    iteration: int = Field(sa_type=Integer)
    origin: str = Field(sa_type=Text)


class GraphSeriesRow(StoreTable, table=True):
    """The graph's figures after one iteration: its growth, point by point."""

    __tablename__ = "kg_series"
    __table_args__ = (Index("ix_kg_series_session_iteration", "session_id", "iteration"),)

    id: int | None = Field(default=None, sa_type=Integer, primary_key=True)
    session_id: str = _fk("sessions.id")
    iteration: int = Field(sa_type=Integer)
    metrics: dict[str, Any] = Field(sa_type=JSONDoc)
    hubs: list[dict[str, Any]] = Field(sa_type=JSONDoc)
    bridges: list[dict[str, Any]] = Field(sa_type=JSONDoc)
    communities: list[dict[str, Any]] = Field(sa_type=JSONDoc)
    created_at: datetime = Field(sa_type=UTCDateTime)


class MetaReviewRow(StoreTable, table=True):
    __tablename__ = "meta_reviews"
    __table_args__ = (Index("ix_meta_reviews_session_created", "session_id", "created_at"),)

    id: str = Field(sa_type=String, primary_key=True)
    session_id: str = _fk("sessions.id")
    critique: list[str] = Field(sa_type=JSONDoc)
    strengths: list[str] = Field(sa_type=JSONDoc)
    gaps: list[str] = Field(sa_type=JSONDoc)
    overview: str = Field(sa_type=Text)
    research_overview: dict[str, Any] | None = Field(default=None, sa_type=JSONDoc)
    top_ids: list[str] = Field(sa_type=JSONDoc)
    task_id: str | None = Field(default=None, sa_type=String)
    created_at: datetime = Field(sa_type=UTCDateTime)


class ObservationRow(StoreTable, table=True):
    """Findings the observation review checks hypotheses against (the scientist's, the literature's)."""

    __tablename__ = "observations"
    __table_args__ = (Index("ix_observations_session", "session_id", "created_at"),)

    id: str = Field(sa_type=String, primary_key=True)
    session_id: str = _fk("sessions.id")
    text: str = Field(sa_type=Text)
    source: str = Field(sa_type=Text)
    created_at: datetime = Field(sa_type=UTCDateTime)


class AnswerRow(StoreTable, table=True):
    """A question asked about a session and its answer (coscientist/conversation)."""

    __tablename__ = "answers"
    __table_args__ = (Index("ix_answers_session_created", "session_id", "created_at"),)

    id: str = Field(sa_type=String, primary_key=True)
    session_id: str = _fk("sessions.id")
    question: str = Field(sa_type=Text)
    answer: str = Field(sa_type=Text)
    cited_ids: list[str] = Field(sa_type=JSONDoc)
    dropped_ids: list[str] = Field(sa_type=JSONDoc)
    follow_up: dict[str, Any] | None = Field(default=None, sa_type=JSONDoc)
    applied: str | None = Field(default=None, sa_type=Text)
    model: str = Field(sa_type=Text)
    created_at: datetime = Field(sa_type=UTCDateTime)


class SecondOpinionRow(StoreTable, table=True):
    """A second judge's verdict on a pair of a match task (schemas.SecondOpinion); never rated."""

    __tablename__ = "second_opinions"
    __table_args__ = (Index("ix_second_opinions_session", "session_id"),)

    id: str = Field(sa_type=String, primary_key=True)
    session_id: str = _fk("sessions.id")
    task_id: str | None = Field(default=None, sa_type=String)
    first_id: str = _fk("hypotheses.id")
    second_id: str = _fk("hypotheses.id")
    winner_id: str = _fk("hypotheses.id")
    model: str = Field(sa_type=Text)
    rationale: str = Field(sa_type=Text)
    created_at: datetime = Field(sa_type=UTCDateTime)


class CacheRow(StoreTable, table=True):
    __tablename__ = "literature_cache"

    key: str = Field(sa_type=Text, primary_key=True)
    value: str = Field(sa_type=Text)
    fetched_at: datetime = Field(sa_type=UTCDateTime)


def _table(model: type[StoreTable]) -> Table:
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


metadata: MetaData = StoreTable.metadata
sessions = _table(SessionRow)
hypotheses = _table(HypothesisRow)
reviews = _table(ReviewRow)
matches = _table(MatchRow)
ratings = _table(RatingRow)
hypothesis_vectors = _table(VectorRow)
session_embedders = _table(SessionEmbedderRow)
rating_history = _table(RatingHistoryRow)
tasks = _table(TaskRow)
owners = _table(OwnerRow)
llm_calls = _table(CallRow)
kg_nodes = _table(GraphNodeRow)
kg_edges = _table(GraphEdgeRow)
kg_merges = _table(GraphMergeRow)
kg_series = _table(GraphSeriesRow)
meta_reviews = _table(MetaReviewRow)
literature_cache = _table(CacheRow)
observations = _table(ObservationRow)
answers = _table(AnswerRow)
second_opinions = _table(SecondOpinionRow)
