"""The session's knowledge graph: typed nodes (concepts, hypotheses, sources), typed relations.

Backed by a networkx ``MultiDiGraph`` whose edge *key* is the normalised
relation, so ``(source, relation, target)`` is unique while two nodes may
still be linked by several different relations. Node attributes: ``label``
(display name as first seen), ``kind``, ``iteration`` (when it appeared),
``origin`` (the text it first came from) and ``aliases`` (other names merged
into it, "; "-joined); edge attributes: ``relation``, ``iteration``, ``origin``.
All are str or int, so GraphML holds them without conversion.

Parts to add are computed by `preview` (or `parts.PartBuilder`) without
changing the graph; they join it with `add` once the store has them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx

from coscientist.knowledge.concepts import DEFAULT_MERGE_THRESHOLD, ConceptIndex
from coscientist.knowledge.names import (
    DEFAULT_RELATION,
    MAX_NAME_WORDS,
    clean,
    normalise,
    singular,
)
from coscientist.proximity import Vector
from coscientist.schemas import GraphEdge, GraphMerge, GraphNode, GraphTriple, NodeKind

MAX_ALIASES = 8  # spellings kept per concept; more add nothing to explain a merge
ALIAS_SEPARATOR = "; "


@dataclass
class GraphPart:
    """What one task adds to the graph: new nodes, new edges, and the merges that explain names."""

    nodes: list[GraphNode] = field(default_factory=list)
    edges: list[GraphEdge] = field(default_factory=list)
    merges: list[GraphMerge] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.nodes or self.edges or self.merges)


class KnowledgeGraph:
    """A mutable knowledge graph; `preview` says what a merge would add, `add` adds it."""

    def __init__(self, merge_threshold: float = DEFAULT_MERGE_THRESHOLD) -> None:
        if not 0.0 < merge_threshold <= 1.0:
            raise ValueError(f"merge threshold must be in (0, 1], got {merge_threshold}")
        self.merge_threshold = merge_threshold
        self._g: nx.MultiDiGraph[str] = nx.MultiDiGraph()
        self._index = ConceptIndex()
        self._aliases: dict[str, str] = {}  # normalised alias -> concept key
        self._spellings: dict[str, set[str]] = {}  # concept key -> casefolded names seen
        self._merge_keys: set[tuple[str, str]] = set()
        self.merges: list[GraphMerge] = []
        # Append-only logs: a worker thread reads a prefix of them (`mark`) while the loop
        # goes on adding, so analysing a 10,000-node graph needs no copy on the loop.
        self.node_log: list[tuple[str, NodeKind]] = []
        self.edge_log: list[tuple[str, str, str]] = []

    @classmethod
    def from_parts(
        cls,
        nodes: Iterable[GraphNode],
        edges: Iterable[GraphEdge],
        merges: Iterable[GraphMerge] = (),
        *,
        merge_threshold: float = DEFAULT_MERGE_THRESHOLD,
    ) -> KnowledgeGraph:
        """Rebuild from stored rows; an edge whose endpoint is missing gets a bare node."""
        kg = cls(merge_threshold)
        kg.add(nodes, edges, merges)
        return kg

    # --- reading ----------------------------------------------------------------------

    @property
    def graph(self) -> nx.MultiDiGraph[str]:
        """The underlying networkx graph; read it, do not mutate it."""
        return self._g

    @property
    def nodes(self) -> int:
        return len(self.node_log)

    @property
    def edges(self) -> int:
        # networkx counts a multigraph's edges by summing every degree: O(nodes) per call.
        return len(self.edge_log)

    @property
    def concepts(self) -> int:
        return len(self._index)

    def __contains__(self, key: object) -> bool:
        return key in self._g

    def label(self, key: str) -> str:
        return str(self._g.nodes[key].get("label", key))

    def kind(self, key: str) -> NodeKind:
        return NodeKind(self._g.nodes[key].get("kind", NodeKind.CONCEPT.value))

    def is_concept(self, key: str) -> bool:
        return key in self._index

    def concept_keys(self) -> list[str]:
        return [k for k, kind in self._g.nodes(data="kind") if kind == NodeKind.CONCEPT.value]

    def alias_of(self, key: str) -> str | None:
        """The concept a merged name now points to, if any."""
        return self._aliases.get(key)

    def aliases(self, key: str) -> list[str]:
        text = str(self._g.nodes[key].get("aliases", "")) if key in self._g else ""
        return text.split(ALIAS_SEPARATOR) if text else []

    def knows_spelling(self, key: str, name: str) -> bool:
        return name.casefold() in self._spellings.get(key, set())

    def nearest_concept(self, vector: Vector) -> tuple[str, float] | None:
        return self._index.nearest(vector)

    def has_relation(self, source: str, target: str, relation: str) -> bool:
        return bool(self._g.has_edge(source, target, key=relation))

    def neighbours(self, key: str, kind: NodeKind | None = None) -> list[str]:
        """Nodes linked to `key` in either direction, optionally of one kind only."""
        if key not in self._g:
            return []
        found = dict.fromkeys([*self._g.successors(key), *self._g.predecessors(key)])
        return [k for k in found if kind is None or self.kind(k) == kind]

    def concepts_of(self, hypothesis_key: str) -> list[str]:
        """Concepts a hypothesis node links to, in the order they were linked."""
        return self.neighbours(hypothesis_key, NodeKind.CONCEPT)

    def mentions(self, text: str, limit: int = 8) -> list[str]:
        """Known concepts (or their aliases) named in `text`, longest names first.

        No model call: a hypothesis whose own relations gave too few concepts is
        still linked to the concepts its text uses.
        """
        words = clean(text).casefold().replace(",", " ").replace(".", " ").split()
        found: dict[str, None] = {}
        for size in range(min(MAX_NAME_WORDS, 4), 0, -1):
            for start in range(len(words) - size + 1):
                gram = words[start : start + size]
                key = " ".join([*gram[:-1], singular(gram[-1])])
                concept = key if self.is_concept(key) else self._aliases.get(key)
                if concept is not None:
                    found.setdefault(concept, None)
                    if len(found) >= limit:
                        return list(found)
        return list(found)

    def undirected(self, kinds: Sequence[NodeKind] = (NodeKind.CONCEPT,)) -> nx.Graph[str]:
        """Simple undirected projection over nodes of `kinds`: one link per connected pair."""
        wanted = {k.value for k in kinds}
        keep = {k for k, kind in self._g.nodes(data="kind") if kind in wanted}
        simple: nx.Graph[str] = nx.Graph()
        simple.add_nodes_from(keep)
        simple.add_edges_from(
            (u, v) for u, v in self._g.edges() if u != v and u in keep and v in keep
        )
        return simple

    # --- changing ---------------------------------------------------------------------

    def preview(
        self, triples: Sequence[GraphTriple], iteration: int, origin: str = ""
    ) -> GraphPart:
        """The nodes, edges and merges `triples` would add, without changing the graph.

        Dropped: names that normalise to nothing, are too long or have no letters,
        self-loops, and relations already present. Near-identical names join the
        concept they resemble (see `parts.PartBuilder`).
        """
        from coscientist.knowledge.parts import PartBuilder

        builder = PartBuilder(self, iteration)
        for triple in triples:
            builder.relation(triple.source, triple.relation, triple.target, origin)
        return builder.part()

    def merge(self, triples: Sequence[GraphTriple], iteration: int, origin: str = "") -> GraphPart:
        """Add triples; return only what was not there before."""
        part = self.preview(triples, iteration, origin)
        self.add(part.nodes, part.edges, part.merges)
        return part

    def add(
        self,
        nodes: Iterable[GraphNode],
        edges: Iterable[GraphEdge],
        merges: Iterable[GraphMerge] = (),
    ) -> None:
        """Add stored parts (from `preview`, or another process's); known ones are kept."""
        for node in nodes:
            self._add_node(node.key, node.label, node.kind, node.iteration, node.origin)
        for edge in edges:
            for key in (edge.source, edge.target):
                if key not in self._g:
                    self._add_node(key, key, _kind_of_key(key), edge.iteration, edge.origin)
            relation = edge.relation or DEFAULT_RELATION
            if not self._g.has_edge(edge.source, edge.target, key=relation):
                self._g.add_edge(
                    edge.source,
                    edge.target,
                    key=relation,
                    relation=relation,
                    iteration=edge.iteration,
                    origin=edge.origin,
                )
                self.edge_log.append((edge.source, edge.target, relation))
        for merge in merges:
            self._add_merge(merge)

    def _add_node(self, key: str, label: str, kind: NodeKind, iteration: int, origin: str) -> None:
        if key in self._g:
            return
        self._g.add_node(
            key, label=label, kind=kind.value, iteration=iteration, origin=origin, aliases=""
        )
        self.node_log.append((key, kind))
        if kind == NodeKind.CONCEPT:
            self._index.add(key)
            self._spellings[key] = {key, label.casefold()}

    def _add_merge(self, merge: GraphMerge) -> None:
        if (merge.alias, merge.into) in self._merge_keys or merge.into not in self._g:
            return
        self._merge_keys.add((merge.alias, merge.into))
        self.merges.append(merge)
        alias_key = normalise(merge.alias)
        if alias_key and alias_key not in self._g:
            self._aliases.setdefault(alias_key, merge.into)
        self._spellings.setdefault(merge.into, set()).add(merge.alias.casefold())
        shown = self.aliases(merge.into)
        if len(shown) < MAX_ALIASES and merge.alias not in shown:
            self._g.nodes[merge.into]["aliases"] = ALIAS_SEPARATOR.join([*shown, merge.alias])

    def copy(self) -> KnowledgeGraph:
        """An independent copy, for metrics computed in another thread while the loop goes on."""
        kg = KnowledgeGraph(self.merge_threshold)
        kg._g = self._g.copy()
        kg._index = self._index.copy()
        kg._aliases = dict(self._aliases)
        kg._spellings = {k: set(v) for k, v in self._spellings.items()}
        kg._merge_keys = set(self._merge_keys)
        kg.merges = list(self.merges)
        kg.node_log = list(self.node_log)
        kg.edge_log = list(self.edge_log)
        return kg

    def mark(self) -> tuple[int, int]:
        """How many nodes and edges there are now: what a worker thread may read of the logs."""
        return len(self.node_log), len(self.edge_log)

    def to_graphml(self, path: str | Path) -> None:
        """Write GraphML with node types and attributes (networkx, Gephi, Cytoscape read it)."""
        nx.write_graphml(self._g, str(path), encoding="utf-8")


def _kind_of_key(key: str) -> NodeKind:
    if key.startswith("hypothesis:"):
        return NodeKind.HYPOTHESIS
    if key.startswith("source:"):
        return NodeKind.SOURCE
    return NodeKind.CONCEPT
