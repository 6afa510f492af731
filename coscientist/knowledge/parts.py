"""What a task adds to the graph, computed without changing it (the runner calls this).

`PartBuilder` resolves each name to a node: the same normalised name is the
same concept (a new spelling is kept as an alias); a name whose embedding is
near-identical to a known concept (cosine >= the graph's merge threshold) joins
that concept, and the merge is recorded with its similarity; anything else is
a new concept. `hypothesis_part` and `text_part` build the part of a new
hypothesis and of a review's or debate's conclusion.
"""

from __future__ import annotations

from collections.abc import Sequence

from coscientist.knowledge.concepts import ConceptIndex, name_vector
from coscientist.knowledge.graph import GraphPart, KnowledgeGraph
from coscientist.knowledge.names import (
    FUNCTION_WORDS,
    clean,
    grounded,
    grounding_words,
    hypothesis_key,
    normalise,
    normalise_relation,
    source_key,
    valid_concept_key,
)
from coscientist.schemas import (
    GraphEdge,
    GraphMerge,
    GraphNode,
    GraphTriple,
    Hypothesis,
    MatchVerdict,
    NodeKind,
    ReviewDraft,
)

USES = "uses"
CITES = "cites"
INSPIRED_BY = "inspired by"
MIN_CONCEPTS = 2  # a hypothesis with fewer from its own relations is linked by mentions
MAX_MENTIONS = 4
LABEL_CHARS = 80


class PartBuilder:
    """Collects one task's nodes, edges and merges against a graph it never changes."""

    def __init__(self, kg: KnowledgeGraph, iteration: int) -> None:
        self.kg = kg
        self.iteration = iteration
        self._nodes: dict[str, GraphNode] = {}
        self._edges: dict[tuple[str, str, str], GraphEdge] = {}
        self._merges: dict[tuple[str, str], GraphMerge] = {}
        self._aliases: dict[str, str] = {}
        self._fresh: ConceptIndex | None = None  # concepts new in this part, made when needed

    def part(self) -> GraphPart:
        return GraphPart(
            list(self._nodes.values()), list(self._edges.values()), list(self._merges.values())
        )

    # --- nodes ------------------------------------------------------------------------

    def concept(self, name: str, origin: str) -> str | None:
        """The key `name` resolves to (existing, merged or new), or None for a non-concept."""
        label = clean(name)
        key = normalise(label)
        if not valid_concept_key(key):
            return None
        if self.kg.is_concept(key) or key in self._nodes:
            self._spelling(key, label, origin)
            return key
        known = self.kg.alias_of(key) or self._aliases.get(key)
        if known is not None:
            return known
        vector = name_vector(key)
        fresh = self._fresh.nearest(vector) if self._fresh is not None else None
        if fresh is not None and fresh[0] not in self._nodes:  # rolled back: not a concept
            fresh = None
        candidates = [c for c in (self.kg.nearest_concept(vector), fresh) if c is not None]
        if candidates:
            into, similarity = max(candidates, key=lambda c: c[1])
            if similarity >= self.kg.merge_threshold and not _nested(key, into):
                self._aliases[key] = into
                self._merge(label, into, "embedding", similarity, origin)
                return into
        self._nodes[key] = GraphNode(
            key=key, label=label, iteration=self.iteration, kind=NodeKind.CONCEPT, origin=origin
        )
        if self._fresh is None:
            self._fresh = ConceptIndex(capacity=8)
        self._fresh.add(key, vector)
        return key

    def node(self, key: str, label: str, kind: NodeKind, origin: str) -> str:
        if key not in self.kg and key not in self._nodes:
            self._nodes[key] = GraphNode(
                key=key,
                label=label[:LABEL_CHARS],
                iteration=self.iteration,
                kind=kind,
                origin=origin,
            )
        return key

    def _spelling(self, key: str, label: str, origin: str) -> None:
        """Another written form of a known concept is kept as an alias (once)."""
        known_label = self._nodes[key].label if key in self._nodes else self.kg.label(key)
        if label.casefold() == known_label.casefold() or self.kg.knows_spelling(key, label):
            return
        self._merge(label, key, "name", 1.0, origin)

    def _merge(self, alias: str, into: str, method: str, similarity: float, origin: str) -> None:
        if (alias, into) not in self._merges:
            self._merges[(alias, into)] = GraphMerge(
                alias=alias,
                into=into,
                method=method,
                similarity=round(similarity, 4),
                iteration=self.iteration,
                origin=origin,
            )

    # --- edges ------------------------------------------------------------------------

    def edge(self, source: str, target: str, relation: str, origin: str) -> bool:
        relation = normalise_relation(relation)
        triple = (source, target, relation)
        if source == target or triple in self._edges or self.kg.has_relation(*triple):
            return False
        self._edges[triple] = GraphEdge(
            source=source, target=target, relation=relation, iteration=self.iteration, origin=origin
        )
        return True

    def relation(
        self, source: str, relation: str, target: str, origin: str
    ) -> tuple[str, str] | None:
        """A concept-relation-concept triple; the two keys, or None when it is not usable
        (then nothing of it is kept: no dangling concept, no merge)."""
        source_name, target_name = normalise(source), normalise(target)
        if not (valid_concept_key(source_name) and valid_concept_key(target_name)):
            return None
        if source_name == target_name:
            return None
        kept = (len(self._nodes), len(self._merges), len(self._aliases))
        source_key_ = self.concept(source, origin)
        target_key = self.concept(target, origin)
        if source_key_ is None or target_key is None or source_key_ == target_key:
            self._roll_back(kept)
            return None
        self.edge(source_key_, target_key, relation, origin)
        return source_key_, target_key

    def _roll_back(self, kept: tuple[int, int, int]) -> None:
        nodes, merges, aliases = kept
        for key in list(self._nodes)[nodes:]:
            del self._nodes[key]
        for pair in list(self._merges)[merges:]:
            del self._merges[pair]
        for alias in list(self._aliases)[aliases:]:
            del self._aliases[alias]


def _nested(a: str, b: str) -> bool:
    """One name's words contain the other's: a narrower concept ("t cell" / "cell"), not a variant."""
    words_a = set(a.split()) - FUNCTION_WORDS
    words_b = set(b.split()) - FUNCTION_WORDS
    return words_a != words_b and (words_a <= words_b or words_b <= words_a)


def grounded_triples(triples: Sequence[GraphTriple], text: str) -> list[GraphTriple]:
    """Triples whose two concepts are written in `text` (most of their words, at least)."""
    words = grounding_words(text)
    kept = []
    for triple in triples:
        source, target = " ".join(triple.source.split()), " ".join(triple.target.split())
        if normalise(source) and normalise(target) and normalise(source) != normalise(target):
            if grounded(source, words) and grounded(target, words):
                kept.append(
                    GraphTriple(
                        source=source, relation=" ".join(triple.relation.split()), target=target
                    )
                )
    return kept


def hypothesis_text(h: Hypothesis) -> str:
    """Everything a hypothesis says, for grounding its relations and finding mentions."""
    return " ".join(
        [h.title, h.statement, h.rationale, h.experiment, *h.predictions, *h.assumptions]
    )


def hypothesis_part(
    builder: PartBuilder, h: Hypothesis, relations: Sequence[GraphTriple]
) -> list[str]:
    """A hypothesis node, its grounded relations, "uses" links to their concepts, its citations
    as sources and the concepts that inspired it. Returns the concept keys it links to.

    With fewer than two concepts from its own relations, known concepts its text
    mentions are linked too (no model call).
    """
    origin = f"hypothesis:{h.id}"
    node = builder.node(hypothesis_key(h.id), h.title, NodeKind.HYPOTHESIS, origin)
    text = hypothesis_text(h)
    used: dict[str, None] = {}
    for triple in grounded_triples(relations, text):
        keys = builder.relation(triple.source, triple.relation, triple.target, origin)
        for key in keys or ():
            used.setdefault(key, None)
    if len(used) < MIN_CONCEPTS:
        for key in builder.kg.mentions(text, limit=MAX_MENTIONS):
            used.setdefault(key, None)
    for key in used:
        builder.edge(node, key, USES, origin)
    for name in h.inspired_by:
        inspiring = builder.concept(name, origin)
        if inspiring is not None:
            builder.edge(node, inspiring, INSPIRED_BY, origin)
    for citation in h.citations:
        source = builder.node(
            source_key(citation.identifier),
            citation.title or citation.identifier,
            NodeKind.SOURCE,
            origin,
        )
        builder.edge(node, source, CITES, origin)
    return list(used)


def text_part(
    builder: PartBuilder, triples: Sequence[GraphTriple], text: str, origin: str
) -> list[str]:
    """Grounded triples of a review's or a debate's conclusion; the concept keys they touch."""
    touched: dict[str, None] = {}
    for triple in grounded_triples(triples, text):
        keys = builder.relation(triple.source, triple.relation, triple.target, origin)
        for key in keys or ():
            touched.setdefault(key, None)
    return list(touched)


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


def review_text(review: ReviewDraft) -> str:
    """Everything a review wrote: its relations are grounded against this."""
    return " ".join(
        [review.summary, *review.strengths, *review.weaknesses, *_strings(review.details)]
    )


def match_text(verdict: MatchVerdict) -> str:
    """The judge's conclusion (the debate transcript is argument, not conclusion)."""
    return verdict.rationale
