"""The knowledge graph's rows: nodes unique per (session, key), edges unique per triple.

Merging is an upsert that keeps what was seen first (label, iteration), so
re-extracting a known concept never renames it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table, select
from sqlalchemy.dialects import postgresql, sqlite

from coscientist.schemas import GraphEdge, GraphNode
from coscientist.store import rows
from coscientist.store.tables import kg_edges, kg_nodes


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
    conn: Connection, session_id: str, nodes: list[GraphNode], edges: list[GraphEdge]
) -> None:
    """Add new nodes and edges; an edge's unknown endpoints become nodes named by their key."""
    node_rows: dict[str, dict[str, Any]] = {}
    for n in nodes:
        node_rows.setdefault(n.key, {"session_id": session_id, **n.model_dump()})
    for e in edges:
        for key in (e.source, e.target):
            node_rows.setdefault(
                key, {"session_id": session_id, "key": key, "label": key, "iteration": e.iteration}
            )
    edge_rows: dict[tuple[str, str, str], dict[str, Any]] = {}
    for e in edges:
        edge_rows.setdefault(
            (e.source, e.target, e.relation), {"session_id": session_id, **e.model_dump()}
        )
    _insert_new(conn, kg_nodes, list(node_rows.values()), ["session_id", "key"])
    _insert_new(
        conn, kg_edges, list(edge_rows.values()), ["session_id", "source", "target", "relation"]
    )


def load(conn: Connection, session_id: str) -> tuple[list[GraphNode], list[GraphEdge]]:
    """Nodes and edges in the order they were first merged."""
    node_stmt = select(kg_nodes).where(kg_nodes.c.session_id == session_id).order_by(kg_nodes.c.id)
    edge_stmt = select(kg_edges).where(kg_edges.c.session_id == session_id).order_by(kg_edges.c.id)
    nodes = [rows.graph_node(r) for r in conn.execute(node_stmt).mappings()]
    edges = [rows.graph_edge(r) for r in conn.execute(edge_stmt).mappings()]
    return nodes, edges
