"""The graph grown from the session: merges with reasons, typed nodes, the power-law fit,
sampled figures, analysis of a prefix, steering views and GraphML with node types."""

from __future__ import annotations

import random
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from coscientist.knowledge import KnowledgeGraph, analyse, view
from coscientist.knowledge.analysis import EXACT_LIMIT
from coscientist.knowledge.parts import PartBuilder, hypothesis_part, text_part
from coscientist.knowledge.powerlaw import fit
from coscientist.schemas import (
    Citation,
    GraphEdge,
    GraphNode,
    GraphTriple,
    Hypothesis,
    NodeKind,
)


def t(source: str, target: str, relation: str = "affects") -> GraphTriple:
    return GraphTriple(source=source, relation=relation, target=target)


def from_edges(pairs: list[tuple[int, int]]) -> KnowledgeGraph:
    names = sorted({n for pair in pairs for n in pair})
    return KnowledgeGraph.from_parts(
        [GraphNode(key=f"c{n}", label=f"C{n}") for n in names],
        [GraphEdge(source=f"c{u}", target=f"c{v}", relation="r") for u, v in pairs],
    )


# --- merging ---------------------------------------------------------------------------


def test_near_identical_names_merge_into_one_concept_with_the_reason() -> None:
    kg = KnowledgeGraph()
    kg.merge([t("Mitochondrial dysfunction", "Oxidative stress")], 1, "hypothesis:h1")
    part = kg.merge(
        [t("mitochondria dysfunction", "Alzheimer's disease"), t("Alzheimer disease", "Tau")],
        2,
        "review:h1:initial",
    )
    assert [n.key for n in part.nodes] == ["alzheimer's disease", "tau"]
    merged = {m.alias: m for m in part.merges}
    assert merged["mitochondria dysfunction"].into == "mitochondrial dysfunction"
    assert merged["Alzheimer disease"].into == "alzheimer's disease"  # merged within the part
    for m in part.merges:
        assert m.method == "embedding" and m.similarity >= kg.merge_threshold
        assert m.origin == "review:h1:initial" and m.iteration == 2
    # the merged edge joins the existing concept; the alias now resolves without a new merge
    assert ("mitochondrial dysfunction", "alzheimer's disease") in {
        (e.source, e.target) for e in part.edges
    }
    assert kg.alias_of("mitochondria dysfunction") == "mitochondrial dysfunction"
    assert "mitochondria dysfunction" in kg.aliases("mitochondrial dysfunction")
    assert not kg.merge([t("Mitochondria dysfunction", "oxidative stress")], 3).merges


def test_narrower_and_merely_related_names_stay_apart() -> None:
    kg = KnowledgeGraph()
    kg.merge([t("cell", "tau protein"), t("antibiotic tolerance", "gut microbiome")], 1)
    part = kg.merge(
        [
            t("T cell", "tau protein aggregation"),  # narrower: words contain the other's
            t("antibiotic resistance", "gut microbiota"),  # related, not the same
        ],
        2,
    )
    assert part.merges == []
    assert {n.key for n in part.nodes} == {
        "t cell",
        "tau protein aggregation",
        "antibiotic resistance",
        "gut microbiota",
    }


def test_articles_and_function_words_do_not_keep_variants_apart() -> None:
    kg = KnowledgeGraph()
    kg.merge([t("The team has proposed gene therapy", "bacteria")], 1)
    part = kg.merge(
        [
            t("the team has proposed a gene therapy", "The bacteria"),  # a variant: merged
            t("the team has proposed a novel gene therapy", "bacteria"),  # narrower: kept apart
        ],
        2,
    )
    assert [(m.alias, m.into, m.method) for m in part.merges] == [
        ("the team has proposed a gene therapy", "team has proposed gene therapy", "embedding"),
        ("The bacteria", "bacteria", "name"),
    ]
    assert [n.key for n in part.nodes] == ["team has proposed a novel gene therapy"]


def test_the_merge_threshold_is_configurable() -> None:
    strict = KnowledgeGraph(merge_threshold=0.99)
    strict.merge([t("mitochondrial dysfunction", "stress")], 1)
    assert not strict.merge([t("mitochondria dysfunction", "stress")], 2).merges
    loose = KnowledgeGraph(merge_threshold=0.5)
    loose.merge([t("gut microbiome", "stress")], 1)
    assert loose.merge([t("gut microbiota", "stress")], 2).merges[0].into == "gut microbiome"
    with pytest.raises(ValueError, match="threshold"):
        KnowledgeGraph(merge_threshold=0.0)


def test_a_rejected_triple_leaves_no_dangling_concept() -> None:
    kg = KnowledgeGraph()
    part = kg.merge([t("Efflux pump", "1.1.1"), t("persister cells", "Persister cell")], 1)
    assert not part  # nothing at all: no node, no edge, no merge


# --- typed nodes ---------------------------------------------------------------------------


def hypothesis(**fields: object) -> Hypothesis:
    base: dict[str, object] = {
        "id": "h1",
        "session_id": "s",
        "title": "Efflux pumps protect persister cells",
        "statement": "Efflux pumps lower the drug load of persister cells under stress.",
        "origin": "generation:debate",
    }
    return Hypothesis(**{**base, **fields})


def test_a_hypothesis_links_to_its_grounded_concepts_sources_and_inspirations() -> None:
    kg = KnowledgeGraph()
    h = hypothesis(
        citations=[Citation(identifier="doi:10.1/x", title="Pumps")],
        inspired_by=["drug tolerance"],
    )
    builder = PartBuilder(kg, 1)
    used = hypothesis_part(
        builder,
        h,
        [
            t("efflux pumps", "drug load", "lower"),
            t("persister cells", "quorum sensing"),  # "quorum sensing" is not in the text
        ],
    )
    part = builder.part()
    kg.add(part.nodes, part.edges, part.merges)
    assert used == ["efflux pump", "drug load"]
    assert kg.kind("hypothesis:h1") == NodeKind.HYPOTHESIS
    assert kg.kind("source:doi:10.1/x") == NodeKind.SOURCE
    links = {(e.target, e.relation) for e in part.edges if e.source == "hypothesis:h1"}
    assert links == {
        ("efflux pump", "uses"),
        ("drug load", "uses"),
        ("drug tolerance", "inspired by"),
        ("source:doi:10.1/x", "cites"),
    }
    assert "quorum sensing" not in kg
    assert all(e.origin == "hypothesis:h1" for e in part.edges)
    assert kg.concepts_of("hypothesis:h1") == ["efflux pump", "drug load", "drug tolerance"]


def test_without_usable_relations_a_hypothesis_links_the_known_concepts_it_mentions() -> None:
    kg = KnowledgeGraph()
    kg.merge([t("persister cells", "efflux pumps"), t("stress", "biofilm")], 1)
    builder = PartBuilder(kg, 2)
    used = hypothesis_part(builder, hypothesis(), [])
    assert set(used) == {"persister cell", "efflux pump", "stress"}


def test_review_and_debate_conclusions_add_only_grounded_relations() -> None:
    kg = KnowledgeGraph()
    builder = PartBuilder(kg, 1)
    text = "The ppGpp alarmone slows ribosome activity; dormancy follows."
    touched = text_part(
        builder,
        [t("ppGpp alarmone", "ribosome activity", "slows"), t("ribosome", "CRISPR")],
        text,
        "match:a:b",
    )
    assert touched == ["ppgpp alarmone", "ribosome activity"]
    assert [e.origin for e in builder.part().edges] == ["match:a:b"]


# --- figures -------------------------------------------------------------------------------


def test_power_law_fit_recovers_known_exponents() -> None:
    ba = nx.barabasi_albert_graph(10_000, 2, seed=1)
    found = fit([d for _, d in ba.degree()])
    assert found is not None
    # igraph's power_law_fit on the same degrees: alpha 2.656917, xmin 3, KS 0.010043
    assert (found.xmin, round(found.alpha, 4), round(found.ks, 4)) == (3, 2.6569, 0.01)
    rng = np.random.default_rng(0)
    samples = np.floor((1 - rng.random(20_000)) ** (-1 / 1.5) * 0.5 + 0.5).astype(int)
    synthetic = fit(samples)
    assert synthetic is not None and abs(synthetic.alpha - 2.5) < 0.1
    assert fit([1, 2, 3]) is None and fit([4] * 50) is None


def test_cores_paths_and_diameter_on_a_hand_checked_graph() -> None:
    # a 4-clique 0-1-2-3 with a tail 3-4-5
    kg = from_edges([(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3), (3, 4), (4, 5)])
    m = analyse(kg).metrics
    assert (m.max_core, m.core_size) == (3, 4)
    assert m.diameter == 3  # 0 -> 3 -> 4 -> 5
    # 15 pairs: 6 at 1 (clique) + 2 (3-4, 4-5) ... summed by hand: 1*8 + 2*4 + 3*3 = 25
    assert m.mean_path == pytest.approx(25 / 15)
    assert not m.sampled and m.seconds is not None


def test_large_graphs_are_sampled_deterministically_and_fast_enough() -> None:
    ba = nx.barabasi_albert_graph(3 * EXACT_LIMIT, 2, seed=3)
    kg = from_edges(list(ba.edges()))
    first, second = analyse(kg, seed=5), analyse(kg, seed=5)
    assert first.metrics.sampled
    assert first.metrics.model_dump(exclude={"seconds"}) == second.metrics.model_dump(
        exclude={"seconds"}
    )
    assert first.bridges(5) == second.bridges(5)
    exact_diameter = nx.diameter(ba)
    assert first.metrics.diameter is not None and first.metrics.diameter <= exact_diameter
    assert first.metrics.diameter >= exact_diameter - 2


def test_an_analysis_reads_the_graph_as_it_was_at_its_mark() -> None:
    kg = from_edges([(0, 1), (1, 2)])
    mark = kg.mark()
    kg.merge([t("c2", "c3"), t("c3", "c4")], 2)
    then, now = analyse(kg, mark).metrics, analyse(kg).metrics
    assert (then.nodes, then.links) == (3, 2)
    assert (now.nodes, now.links) == (5, 4)


# --- steering ------------------------------------------------------------------------------


def bridged_session() -> KnowledgeGraph:
    """Two dense areas joined by one bridge concept; hypotheses h1 in one, h2 in the other."""
    kg = KnowledgeGraph()
    left = ["efflux pump", "drug load", "membrane potential", "proton motive force"]
    right = ["toxin antitoxin", "ribosome", "dormancy", "ppgpp"]
    triples = [t(a, b) for group in (left, right) for a in group for b in group if a < b]
    triples += [t("proton motive force", "atp level"), t("atp level", "dormancy")]
    kg.merge(triples, 1)
    for hid, concepts in (("h1", left[:3]), ("h2", right[:3])):
        builder = PartBuilder(kg, 2)
        h = hypothesis(id=hid, statement=" and ".join(concepts) + " matter.")
        hypothesis_part(builder, h, [t(concepts[0], concepts[1]), t(concepts[1], concepts[2])])
        part = builder.part()
        kg.add(part.nodes, part.edges, part.merges)
    return kg


def test_the_view_finds_bridges_gaps_and_a_path_between_distant_concepts() -> None:
    kg = bridged_session()
    v = view(analyse(kg), iteration=2)
    assert len(v.communities) == 2
    assert "atp level" in [b.label for b in v.bridges]
    assert all(len(b.communities) >= 2 for b in v.bridges)
    assert v.community_of("h1") != v.community_of("h2")
    # with h1 on top, only h2's area is a gap, and the other way round
    assert [c.index for c in v.gaps(["h1"])] == [v.community_of("h2")]
    assert v.gaps(["h1", "h2"]) == []
    path = v.paths[0]
    assert len(path.labels) >= 3 and len(path.relations) == len(path.labels) - 1
    assert "atp level" in path.labels  # the only way from one area to the other


def test_graphml_carries_types_and_attributes_and_loads_in_networkx(tmp_path: Path) -> None:
    kg = bridged_session()
    path = tmp_path / "kg.graphml"
    kg.to_graphml(path)
    back = nx.read_graphml(path, force_multigraph=True)
    kinds = nx.get_node_attributes(back, "kind")
    assert kinds["hypothesis:h1"] == "hypothesis" and kinds["dormancy"] == "concept"
    assert {"label", "iteration", "origin", "aliases"} <= set(back.nodes["dormancy"])
    uses = [d for u, _, d in back.edges(data=True) if u == "hypothesis:h1"]
    assert uses and all(d["relation"] == "uses" and d["origin"] == "hypothesis:h1" for d in uses)


def test_parts_do_not_change_the_graph_until_added() -> None:
    kg = KnowledgeGraph()
    kg.merge([t("a thing", "b thing")], 1)
    before = (kg.nodes, kg.edges, len(kg.merges), kg.mark())
    builder = PartBuilder(kg, 2)
    rng = random.Random(0)
    for _ in range(20):
        builder.relation(f"x{rng.randint(0, 9)} thing", "r", "a thing", "test")
    assert builder.part().nodes
    assert (kg.nodes, kg.edges, len(kg.merges), kg.mark()) == before
