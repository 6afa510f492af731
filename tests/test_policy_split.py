"""The planner's split between generation and evolution (scheduler/outlook.py): expected
improvement on the best, estimated from the ratings, on small pools with known answers."""

from __future__ import annotations

import math
import random
import statistics
from collections import Counter

import pytest

from coscientist.scheduler import outlook as creation
from coscientist.scheduler.policy import Policy, Snapshot
from coscientist.scheduler.state import SessionState
from coscientist.schemas import Hypothesis, Rating, TaskKind


def test_expected_improvement_known_values() -> None:
    assert creation.expected_improvement(0.0, 1.0) == pytest.approx(1.0 / math.sqrt(2 * math.pi))
    assert creation.expected_improvement(2.0, 0.0) == 2.0
    assert creation.expected_improvement(-2.0, 0.0) == 0.0
    assert creation.expected_improvement(10.0, 1.0) == pytest.approx(10.0, abs=1e-6)
    # E[max(0, X)] for X ~ N(-1, 2^2): -1 * Phi(-0.5) + 2 * phi(0.5)
    phi = math.exp(-0.125) / math.sqrt(2 * math.pi)
    cdf = 0.5 * (1 + math.erf(-0.5 / math.sqrt(2)))
    assert creation.expected_improvement(-1.0, 2.0) == pytest.approx(-cdf + 2 * phi)


def pool(
    generated: list[float], children: list[tuple[float, int, str]], matches: int = 5
) -> SessionState:
    """Generated hypotheses g0.. with the given mu, and children (mu, parent index, strategy)
    of them, all reviewed and rated on `matches` matches."""
    state = SessionState(rng=random.Random(0), session_id="s")
    for i, mu in enumerate(generated):
        h = Hypothesis(
            id=f"g{i}",
            session_id="s",
            title=f"Generated hypothesis {i}",
            statement=f"Generated mechanism number {i} acts on outcome {i}.",
            origin="generation:debate",
            reviewed=True,
        )
        state.add_hypothesis(h, Rating(hypothesis_id=h.id, mu=mu, sigma=3.0, matches=matches))
    for j, (mu, parent, strategy) in enumerate(children):
        h = Hypothesis(
            id=f"c{j}",
            session_id="s",
            title=f"Evolved hypothesis {j}",
            statement=f"Evolved mechanism number {j} acts on outcome {j}.",
            origin=f"evolution:{strategy}",
            parent_ids=[f"g{parent}"],
            reviewed=True,
        )
        state.add_hypothesis(h, Rating(hypothesis_id=h.id, mu=mu, sigma=3.0, matches=matches))
    return state


def members(state: SessionState) -> dict[str, Rating]:
    return {hid: state.ratings[hid] for hid in state.policy_members}


GENERATED = [20.0, 22.0, 24.0, 25.0, 26.0, 28.0, 30.0]


def test_no_outlook_before_three_generated_hypotheses_are_rated() -> None:
    state = pool([25.0, 26.0, 27.0], [], matches=2)
    assert creation.outlook(state.hypotheses, members(state)) is None
    state = pool([25.0, 26.0, 27.0], [], matches=3)
    assert creation.outlook(state.hypotheses, members(state)) is not None


def test_the_estimates_match_a_hand_computation() -> None:
    # Two children of g6 (mu 30): 34 and 32, gains +4 and +2 over their parent.
    state = pool(GENERATED, [(34.0, 6, "grounding"), (32.0, 6, "coherence")])
    found = creation.outlook(state.hypotheses, members(state))
    assert found is not None
    spread = statistics.stdev(GENERATED)
    gain = (4.0 + 2.0) / (2 + creation.PRIOR_CHILDREN)
    squares = (
        (4.0 - gain) ** 2 + (2.0 - gain) ** 2 + creation.PRIOR_CHILDREN * (spread**2 + gain**2)
    )
    assert found.generated == 7 and found.children == 2
    assert found.best == 34.0
    assert found.gain == pytest.approx(gain)
    assert found.child_spread == pytest.approx(math.sqrt(squares / 4))
    mean = sum(GENERATED) / 7
    assert found.generation_ei == pytest.approx(creation.expected_improvement(mean - 34.0, spread))
    assert found.evolution_ei == pytest.approx(
        creation.expected_improvement(gain, found.child_spread)
    )
    assert found.by_strategy == {"grounding": (1, 4.0), "coherence": (1, 2.0)}


def test_children_above_their_parents_turn_creation_to_evolution() -> None:
    winning = [(mu + 4.0, i, "grounding") for i, mu in enumerate(GENERATED)]
    found = creation.outlook(pool(GENERATED, winning).hypotheses, members(pool(GENERATED, winning)))
    assert found is not None and found.evolution_share() == 1.0 - creation.FLOOR


def test_children_below_their_parents_turn_creation_back_to_generation() -> None:
    # Many children, each far below its parent: evolution's EI falls under generation's.
    losing = [(mu - 12.0, i, "grounding") for i, mu in enumerate(GENERATED)] * 3
    state = pool(GENERATED, losing)
    found = creation.outlook(state.hypotheses, members(state))
    assert found is not None
    assert found.gain < -8.0
    assert found.evolution_share() < 0.5
    assert found.generation_ei > found.evolution_ei


def test_strategies_are_weighed_by_their_childrens_gains() -> None:
    children = [(mu + 4.0, i, "grounding") for i, mu in enumerate(GENERATED)]
    children += [(mu - 6.0, i, "combination") for i, mu in enumerate(GENERATED)]
    state = pool(GENERATED, children)
    found = creation.outlook(state.hypotheses, members(state))
    assert found is not None
    weights = dict(
        zip(
            ["grounding", "combination", "coherence"],
            found.strategy_weights(["grounding", "combination", "coherence"]),
            strict=True,
        )
    )
    assert weights["grounding"] == 1.0  # the best strategy
    assert weights["combination"] < weights["coherence"] < weights["grounding"]
    assert weights["combination"] >= creation.FLOOR


def seeded_snapshot(state: SessionState) -> Snapshot:
    n = len(state.hypotheses)
    return Snapshot(
        n_hypotheses=n,
        n_rankable=n,
        matches_done=400,  # a well-ranked pool: matches do not take every slot
        has_meta_review=True,
        tasks_since_graph=0,
        max_hypotheses=n + 40,
    )


def creations(state: SessionState, n: int = 1500) -> Counter[TaskKind]:
    policy = Policy(rng=random.Random(3))
    snapshot = seeded_snapshot(state)
    counts: Counter[TaskKind] = Counter()
    for _ in range(n):
        spec = policy.next(snapshot, state)
        assert spec is not None
        counts[spec.kind] += 1
    return counts


def test_the_planner_follows_the_outlook() -> None:
    # The same pool (7 generated, 14 evolved); only whether the children beat their parents
    # differs, and with it where new hypotheses come from.
    up = [(mu + 4.0, i, "grounding") for i, mu in enumerate(GENERATED)] * 2
    down = [(mu - 12.0, i, "grounding") for i, mu in enumerate(GENERATED)] * 2
    rising, falling = creations(pool(GENERATED, up)), creations(pool(GENERATED, down))
    assert rising[TaskKind.EVOLVE] > 5 * rising[TaskKind.GENERATE]
    assert falling[TaskKind.GENERATE] > falling[TaskKind.EVOLVE]
    # the weight of creating as a whole is the same: only its split moved
    created = rising[TaskKind.EVOLVE] + rising[TaskKind.GENERATE]
    assert abs(created - falling[TaskKind.EVOLVE] - falling[TaskKind.GENERATE]) < 0.15 * created


def test_parents_are_drawn_by_the_expected_improvement_of_their_child() -> None:
    state = pool(GENERATED, [])
    for hid, matches in (("unmet", 0), ("young", 1)):
        h = Hypothesis(
            id=hid,
            session_id="s",
            title=f"A {hid} hypothesis",
            statement=f"A {hid} mechanism that has met few others acts on outcome {hid}.",
            origin="generation:debate",
            reviewed=True,
        )
        state.add_hypothesis(h, Rating(hypothesis_id=hid, mu=29.0, sigma=8.0, matches=matches))
    policy = Policy(rng=random.Random(5))
    drawn = Counter(policy.parents("grounding", state)[0].id for _ in range(3000))
    assert "unmet" not in drawn  # no verdict yet: no evidence at all
    # The best rated leads the settled ones, in order of mu; the young one, just below the
    # best but with a wide rating, is likelier still to have a child above the best.
    assert drawn["g6"] > drawn["g5"] > drawn["g4"] > drawn["g0"]
    assert drawn["young"] > drawn["g6"]
    found = creation.outlook(state.hypotheses, members(state))
    assert found is not None
    assert found.parent_weight(29.0, 8.0) > found.parent_weight(30.0, 3.0)
    pair = policy.parents("combination", state)
    assert len(pair) == 2 and pair[0].id != pair[1].id


def test_the_first_pool_is_not_overshot_by_free_slots() -> None:
    policy = Policy(rng=random.Random(0))
    cap = 60
    seed = policy.seed_pool(Snapshot(max_hypotheses=cap))
    empty = SessionState(rng=random.Random(0), session_id="s")
    inflight: Counter[TaskKind] = Counter({TaskKind.GENERATE: seed - 1})
    spec = policy.next(Snapshot(max_hypotheses=cap, in_flight=inflight), empty)
    assert spec is not None and spec.kind == TaskKind.GENERATE
    inflight[TaskKind.GENERATE] = seed
    assert policy.next(Snapshot(max_hypotheses=cap, in_flight=inflight), empty) is None
    # All of the first pool in, none of it rankable (rejected): one more generation at a time.
    stalled = Snapshot(n_hypotheses=seed, max_hypotheses=cap)
    spec = policy.next(stalled, empty)
    assert spec is not None and spec.kind == TaskKind.GENERATE
