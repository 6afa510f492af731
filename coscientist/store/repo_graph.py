"""The Store's meta-reviews and knowledge graph: nodes, edges, merges, links, growth series."""

from __future__ import annotations

from coscientist.schemas import GraphEdge, GraphMerge, GraphNode, GraphSeriesPoint, MetaReview
from coscientist.store import content, graph
from coscientist.store.graph import GraphMarks
from coscientist.store.transactions import Transactions


class GraphMethods(Transactions):
    """Part of the Store (store/repository.py)."""

    # --- meta-reviews and graph -------------------------------------------------

    def latest_meta_review(self, session_id: str) -> MetaReview | None:
        with self._read() as conn:
            found = content.list_meta_reviews(conn, session_id, 1)
        return found[0] if found else None

    def list_meta_reviews(self, session_id: str) -> list[MetaReview]:
        """Newest first."""
        with self._read() as conn:
            return content.list_meta_reviews(conn, session_id, None)

    def merge_graph(self, session_id: str, nodes: list[GraphNode], edges: list[GraphEdge]) -> None:
        with self._write() as conn:
            content.require_session(conn, session_id)
            graph.merge(conn, session_id, nodes, edges)

    def graph(self, session_id: str) -> tuple[list[GraphNode], list[GraphEdge]]:
        with self._read() as conn:
            return graph.load(conn, session_id)

    def graph_since(
        self, session_id: str, marks: GraphMarks = (0, 0, 0)
    ) -> tuple[list[GraphNode], list[GraphEdge], list[GraphMerge], GraphMarks]:
        """Graph rows added after `marks` (row ids), and the marks to ask from next time."""
        with self._read() as conn:
            return graph.load_since(conn, session_id, marks)

    def graph_merges(self, session_id: str) -> list[GraphMerge]:
        """Every name folded into an existing concept, oldest first, with its reason."""
        with self._read() as conn:
            return graph.load_merges(conn, session_id)

    def graph_links(self, session_id: str, key: str) -> list[tuple[str, GraphNode]]:
        """(relation, node) for every node `key` links to: a hypothesis's concepts and sources."""
        with self._read() as conn:
            return graph.linked_nodes(conn, session_id, key)

    def add_graph_point(self, session_id: str, point: GraphSeriesPoint) -> None:
        with self._write() as conn:
            graph.add_point(conn, session_id, point)

    def graph_series(self, session_id: str, limit: int | None = None) -> list[GraphSeriesPoint]:
        """The graph's figures per iteration, oldest first (the newest `limit` when given)."""
        with self._read() as conn:
            return graph.load_series(conn, session_id, limit)
