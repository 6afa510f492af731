"""Conversions between the store's rows and the pydantic objects of coscientist.schemas.

Rows come in as SQLAlchemy RowMappings and leave as plain dicts for inserts, so
nothing outside the store ever holds an ORM object.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from coscientist.config import RoleModel
from coscientist.redact import mask_secrets
from coscientist.schemas import (
    GraphEdge,
    GraphMerge,
    GraphNode,
    GraphSeriesPoint,
    Hypothesis,
    Match,
    MetaReview,
    Rating,
    Review,
    SessionInfo,
    Task,
)
from coscientist.tournament.ratings import POSITION_PRIOR

Row = Mapping[Any, Any]  # RowMapping keys may also be columns


def session_row(info: SessionInfo) -> dict[str, Any]:
    data = info.model_dump()
    data["status"] = info.status.value
    as_json = info.model_dump(mode="json")
    for key in ("limits", "plan", "goal_safety", "roles"):
        data[key] = as_json[key]
    data["match_seq"] = 0
    data["position_mu"], data["position_sigma"] = POSITION_PRIOR  # a new session's judge
    return data


def masked_roles(roles: Mapping[str, RoleModel | Mapping[str, Any]]) -> dict[str, RoleModel]:
    """A role map as it may be stored: base URLs with their passwords masked."""
    out = {}
    for role, item in roles.items():
        model = RoleModel.model_validate(item)
        if model.base_url:
            model = model.model_copy(update={"base_url": mask_secrets(model.base_url)})
        out[role] = model
    return out


def session_info(row: Row) -> SessionInfo:
    data = dict(row)
    if data.get("roles") is None:  # a session stored before role models (migration 0008)
        data["roles"] = {}
    return SessionInfo.model_validate(data)


def hypothesis_row(h: Hypothesis) -> dict[str, Any]:
    data = h.model_dump()  # `relations` is excluded: the graph keeps them, with provenance
    data["status"] = h.status.value
    data["citations"] = [c.model_dump(mode="json") for c in h.citations]
    return data


def hypothesis(row: Row) -> Hypothesis:
    return Hypothesis.model_validate(dict(row))


def review(row: Row) -> Review:
    return Review.model_validate(dict(row))


def match(row: Row) -> Match:
    return Match.model_validate(dict(row))


def rating(row: Row) -> Rating:
    return Rating.model_validate(dict(row))


def meta_review(row: Row) -> MetaReview:
    return MetaReview.model_validate(dict(row))


def graph_node(row: Row) -> GraphNode:
    return GraphNode(
        key=row["key"],
        label=row["label"],
        iteration=row["iteration"],
        kind=row["kind"],
        origin=row["origin"],
    )


def graph_edge(row: Row) -> GraphEdge:
    return GraphEdge(
        source=row["source"],
        target=row["target"],
        relation=row["relation"],
        iteration=row["iteration"],
        origin=row["origin"],
    )


def graph_merge(row: Row) -> GraphMerge:
    return GraphMerge(
        alias=row["alias"],
        into=row["into"],
        method=row["method"],
        similarity=row["similarity"],
        iteration=row["iteration"],
        origin=row["origin"],
    )


def series_point(row: Row) -> GraphSeriesPoint:
    return GraphSeriesPoint.model_validate(
        {
            k: row[k]
            for k in ("iteration", "metrics", "hubs", "bridges", "communities", "created_at")
        }
    )


def task_row(task: Task) -> dict[str, Any]:
    data = task.model_dump()
    data["kind"] = task.kind.value
    data["state"] = task.state.value
    data["payload"] = task.model_dump(mode="json")["payload"]
    return data


def task(row: Row) -> Task:
    return Task.model_validate(dict(row))
