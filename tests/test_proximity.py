"""Proximity: hashed embeddings, near-duplicates, neighbours, graph and clusters."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import numpy as np
import pytest

from coscientist.errors import CoscientistError
from coscientist.proximity import ProximityIndex, embed

TEXTS = {
    "liver1": "Inhibiting mitochondrial complex I in hepatic stellate cells reduces liver fibrosis "
    "by lowering reactive oxygen species.",
    "liver2": "Liver fibrosis is driven by hepatic stellate cell activation through TGF-beta "
    "signalling.",
    "liver3": "Blocking TGF-beta receptors on hepatic stellate cells slows liver fibrosis "
    "progression in mice.",
    "gut1": "Gut microbiome diversity predicts response to immune checkpoint blockade in "
    "melanoma patients.",
    "gut2": "Faecal microbiota transplantation restores response to checkpoint blockade in "
    "resistant melanoma.",
    "gut3": "Specific gut bacteria enhance anti-PD-1 immunotherapy efficacy in melanoma mouse "
    "models.",
    "cell1": "Silicon anodes with a graphene coating retain lithium-ion battery capacity over "
    "many charge cycles.",
    "cell2": "Solid electrolytes suppress lithium dendrite growth and extend battery cycle life.",
    "cell3": "Nanostructured silicon anodes accommodate volume expansion during lithium "
    "insertion in batteries.",
}
REWORDED = {  # the same claims, reworded a little
    "liver1": "Inhibition of mitochondrial complex I in hepatic stellate cells reduces liver "
    "fibrosis by lowering reactive oxygen species levels.",
    "gut1": "The diversity of the gut microbiome predicts the response of melanoma patients to "
    "immune checkpoint blockade.",
}


@pytest.fixture
def index() -> ProximityIndex:
    built = ProximityIndex()
    for hid, text in TEXTS.items():
        built.add(hid, text)
    return built


def test_embeddings_are_unit_length_and_case_insensitive() -> None:
    vector = embed(TEXTS["liver1"])
    assert vector.shape == (512,) and vector.dtype == np.float32
    assert float(np.linalg.norm(vector)) == pytest.approx(1.0, abs=1e-5)
    assert float(vector @ embed(TEXTS["liver1"].upper())) == pytest.approx(1.0, abs=1e-5)
    assert embed("", dim=64).shape == (64,) and not embed("").any()


@pytest.mark.parametrize("hid", sorted(REWORDED))
def test_reworded_claims_are_duplicates(index: ProximityIndex, hid: str) -> None:
    found = index.near_duplicate(REWORDED[hid])
    assert found is not None
    assert found[0] == hid and found[1] >= index.duplicate_threshold


def test_related_but_different_claims_are_not_duplicates(index: ProximityIndex) -> None:
    for hid, text in TEXTS.items():
        index.remove(hid)
        assert index.near_duplicate(text) is None, hid  # its topic mates are not copies
        index.add(hid, text)
    assert index.near_duplicate("Quantum error correction with surface codes.") is None
    assert index.near_duplicate("") is None


def test_neighbours_share_the_topic(index: ProximityIndex) -> None:
    for hid in TEXTS:
        assert index.neighbours(hid, k=1)[0][:-1] == hid[:-1], hid
    assert set(index.neighbours("liver1", k=2)) == {"liver2", "liver3"}
    assert index.similarity("liver2", "liver3") > index.similarity("liver2", "gut1")
    assert len(index.neighbours("liver1", k=50)) <= len(TEXTS) - 1
    assert "liver1" not in index.neighbours("liver1")


def test_removed_hypotheses_disappear_and_rows_are_reused(index: ProximityIndex) -> None:
    index.remove("liver2")
    assert "liver2" not in index and len(index) == len(TEXTS) - 1
    assert "liver2" not in index.neighbours("liver3")
    index.add("liver4", TEXTS["liver2"])
    assert index.neighbours("liver3", k=1) == ["liver4"]
    with pytest.raises(CoscientistError):
        index.neighbours("liver2")


def test_graph_and_clusters_follow_topics(index: ProximityIndex) -> None:
    graph = index.graph(threshold=0.1)
    assert set(graph.nodes) == set(TEXTS)
    assert graph.has_edge("liver2", "liver3") and not graph.has_edge("liver2", "gut1")
    weight = graph.edges["liver2", "liver3"]["weight"]
    assert weight == pytest.approx(index.similarity("liver2", "liver3"), abs=1e-6)
    clusters = index.clusters(threshold=0.1)
    assert sorted(sorted(c) for c in clusters) == [
        ["cell1", "cell2", "cell3"],
        ["gut1", "gut2", "gut3"],
        ["liver1", "liver2", "liver3"],
    ]
    assert len(index.clusters(threshold=0.99)) == len(TEXTS)  # no edges: every one alone


def test_embedding_is_the_same_in_every_process() -> None:
    """blake2b feature slots, not Python's salted hash(): vectors can be stored."""
    script = (
        "import hashlib, sys; from coscientist.proximity import embed; "
        "print(hashlib.sha256(embed(sys.argv[1]).tobytes()).hexdigest())"
    )
    text = TEXTS["gut2"]
    digests = set()
    for hash_seed in ("1", "977"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-c", script, text],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        digests.add(done.stdout.strip())
    assert digests == {hashlib.sha256(embed(text).tobytes()).hexdigest()}


def test_plugged_embedder_and_dimension_checks() -> None:
    index = ProximityIndex(dim=4, embedder=lambda text: np.array([len(text), 1, 0, 0], "f4"))
    index.add("short", "ab")
    assert index.vector("short") == pytest.approx(np.array([2, 1, 0, 0]) / np.sqrt(5))
    with pytest.raises(CoscientistError):
        index.add_vector("bad", np.ones(3, dtype=np.float32))
    with pytest.raises(CoscientistError):
        ProximityIndex(duplicate_threshold=1.5)


def test_neighbours_at_10000_hypotheses_agree_with_brute_force() -> None:
    """Correctness at scale; the speed of the lookup is benchmarks/overhead.py's pair choice."""
    index = ProximityIndex()
    vectors = np.random.default_rng(0).standard_normal((10_000, 512)).astype(np.float32)
    for i, vector in enumerate(vectors):
        index.add_vector(f"h{i}", vector)
    assert len(index) == 10_000
    units = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    for i in range(0, 100, 7):
        found = index.neighbours(f"h{i}", k=10)
        scores = units @ units[i]
        scores[i] = -np.inf
        expected = [f"h{j}" for j in np.argsort(-scores, kind="stable")[:10]]
        assert found == expected


def test_cached_neighbours_equal_a_fresh_scan_through_additions_and_removals() -> None:
    """The neighbour cache is an optimisation only: after any mix of additions and removals
    every list equals what a full scan of the index gives."""
    import random

    import numpy as np

    from coscientist.proximity import KNN_CACHED, ProximityIndex

    rng = random.Random(4)
    vectors = np.random.default_rng(4)
    index = ProximityIndex(dim=32)
    alive: list[str] = []

    def scan(hid: str, k: int) -> list[str]:
        me = index.vector(hid)
        scored = sorted(
            ((-float(index.vector(o) @ me), o) for o in alive if o != hid), key=lambda t: t
        )
        return [o for s, o in scored[:k] if -s > 0.0]

    for step in range(400):
        if alive and rng.random() < 0.25:
            gone = alive.pop(rng.randrange(len(alive)))
            index.remove(gone)
        else:
            hid = f"h{step}"
            index.add_vector(hid, vectors.standard_normal(32).astype(np.float32))
            alive.append(hid)
        if step % 7 == 0 and len(alive) > 2:
            asked = rng.choice(alive)
            k = rng.choice([3, 10, KNN_CACHED])
            assert index.neighbours(asked, k=k) == scan(asked, k)
    for hid in alive:
        assert index.neighbours(hid, k=10) == scan(hid, 10)
