"""Bookkeeping rows: worker owners, model-call provenance, the literature cache."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Connection, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from coscientist.errors import NotFoundError
from coscientist.schemas import ANSWERED_OUTCOMES, CallRecord, utcnow
from coscientist.store.tables import literature_cache, llm_calls, owners


class OwnerInfo(BaseModel):
    """A process that leases tasks."""

    id: str
    host: str
    pid: int
    started_at: datetime
    heartbeat_at: datetime


def _upsert(conn: Connection, table: Any, row: dict[str, Any], key: str) -> None:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table).values(**row)
    changed = {k: v for k, v in row.items() if k != key}
    conn.execute(stmt.on_conflict_do_update(index_elements=[key], set_=changed))


def register_owner(conn: Connection, owner_id: str, pid: int, host: str) -> OwnerInfo:
    now = utcnow()
    info = OwnerInfo(id=owner_id, host=host, pid=pid, started_at=now, heartbeat_at=now)
    _upsert(conn, owners, info.model_dump(), "id")
    return info


def heartbeat(conn: Connection, owner_id: str) -> None:
    stmt = update(owners).where(owners.c.id == owner_id).values(heartbeat_at=utcnow())
    if conn.execute(stmt).rowcount == 0:
        raise NotFoundError(f"no owner {owner_id!r}: register it first")


def get_owner(conn: Connection, owner_id: str) -> OwnerInfo | None:
    row = conn.execute(select(owners).where(owners.c.id == owner_id)).mappings().first()
    return OwnerInfo.model_validate(dict(row)) if row is not None else None


_INSERT_CALL = llm_calls.insert()


def record_call(conn: Connection, rec: CallRecord) -> None:
    conn.execute(_INSERT_CALL, [rec.model_dump()])


def record_calls(conn: Connection, recs: list[CallRecord]) -> None:
    conn.execute(_INSERT_CALL, [rec.model_dump() for rec in recs])


def call_stats(conn: Connection, session_id: str) -> dict[str, Any]:
    """Totals (calls, tokens, latency, cost in USD), per role (calls and tokens) and per
    outcome (calls). `answered` counts the calls a budget counts (schemas.ANSWERED_OUTCOMES)."""
    c = llm_calls.c
    stmt = (
        select(
            c.role,
            c.outcome,
            func.count(),
            func.coalesce(func.sum(c.tokens_in), 0),
            func.coalesce(func.sum(c.tokens_out), 0),
            func.coalesce(func.sum(c.latency_ms), 0.0),
            func.coalesce(func.sum(c.cost_usd), 0.0),
        )
        .where(c.session_id == session_id)
        .group_by(c.role, c.outcome)
    )
    stats: dict[str, Any] = {
        "calls": 0,
        "tokens_in": 0,
        "tokens_out": 0,
        "latency_ms": 0.0,
        "cost_usd": 0.0,
        "answered": 0,
        "by_role": {},
        "by_outcome": {},
    }
    for role, outcome, calls, tokens_in, tokens_out, latency, spent in conn.execute(stmt):
        stats["calls"] += int(calls)
        stats["cost_usd"] += float(spent)
        if outcome in ANSWERED_OUTCOMES:
            stats["answered"] += int(calls)
        stats["tokens_in"] += int(tokens_in)
        stats["tokens_out"] += int(tokens_out)
        stats["latency_ms"] += float(latency)
        per_role = stats["by_role"].setdefault(role, {"calls": 0, "tokens_in": 0, "tokens_out": 0})
        per_role["calls"] += int(calls)
        per_role["tokens_in"] += int(tokens_in)
        per_role["tokens_out"] += int(tokens_out)
        stats["by_outcome"][outcome] = stats["by_outcome"].get(outcome, 0) + int(calls)
    return stats


def calls_by_model(conn: Connection, session_id: str) -> dict[str, Any]:
    """Per configured model (the call's endpoint; its model name for rows from before
    migration 0008): calls, tokens, and the calls each role made on it. Apart from
    call_stats, which the scheduler reads often: only reports and `show` need this."""
    c = llm_calls.c
    name = func.coalesce(c.endpoint, c.model)
    stmt = (
        select(
            name,
            c.role,
            func.count(),
            func.coalesce(func.sum(c.tokens_in), 0),
            func.coalesce(func.sum(c.tokens_out), 0),
        )
        .where(c.session_id == session_id)
        .group_by(name, c.role)
    )
    out: dict[str, Any] = {}
    for model, role, calls, tokens_in, tokens_out in conn.execute(stmt):
        entry = out.setdefault(
            str(model), {"calls": 0, "tokens_in": 0, "tokens_out": 0, "by_role": {}}
        )
        entry["calls"] += int(calls)
        entry["tokens_in"] += int(tokens_in)
        entry["tokens_out"] += int(tokens_out)
        entry["by_role"][role] = entry["by_role"].get(role, 0) + int(calls)
    return out


def call_times(conn: Connection, session_id: str) -> list[datetime]:
    """When each model call of the session was made, in order (for the compute curve)."""
    c = llm_calls.c
    stmt = select(c.created_at).where(c.session_id == session_id).order_by(c.created_at)
    return list(conn.execute(stmt).scalars())


def cache_get(conn: Connection, key: str, max_age: float | None) -> str | None:
    stmt = select(literature_cache.c.value).where(literature_cache.c.key == key)
    if max_age is not None:
        stmt = stmt.where(literature_cache.c.fetched_at >= utcnow() - timedelta(seconds=max_age))
    value = conn.execute(stmt).scalar_one_or_none()
    return str(value) if value is not None else None


def cache_put(conn: Connection, key: str, value: str) -> None:
    _upsert(conn, literature_cache, {"key": key, "value": value, "fetched_at": utcnow()}, "key")
