"""The knowledge graph's rows: nodes unique per (session, key), edges unique per triple,
merges unique per (session, alias, concept), and the series of the graph's figures.

Merging is an insert that keeps what was seen first (label, iteration, origin),
so re-extracting a known concept never renames it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping

from coscientist.schemas import GraphEdge, GraphMerge, GraphNode, GraphSeriesPoint
from coscientist.store import rows
from coscientist.store.tables import kg_edges, kg_merges, kg_nodes, kg_series


def _insert_new(
    conn: Connection, table: Table, items: list[dict[str, Any]], keys: list[str]
) -> None:
    if not items:
        return
    if conn.dialect.name == "postgresql":
        stmt: Any = postgresql.insert(table).on_conflict_do_nothing(index_elements=keys)
    else:
        stmt = sqlite.insert(table).on_conflict_do_nothing(index_elements=keys)
    conn.execute(stmt, items)


def merge(
    conn: Connection,
    session_id: str,
    nodes: list[GraphNode],
    edges: list[GraphEdge],
    merges: Sequence[GraphMerge] = (),
) -> None:
    """Add new nodes, edges and merges; an edge's unknown endpoints become nodes named by their key."""
    node_rows: dict[str, dict[str, Any]] = {}
    for n in nodes:
        node_rows.setdefault(
            n.key, {"session_id": session_id, **n.model_dump(), "kind": n.kind.value}
        )
    for e in edges:
        for key in (e.source, e.target):
            node_rows.setdefault(key, _bare_node(session_id, key, e))
    edge_rows: dict[tuple[str, str, str], dict[str, Any]] = {}
    for e in edges:
        edge_rows.setdefault(
            (e.source, e.target, e.relation), {"session_id": session_id, **e.model_dump()}
        )
    _insert_new(conn, kg_nodes, list(node_rows.values()), ["session_id", "key"])
    _insert_new(
        conn, kg_edges, list(edge_rows.values()), ["session_id", "source", "target", "relation"]
    )
    merge_rows: dict[tuple[str, str], dict[str, Any]] = {}
    for m in merges:
        merge_rows.setdefault((m.alias, m.into), {"session_id": session_id, **m.model_dump()})
    _insert_new(conn, kg_merges, list(merge_rows.values()), ["session_id", "alias", "into"])


def _bare_node(session_id: str, key: str, edge: GraphEdge) -> dict[str, Any]:
    kind = key.split(":", 1)[0] if key.startswith(("hypothesis:", "source:")) else "concept"
    return {
        "session_id": session_id,
        "key": key,
        "label": key,
        "iteration": edge.iteration,
        "kind": kind,
        "origin": edge.origin,
    }


def load(conn: Connection, session_id: str) -> tuple[list[GraphNode], list[GraphEdge]]:
    """Nodes and edges in the order they were first merged."""
    node_stmt = select(kg_nodes).where(kg_nodes.c.session_id == session_id).order_by(kg_nodes.c.id)
    edge_stmt = select(kg_edges).where(kg_edges.c.session_id == session_id).order_by(kg_edges.c.id)
    nodes = [rows.graph_node(r) for r in conn.execute(node_stmt).mappings()]
    edges = [rows.graph_edge(r) for r in conn.execute(edge_stmt).mappings()]
    return nodes, edges


def load_merges(conn: Connection, session_id: str) -> list[GraphMerge]:
    stmt = select(kg_merges).where(kg_merges.c.session_id == session_id).order_by(kg_merges.c.id)
    return [rows.graph_merge(r) for r in conn.execute(stmt).mappings()]


def add_point(conn: Connection, session_id: str, point: GraphSeriesPoint) -> None:
    data = point.model_dump(mode="json")
    data["created_at"] = point.created_at
    conn.execute(kg_series.insert(), [{"session_id": session_id, **data}])


def load_series(
    conn: Connection, session_id: str, limit: int | None = None
) -> list[GraphSeriesPoint]:
    """Oldest first; with `limit`, only the newest `limit` points."""
    stmt = select(kg_series).where(kg_series.c.session_id == session_id)
    if limit is not None:
        newest = stmt.order_by(kg_series.c.id.desc()).limit(limit)
        found = [rows.series_point(r) for r in conn.execute(newest).mappings()]
        return found[::-1]
    return [rows.series_point(r) for r in conn.execute(stmt.order_by(kg_series.c.id)).mappings()]


def linked_nodes(conn: Connection, session_id: str, key: str) -> list[tuple[str, GraphNode]]:
    """Nodes `key` links to, with the relation, in the order the links were made."""
    stmt = (
        select(kg_edges.c.relation, kg_nodes)
        .join(
            kg_nodes,
            (kg_nodes.c.session_id == kg_edges.c.session_id)
            & (kg_nodes.c.key == kg_edges.c.target),
        )
        .where(kg_edges.c.session_id == session_id, kg_edges.c.source == key)
        .order_by(kg_edges.c.id)
    )
    return [(r["relation"], rows.graph_node(r)) for r in conn.execute(stmt).mappings()]


GraphMarks = tuple[int, int, int]  # the highest node, edge and merge row ids read so far


def _rows_after(
    conn: Connection, table: Table, session_id: str, after: int
) -> tuple[list[RowMapping], int]:
    stmt = (
        select(table)
        .where(table.c.session_id == session_id, table.c.id > after)
        .order_by(table.c.id)
    )
    got = list(conn.execute(stmt).mappings())
    return got, int(got[-1]["id"]) if got else after


def load_since(
    conn: Connection, session_id: str, marks: GraphMarks
) -> tuple[list[GraphNode], list[GraphEdge], list[GraphMerge], GraphMarks]:
    """Rows added after `marks` (from (0, 0, 0): everything), and the new marks."""
    node_rows, node_mark = _rows_after(conn, kg_nodes, session_id, marks[0])
    edge_rows, edge_mark = _rows_after(conn, kg_edges, session_id, marks[1])
    merge_rows, merge_mark = _rows_after(conn, kg_merges, session_id, marks[2])
    return (
        [rows.graph_node(r) for r in node_rows],
        [rows.graph_edge(r) for r in edge_rows],
        [rows.graph_merge(r) for r in merge_rows],
        (node_mark, edge_mark, merge_mark),
    )
