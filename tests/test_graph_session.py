"""A whole scripted session grows one knowledge graph from every hypothesis, review and debate,
keeps its figures as a series, steers generation with it and shows it in every export."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import networkx as nx
import pytest

from coscientist.config import Limits, Settings
from coscientist.knowledge.names import hypothesis_key
from coscientist.reports import export_session
from coscientist.reports.knowledge import load_graph
from coscientist.schemas import NodeKind
from coscientist.session import CoScientist

GOAL = "Explain why some bacteria survive antibiotics without resistance genes"


@pytest.fixture(scope="module")
def grown(tmp_path_factory: pytest.TempPathFactory) -> tuple[CoScientist, str, Path]:
    tmp = tmp_path_factory.mktemp("graph")
    settings = Settings(db=f"sqlite:///{tmp / 'g.db'}", model="scripted", seed=4, concurrency=1)
    cs = CoScientist(settings)
    session = cs.start(GOAL)
    anyio.run(session.run, Limits(max_calls=300))
    return cs, session.id, tmp


def test_a_300_call_session_grows_a_real_graph(grown: tuple[CoScientist, str, Path]) -> None:
    cs, sid, _ = grown
    kg = load_graph(cs.store, sid)
    assert kg.concepts >= 50
    hypotheses = cs.store.list_hypotheses(sid)
    assert hypotheses
    for h in hypotheses:
        assert len(kg.concepts_of(hypothesis_key(h.id))) >= 2, h.id
    origins = {e.origin.split(":")[0] for e in cs.store.graph(sid)[1]}
    # grown from the whole session, not only from the graph-reasoning steps
    assert {"hypothesis", "review", "match", "graph"} <= origins
    kinds = {n.kind for n in cs.store.graph(sid)[0]}
    assert {NodeKind.CONCEPT, NodeKind.HYPOTHESIS} <= kinds


def test_the_metrics_series_is_stored_and_grows(grown: tuple[CoScientist, str, Path]) -> None:
    cs, sid, _ = grown
    series = cs.store.graph_series(sid)
    assert len(series) >= 5
    iterations = [p.iteration for p in series]
    assert iterations == sorted(iterations)
    assert series[-1].metrics.nodes > series[0].metrics.nodes
    last = series[-1]
    assert last.metrics.nodes == load_graph(cs.store, sid).concepts  # the final point is final
    assert last.metrics.powerlaw_alpha is not None and last.metrics.modularity > 0
    assert last.hubs and last.communities
    assert all(p.metrics.seconds is not None for p in series)


def test_generation_visibly_uses_bridges_and_gaps(grown: tuple[CoScientist, str, Path]) -> None:
    cs, sid, _ = grown
    hypotheses = cs.store.list_hypotheses(sid)
    inspired = [h for h in hypotheses if h.inspired_by]
    assert inspired, "no hypothesis records the concepts that inspired it"
    kg = load_graph(cs.store, sid)
    for h in inspired:
        linked = kg.neighbours(hypothesis_key(h.id), NodeKind.CONCEPT)
        assert linked  # the inspiring concepts are graph nodes it links to
    origins = {h.origin for h in hypotheses}
    assert "generation:graph_gap" in origins


def test_exports_show_the_graph(grown: tuple[CoScientist, str, Path]) -> None:
    cs, sid, tmp = grown
    html = export_session(cs.store, sid, "html", tmp / "r.html").read_text(encoding="utf-8")
    section = html[html.index('id="knowledge-graph"') :]
    assert section.count("<svg") >= 3  # the graph and at least two metric curves
    assert "<circle" in section and "<polyline" in section
    data = json.loads(
        export_session(cs.store, sid, "json", tmp / "r.json").read_text(encoding="utf-8")
    )
    knowledge = data["knowledge"]
    assert knowledge["growth"] and knowledge["metrics"]["powerlaw_alpha"] is not None
    assert "drawing" not in knowledge
    assert any(t["concepts"] for t in data["top"])
    graphml = export_session(cs.store, sid, "graphml", tmp / "g.graphml")
    back = nx.read_graphml(graphml, force_multigraph=True)
    kinds = set(nx.get_node_attributes(back, "kind").values())
    assert kinds >= {"concept", "hypothesis"}
    assert back.number_of_nodes() == load_graph(cs.store, sid).nodes


def test_graph_rows_are_read_incrementally(grown: tuple[CoScientist, str, Path]) -> None:
    """How a planner follows what workers add to the graph: only rows past its marks."""
    cs, sid, _ = grown
    nodes, edges, merges, marks = cs.store.graph_since(sid)
    assert (len(nodes), len(edges), len(merges)) == (
        len(cs.store.graph(sid)[0]),
        len(cs.store.graph(sid)[1]),
        len(cs.store.graph_merges(sid)),
    )
    assert cs.store.graph_since(sid, marks)[:3] == ([], [], [])
    half = (marks[0] // 2, marks[1] // 2, marks[2] // 2)
    later_nodes, later_edges, _, again = cs.store.graph_since(sid, half)
    assert again == marks
    assert [n.key for n in later_nodes] == [n.key for n in nodes][-len(later_nodes) :]
    assert 0 < len(later_edges) < len(edges)
