"""The policy: reviews first, a minimum pool, meta-reviews on schedule, weights that adapt,
and every spec complete (pairs, modes, parents)."""

from __future__ import annotations

import random
from collections import Counter

from coscientist.scheduler.policy import DEBATE_MIN_POOL, Policy, Snapshot
from coscientist.scheduler.state import SessionState
from coscientist.schemas import Hypothesis, MatchMode, ReviewKind, TaskKind


def state_with(n: int, seed: int = 0) -> SessionState:
    """A session state holding n reviewed, active hypotheses."""
    state = SessionState(rng=random.Random(seed), session_id="s")
    for i in range(n):
        h = Hypothesis(
            id=f"h{i}",
            session_id="s",
            title=f"Hypothesis number {i} about topic {i % 7}",
            statement=f"Mechanism {i} changes outcome {i * 3 % 11} through pathway {i % 5}.",
            origin="generation:debate",
            reviewed=True,
        )
        state.add_hypothesis(h)
    return state


def plan_many(snapshot: Snapshot, n: int = 2000, seed: int = 0) -> Counter[str]:
    policy = Policy(rng=random.Random(seed))
    state = state_with(snapshot.n_rankable, seed)
    counts: Counter[str] = Counter()
    for _ in range(n):
        spec = policy.next(snapshot, state)
        assert spec is not None
        label = spec.kind.value
        if spec.kind in (TaskKind.GENERATE, TaskKind.EVOLVE):
            label += ":" + str(spec.payload["strategy"])
        counts[label] += 1
    return counts


def test_unreviewed_hypotheses_are_reviewed_first() -> None:
    spec = Policy(rng=random.Random(0)).next(
        Snapshot(n_hypotheses=3, unreviewed=["h2", "h3"]), state_with(0)
    )
    assert spec is not None and spec.kind == TaskKind.REVIEW
    assert spec.payload == {"hypothesis_id": "h2", "kind": ReviewKind.INITIAL.value}


def test_small_pool_generates_and_cap_stops_generation() -> None:
    spec = Policy(rng=random.Random(0)).next(Snapshot(n_hypotheses=1, n_rankable=1), state_with(1))
    assert spec is not None and spec.kind == TaskKind.GENERATE
    capped = Snapshot(n_hypotheses=20, n_rankable=20, max_hypotheses=20, matches_done=5)
    counts = plan_many(capped, n=300)
    assert set(counts) <= {"match", "meta_review", "graph"}


def test_a_small_call_budget_starts_the_tournament_on_a_smaller_pool() -> None:
    policy = Policy(rng=random.Random(0))
    assert policy.first_pool(Snapshot()) == policy.min_pool == 6  # no call budget
    assert policy.first_pool(Snapshot(calls_left=500)) == 6
    assert policy.first_pool(Snapshot(calls_left=38)) == 4  # the quickstart's 40, after intake
    assert policy.first_pool(Snapshot(calls_left=5)) == 2  # a tournament needs two
    # Four rankable with 30 calls left: matches are drawn; with no budget it would generate.
    four = Snapshot(n_hypotheses=4, n_rankable=4, graph_enabled=False)
    assert Policy(rng=random.Random(0)).next(four, state_with(4)).kind == TaskKind.GENERATE
    budgeted = Snapshot(n_hypotheses=4, n_rankable=4, graph_enabled=False, calls_left=30)
    kinds = plan_many(budgeted, n=300)
    assert kinds["match"] > 200, kinds


def test_meta_review_comes_due_after_enough_matches() -> None:
    s = Snapshot(
        n_hypotheses=10, n_rankable=10, matches_done=40, matches_since_meta=25, has_meta_review=True
    )
    spec = Policy(rng=random.Random(0)).next(s, state_with(10))
    assert spec is not None and spec.kind == TaskKind.META_REVIEW


def test_strategy_weights_follow_the_origins_of_the_top() -> None:
    base = dict(
        n_hypotheses=30,
        n_rankable=30,
        matches_done=400,
        has_meta_review=True,
        matches_since_meta=0,
        tasks_since_graph=0,
    )
    neutral = plan_many(Snapshot(**base, top_origins=[]))  # type: ignore[arg-type]
    evolved = plan_many(
        Snapshot(**base, top_origins=["evolution:combination"] * 5)  # type: ignore[arg-type]
    )
    assert evolved["evolve:combination"] > 2 * neutral["evolve:combination"]
    evolve_share = sum(v for k, v in evolved.items() if k.startswith("evolve"))
    generate_share = sum(v for k, v in evolved.items() if k.startswith("generate"))
    assert evolve_share > generate_share


def test_a_match_spec_names_its_pair_order_and_mode() -> None:
    policy = Policy(rng=random.Random(1))
    small, large = state_with(4), state_with(DEBATE_MIN_POOL + 2)
    for state in (small, large):
        top = state.top_ids()
        snapshot = Snapshot(
            n_hypotheses=len(state.hypotheses),
            n_rankable=len(state.policy_members),
            matches_done=0,
            has_meta_review=True,
            top_ids=top,
            max_hypotheses=len(state.hypotheses),  # nothing more to create: only matches
        )
        specs = [policy.next(snapshot, state) for _ in range(300)]
        matches = [s for s in specs if s is not None and s.kind == TaskKind.MATCH]
        assert matches
        for spec in matches:
            first, second = spec.payload["first_id"], spec.payload["second_id"]
            assert first != second and {first, second} <= set(state.hypotheses)
            both_top = first in top and second in top
            expected = MatchMode.DEBATE if state is large and both_top else MatchMode.SINGLE
            assert spec.payload["mode"] == expected.value
        if state is small:  # a pool under DEBATE_MIN_POOL is never debated
            assert {s.payload["mode"] for s in matches} == {MatchMode.SINGLE.value}


def test_busy_hypotheses_are_left_out_of_new_pairs_in_a_large_pool() -> None:
    state = state_with(40)
    busy = frozenset(list(state.hypotheses)[:10])
    snapshot = Snapshot(
        n_hypotheses=40, n_rankable=40, has_meta_review=True, busy_ids=busy, top_ids=[]
    )
    policy = Policy(rng=random.Random(2))
    for _ in range(200):
        spec = policy.next(snapshot, state)
        if spec is not None and spec.kind == TaskKind.MATCH:
            assert not {spec.payload["first_id"], spec.payload["second_id"]} & busy


def test_an_evolution_spec_carries_its_parents() -> None:
    state = state_with(12)
    snapshot = Snapshot(
        n_hypotheses=12,
        n_rankable=12,
        matches_done=100,
        has_meta_review=True,
        matches_since_top_change=60,
        top_origins=["evolution:grounding"] * 5,
    )
    policy = Policy(rng=random.Random(3))
    evolved = [
        spec
        for spec in (policy.next(snapshot, state) for _ in range(400))
        if spec is not None and spec.kind == TaskKind.EVOLVE
    ]
    assert evolved
    top = set(state.top_ids())
    for spec in evolved:
        parents = spec.payload["parent_ids"]
        assert parents and set(parents) <= top
        expected = 2 if spec.payload["strategy"] == "combination" else None
        if expected is not None:
            assert len(parents) == expected


def test_once_the_seed_pool_is_in_evolution_creates_most() -> None:
    """A third of the cap generated, new hypotheses come mostly from evolution; before, from
    generation; and never an evolution with fewer than two rankable hypotheses."""
    base = dict(max_hypotheses=60, matches_done=60, has_meta_review=True, tasks_since_graph=0)

    def created(counts: Counter[str], kind: str) -> int:
        return sum(v for k, v in counts.items() if k.startswith(kind))

    early = plan_many(Snapshot(n_hypotheses=12, n_rankable=12, **base))  # type: ignore[arg-type]
    late = plan_many(Snapshot(n_hypotheses=24, n_rankable=24, **base))  # type: ignore[arg-type]
    assert created(early, "generate") > created(early, "evolve")
    assert created(late, "evolve") > 3 * created(late, "generate")
    reviewing = Counter({TaskKind.REVIEW: 8})  # the pool is there, its reviews are not done
    lone = plan_many(
        Snapshot(n_hypotheses=30, n_rankable=1, in_flight=reviewing, **base),  # type: ignore[arg-type]
        n=300,
    )
    assert created(lone, "evolve") == 0 and created(lone, "generate") > 0


def test_the_graph_steers_combination_generation_and_reasoning_paths() -> None:
    from coscientist.knowledge.steering import Bridge, ConceptPath, GraphView
    from coscientist.schemas import Community

    state = state_with(8)
    top = state.top_ids()
    # top[0] and top[2] sit in communities 0 and 1, which the bridge "atp level" joins;
    # community 2 holds no top hypothesis: a gap.
    state.graph_view = GraphView(
        communities=(
            Community(index=0, size=4, top=["efflux pump", "drug load"]),
            Community(index=1, size=4, top=["dormancy", "ppgpp"]),
            Community(index=2, size=3, top=["biofilm matrix", "quorum sensing"]),
        ),
        bridges=(Bridge("atp level", "atp level", 0.4, (0, 1)),),
        paths=(ConceptPath(("efflux pump", "atp level", "dormancy"), ("drains", "<-slows")),),
        hypothesis_community={top[0]: 0, top[1]: 0, top[2]: 1},
    )
    policy = Policy(rng=random.Random(1))
    pair = policy.bridged_pair(state)
    assert pair is not None
    parents, bridge = pair
    assert [p.id for p in parents] == [top[0], top[2]] and bridge == "atp level"

    # A graph_gap generation builds on the uncovered area and a bridge.
    focus = policy.focus("graph_gap", state)
    assert focus[:2] == ["biofilm matrix", "quorum sensing"] and focus[2] == "atp level"
    snapshot = Snapshot(
        n_hypotheses=8, n_rankable=8, matches_done=40, has_meta_review=True, graph_gap=True
    )
    specs = [policy.next(snapshot, state) for _ in range(600)]
    gaps = [s for s in specs if s and s.payload.get("strategy") == "graph_gap"]
    assert gaps and all(s.payload["focus"] for s in gaps)
    bridged = [
        s for s in specs if s and s.kind == TaskKind.EVOLVE and s.payload.get("focus") == [bridge]
    ]
    assert bridged and all(s.payload["parent_ids"] == [top[0], top[2]] for s in bridged)
    # Without the flag the strategy is never drawn.
    quiet = Snapshot(n_hypotheses=8, n_rankable=8, matches_done=40, has_meta_review=True)
    assert all(
        (s is None or s.payload.get("strategy") != "graph_gap")
        for s in (policy.next(quiet, state) for _ in range(300))
    )
    # Every third graph step follows a path of the graph.
    state.graph_steps = 2
    graph = Snapshot(n_hypotheses=8, n_rankable=8, tasks_since_graph=50)
    spec = policy.next(graph, state)
    assert spec is not None and spec.kind == TaskKind.GRAPH
    assert spec.payload["path"] == {
        "labels": ["efflux pump", "atp level", "dormancy"],
        "relations": ["drains", "<-slows"],
    }
    state.graph_steps = 3
    spec = policy.next(graph, state)
    assert spec is not None and "path" not in spec.payload
