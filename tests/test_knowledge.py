"""Knowledge graph: normalisation, merge bookkeeping, metrics on hand-checked graphs, GraphML.

Merging, typed nodes, the power-law fit, sampling and steering: tests/test_knowledge_growth.py."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest

from coscientist.knowledge import (
    KnowledgeGraph,
    bridges,
    hubs,
    insights,
    metrics,
    next_question_seeds,
    normalise,
)
from coscientist.knowledge.analysis import EXACT_LIMIT
from coscientist.schemas import GraphEdge, GraphNode, GraphTriple


def t(source: str, target: str, relation: str = "relates to") -> GraphTriple:
    return GraphTriple(source=source, relation=relation, target=target)


def build(pairs: list[tuple[str, str]]) -> KnowledgeGraph:
    kg = KnowledgeGraph()
    kg.merge([t(a, b) for a, b in pairs], iteration=0)
    return kg


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("Amyloid-beta Plaques.", "amyloid-beta plaque"),
        ('  "Gut   Microbiome" ', "gut microbiome"),
        ("therapies", "therapy"),
        ("classes", "class"),
        ("cell_walls", "cell wall"),
        ("(proteins)", "protein"),
        # conservative: words whose final s is not a plural stay as they are
        ("analysis", "analysis"),
        ("oxidative stress", "oxidative stress"),
        ("virus", "virus"),
        ("species", "species"),
        ("genetics", "genetics"),
        ("gas", "gas"),
        ("C++", "c++"),
        ("...", ""),
        ("The Gut Microbiome", "gut microbiome"),  # a leading article is dropped
        ("A", "a"),  # unless it is the whole name
    ],
)
def test_normalise(raw: str, key: str) -> None:
    assert normalise(raw) == key


def test_merge_normalises_dedups_and_returns_only_new_parts() -> None:
    kg = KnowledgeGraph()
    part = kg.merge(
        [
            t("Tau Proteins", "Microtubules", "stabilises"),
            t("tau protein", "microtubule", "Stabilises"),  # same edge, other spelling
            t("tau protein", "microtubule", "binds"),  # same pair, new relation: kept
            t("Neuron", "neuron"),  # self-loop after normalisation
            t("", "neuron"),  # empty name
            t("x" * 81, "neuron"),  # overlong name
            t("1.1.1", "neuron"),  # no letters: degenerate model output
            t("https://example.org/tau", "neuron"),  # a URL is not a concept
        ],
        iteration=1,
    )
    nodes, edges = part.nodes, part.edges
    assert [(n.key, n.label, n.iteration) for n in nodes] == [
        ("tau protein", "Tau Proteins", 1),
        ("microtubule", "Microtubules", 1),
    ]
    assert [(e.source, e.relation, e.target) for e in edges] == [
        ("tau protein", "stabilises", "microtubule"),
        ("tau protein", "binds", "microtubule"),
    ]
    assert (kg.nodes, kg.edges) == (2, 2)
    # the other spellings are kept as aliases, each with its reason
    assert [(m.alias, m.into, m.method) for m in part.merges] == [
        ("tau protein", "tau protein", "name"),
        ("microtubule", "microtubule", "name"),
    ]

    part = kg.merge(
        [t("TAU PROTEIN", "microtubules", "binds"), t("Tau protein", "Synapse", "reaches")],
        iteration=2,
    )
    assert [n.key for n in part.nodes] == ["synapse"]
    assert [(e.source, e.target, e.iteration) for e in part.edges] == [
        ("tau protein", "synapse", 2)
    ]
    assert kg.label("tau protein") == "Tau Proteins"  # display name as first seen
    assert (kg.nodes, kg.edges) == (3, 3)
    # "TAU PROTEIN" and "Tau protein" are spellings already known (casefolded): no new alias
    assert part.merges == []


def test_from_parts_rebuilds_what_merge_returned() -> None:
    original = KnowledgeGraph()
    part = original.merge([t("A", "B"), t("B", "C", "causes")], iteration=3)
    rebuilt = KnowledgeGraph.from_parts(part.nodes, part.edges, part.merges)
    assert (rebuilt.nodes, rebuilt.edges) == (3, 2)
    assert not rebuilt.merge([t("a", "b")], iteration=4)  # already known: an empty part
    partial = KnowledgeGraph.from_parts(
        [GraphNode(key="a", label="A")], [GraphEdge(source="a", target="z", relation="r")]
    )
    assert "z" in partial and partial.label("z") == "z"


def two_triangles() -> KnowledgeGraph:
    """a-b-c and d-e-f, joined by the path c - x - d."""
    return build(
        [
            ("a", "b"),
            ("a", "c"),
            ("b", "c"),
            ("c", "x"),
            ("x", "d"),
            ("d", "e"),
            ("d", "f"),
            ("e", "f"),
        ]
    )


def test_metrics_on_a_hand_checked_graph() -> None:
    m = metrics(two_triangles())
    assert (m.nodes, m.edges, m.links) == (7, 8, 8)
    assert m.mean_degree == pytest.approx(16 / 7)
    assert m.max_degree == 3
    assert m.density == pytest.approx(8 / 21)
    # a, b, e, f: 1; c, d: one of three neighbour pairs linked; x: 0
    assert m.clustering == pytest.approx((4 + 2 / 3) / 7)
    assert (m.components, m.largest_component_share) == (1, 1.0)
    assert m.communities == 2
    # {a,b,c} (3 links, degree sum 7) and {x,d,e,f} (4 links, 9), or its mirror: same Q
    assert m.modularity == pytest.approx(3 / 8 + 4 / 8 - (7 / 16) ** 2 - (9 / 16) ** 2)
    # degree pairs per link end: (2,2) four times, (2,3) and (3,2) six times each
    assert m.assortativity == pytest.approx(-0.6)
    assert m.tail_ratio == pytest.approx(3 / (16 / 7))


def test_metrics_of_edge_cases() -> None:
    empty = metrics(KnowledgeGraph())
    assert (empty.nodes, empty.mean_degree, empty.assortativity) == (0, 0.0, None)
    # a star: every link joins degree 3 to degree 1; assortativity is -1
    star = metrics(build([("hub", "a"), ("hub", "b"), ("hub", "c")]))
    assert star.assortativity == pytest.approx(-1.0)
    # a cycle: all degrees equal, assortativity undefined
    assert metrics(build([("a", "b"), ("b", "c"), ("c", "a")])).assortativity is None
    split = metrics(build([("a", "b"), ("c", "d"), ("d", "e")]))
    assert split.components == 2
    assert split.largest_component_share == pytest.approx(3 / 5)


def test_hubs_rank_by_distinct_neighbours() -> None:
    kg = build([("Hub", "a"), ("Hub", "b"), ("Hub", "c"), ("a", "b")])
    kg.merge([t("hub", "a", "also")], iteration=1)  # a second relation is not a new neighbour
    assert hubs(kg, k=2) == [("Hub", 3), ("a", 2)]


def test_bridges_find_the_node_joining_two_cliques() -> None:
    left = [(f"l{i}", f"l{j}") for i in range(4) for j in range(i + 1, 4)]
    right = [(f"r{i}", f"r{j}") for i in range(4) for j in range(i + 1, 4)]
    kg = build([*left, *right, ("l0", "Joint"), ("Joint", "r0")])
    top = bridges(kg, k=3)
    assert top[0][0] == "Joint"
    assert {name for name, _ in top[1:]} == {"l0", "r0"}
    # all 16 left-right pairs of the 28 pairs among the other 8 nodes pass through Joint
    assert top[0][1] == pytest.approx(16 / 28)
    assert top[1][1] == pytest.approx(15 / 28)  # l0: {l1,l2,l3} x {Joint, r0..r3}


def test_bridges_sample_on_large_graphs_and_stay_deterministic() -> None:
    # two 600-leaf stars whose centres are joined through one middle node
    pairs = [("Left hub", f"l{i}") for i in range(600)] + [
        ("Right hub", f"r{i}") for i in range(600)
    ]
    kg = build([*pairs, ("Left hub", "Middle"), ("Middle", "Right hub")])
    assert kg.nodes > EXACT_LIMIT  # the sampled estimate is what runs here
    assert metrics(kg).sampled
    first = bridges(kg, k=3, seed=1)
    assert first == bridges(kg, k=3, seed=1)
    assert {name for name, _ in first} == {"Left hub", "Middle", "Right hub"}


def test_insights_point_at_hubs_bridges_and_uncovered_areas() -> None:
    kg = two_triangles()
    lines = insights(kg, k=5)
    assert lines[0].startswith("Central concepts: c, d")
    # Louvain puts x with a, b, c. Shortest paths through x: 9, through c and d: 8 each; c's
    # neighbours are all in its own community, so it is no bridge, while x and d touch both.
    assert "Bridge concepts joining separate areas: x, d" in lines
    assert "Unexplored chain: c -[relates to]- x -[relates to]- d" in lines
    # no top hypothesis is given, so both areas are uncovered
    assert sum(line.startswith("Area no top hypothesis covers yet: ") for line in lines) == 2
    assert len(insights(kg, k=1)) == 1
    assert insights(KnowledgeGraph()) == []


def test_next_question_seeds_prefer_new_then_bridge_nodes() -> None:
    assert next_question_seeds(two_triangles(), [], k=2) == ["x", "c"]  # c, d tie: by key
    assert next_question_seeds(two_triangles(), ["not in graph"], k=1) == ["x"]

    kg = two_triangles()
    part = kg.merge([t("f", "Fresh Idea"), t("Fresh Idea", "Other Idea")], iteration=1)
    new_keys = [n.key for n in part.nodes]
    assert new_keys == ["fresh idea", "other idea"]
    # Shortest paths through each node, hand-counted: d 16, x 15, c 12, f 12, fresh idea 7.
    # New concepts take k - 1 slots (the bridging one first), the best old bridge the last.
    assert next_question_seeds(kg, new_keys, k=3) == ["Fresh Idea", "Other Idea", "d"]
    assert next_question_seeds(kg, ["other idea", "fresh idea"], k=2) == ["Fresh Idea", "d"]
    assert next_question_seeds(kg, new_keys, k=1) == ["Fresh Idea"]
    assert next_question_seeds(kg, new_keys, k=5) == ["Fresh Idea", "Other Idea", "d", "x", "c"]


def test_graphml_round_trip(tmp_path: Path) -> None:
    kg = KnowledgeGraph()
    kg.merge([t("Tau Protein", "Microtubule", "stabilises"), t("Tau proteins", "Ωmega")], 4)
    kg.merge([t("tau protein", "microtubule", "binds")], 5)
    path = tmp_path / "kg.graphml"
    kg.to_graphml(path)
    back = nx.read_graphml(path, force_multigraph=True)
    assert back.is_directed()
    assert set(back.nodes) == {"tau protein", "microtubule", "ωmega"}
    assert back.nodes["tau protein"] == {
        "label": "Tau Protein",
        "iteration": 4,
        "kind": "concept",
        "origin": "",
        "aliases": "Tau proteins",  # the second spelling, kept as an alias
    }
    relations = sorted((u, v, d["relation"], d["iteration"]) for u, v, d in back.edges(data=True))
    assert relations == [
        ("tau protein", "microtubule", "binds", 5),
        ("tau protein", "microtubule", "stabilises", 4),
        ("tau protein", "ωmega", "relates to", 4),
    ]
