"""The session's knowledge graph: concepts as nodes, typed relations as edges.

Backed by a networkx ``MultiDiGraph`` whose edge *key* is the normalised
relation, so ``(source, relation, target)`` is unique while two concepts may
still be linked by several different relations. Node attributes: ``label``
(display name as first seen) and ``iteration`` (when it appeared); edge
attributes: ``relation`` and ``iteration``. All are str or int, so GraphML
can hold them without conversion.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path

import networkx as nx

from coscientist.schemas import GraphEdge, GraphNode, GraphTriple

MAX_NAME_CHARS = 80
MAX_NAME_WORDS = 8
MAX_RELATION_CHARS = 60
DEFAULT_RELATION = "related to"

# Words whose final "s" is not a plural marker (or whose plural is irregular).
_KEEP_FINAL_S = frozenset(
    {"series", "species", "means", "news", "lens", "bias", "chaos", "calories", "movies", "cookies"}
)
_NO_FOLD_ENDINGS = ("ss", "us", "is", "as", "os", "ics")


def _trimmable(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch).startswith("P")


def _strip_edges(text: str) -> str:
    """Drop punctuation and whitespace at both ends (quotes, full stops, brackets...)."""
    start, end = 0, len(text)
    while start < end and _trimmable(text[start]):
        start += 1
    while end > start and _trimmable(text[end - 1]):
        end -= 1
    return text[start:end]


def _singular(word: str) -> str:
    """Fold regular English plurals only; leave anything doubtful alone."""
    if len(word) <= 3 or not word.isalpha() or word in _KEEP_FINAL_S:
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(_NO_FOLD_ENDINGS):
        return word[:-1]
    return word


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).replace("_", " ")
    return " ".join(_strip_edges(text).split())


def normalise(name: str) -> str:
    """The node key: casefolded, trimmed, single-spaced, last word singular.

    "Amyloid-beta Plaques." and "amyloid-beta plaque" share one key, so the
    graph grows by concepts rather than by spellings.
    """
    words = _clean(name).casefold().split()
    if not words:
        return ""
    words[-1] = _singular(words[-1])
    return " ".join(words)


def normalise_relation(relation: str) -> str:
    """Relations are casefolded and single-spaced but keep their grammatical form."""
    return _clean(relation).casefold()


def _valid_key(key: str) -> bool:
    return (
        0 < len(key) <= MAX_NAME_CHARS
        and len(key.split()) <= MAX_NAME_WORDS
        and any(ch.isalpha() for ch in key)  # "1.1.1" from a degenerate model is not a concept
        and "://" not in key  # nor is a URL
    )


class KnowledgeGraph:
    """A mutable knowledge graph that reports what each merge added."""

    def __init__(self) -> None:
        self._g: nx.MultiDiGraph[str] = nx.MultiDiGraph()

    @classmethod
    def from_parts(cls, nodes: Iterable[GraphNode], edges: Iterable[GraphEdge]) -> KnowledgeGraph:
        """Rebuild from stored rows; an edge whose endpoint is missing gets a bare node."""
        kg = cls()
        kg.add(nodes, edges)
        return kg

    @property
    def graph(self) -> nx.MultiDiGraph[str]:
        """The underlying networkx graph; read it, do not mutate it."""
        return self._g

    @property
    def nodes(self) -> int:
        return int(self._g.number_of_nodes())

    @property
    def edges(self) -> int:
        return int(self._g.number_of_edges())

    def __contains__(self, key: object) -> bool:
        return key in self._g

    def label(self, key: str) -> str:
        return str(self._g.nodes[key].get("label", key))

    def undirected(self) -> nx.Graph[str]:
        """Simple undirected view for structure metrics: one link per connected pair."""
        simple: nx.Graph[str] = nx.Graph()
        simple.add_nodes_from(self._g.nodes)
        simple.add_edges_from((u, v) for u, v in self._g.edges() if u != v)
        return simple

    def merge(
        self, triples: Sequence[GraphTriple], iteration: int
    ) -> tuple[list[GraphNode], list[GraphEdge]]:
        """Add triples; return only the nodes and edges that were not there before."""
        nodes, edges = self.preview(triples, iteration)
        self.add(nodes, edges)
        return nodes, edges

    def preview(
        self, triples: Sequence[GraphTriple], iteration: int
    ) -> tuple[list[GraphNode], list[GraphEdge]]:
        """The nodes and edges `triples` would add, without changing the graph.

        A task computes its part of the graph with this; the part joins the graph only
        once the store has committed it (`add`). Dropped: names that normalise to nothing,
        are too long or have no letters, self-loops, and relations already present.
        """
        new_nodes: dict[str, GraphNode] = {}
        seen_edges: set[tuple[str, str, str]] = set()
        new_edges: list[GraphEdge] = []
        for triple in triples:
            source, target = normalise(triple.source), normalise(triple.target)
            if not (_valid_key(source) and _valid_key(target)) or source == target:
                continue
            relation = normalise_relation(triple.relation)[:MAX_RELATION_CHARS].strip()
            relation = relation or DEFAULT_RELATION
            edge_key = (source, target, relation)
            if edge_key in seen_edges or self._g.has_edge(source, target, key=relation):
                continue
            for key, raw in ((source, triple.source), (target, triple.target)):
                if key not in self._g and key not in new_nodes:
                    new_nodes[key] = GraphNode(key=key, label=_clean(raw), iteration=iteration)
            seen_edges.add(edge_key)
            new_edges.append(
                GraphEdge(source=source, target=target, relation=relation, iteration=iteration)
            )
        return list(new_nodes.values()), new_edges

    def add(self, nodes: Iterable[GraphNode], edges: Iterable[GraphEdge]) -> None:
        """Add stored parts (from `preview`, or another process's step); known ones are kept."""
        for node in nodes:
            if node.key not in self._g:
                self._g.add_node(node.key, label=node.label, iteration=node.iteration)
        for edge in edges:
            for key in (edge.source, edge.target):
                if key not in self._g:
                    self._g.add_node(key, label=key, iteration=edge.iteration)
            if not self._g.has_edge(edge.source, edge.target, key=edge.relation):
                self._g.add_edge(
                    edge.source,
                    edge.target,
                    key=edge.relation,
                    relation=edge.relation,
                    iteration=edge.iteration,
                )

    def copy(self) -> KnowledgeGraph:
        """An independent copy, for metrics computed in another thread while the loop goes on."""
        kg = KnowledgeGraph()
        kg._g = self._g.copy()
        return kg

    def to_graphml(self, path: str | Path) -> None:
        """Write GraphML (Gephi, Cytoscape, networkx can read it)."""
        nx.write_graphml(self._g, str(path), encoding="utf-8")
