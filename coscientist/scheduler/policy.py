"""What runs next: the whole decision, from a snapshot of the session to a complete task spec.

The loop calls `Policy.next` whenever a slot is free, so generation, reviews,
matches and evolution interleave with no stage barriers. The answer is complete:
the kind, and for a match the pair, the order shown and the mode; for evolution
the strategy and the parents; for generation the strategy. No I/O, no agents:
the strategy names come from schemas.

The knowledge graph steers (through the state's `graph_view`, refreshed off the
loop): generation may be given concepts to build on (a bridge, an area no top
hypothesis covers; the "graph_gap" strategy writes into such an area), a
combination may pair two top hypotheses from communities a bridge joins, and
every third graph-reasoning step follows a path between two distant concepts.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

from coscientist.scheduler import outlook as creation
from coscientist.scheduler.method import debate_k
from coscientist.scheduler.state import SessionState
from coscientist.schemas import (
    EVOLUTION_STRATEGIES,
    GENERATION_STRATEGIES,
    Hypothesis,
    MatchMode,
    Rating,
    ReviewKind,
    TaskKind,
    TaskSpec,
)

SEED_POOL = 24  # see Policy.seed_pool
CALLS_PER_FIRST_MEMBER = 8  # see Policy.first_pool: a member's ~2.5 calls, three times over
DEBATE_MIN_POOL = 6  # rated hypotheses before matches within the top k are debated
DEBATE_SHARE = 0.2  # matches played as top-k debates the policy makes room for, at most
TOP_PAIR_CANDIDATES = 10  # top-k members considered for a debate pair (k grows with the pool)
DEEP_REVIEWS_IN_FLIGHT = 3  # reviews running at once before a deeper one waits
FOCUS_SHARE = 0.5  # generations of other strategies given a graph focus
BRIDGED_SHARE = 0.7  # combinations that pair across a bridge when the graph offers one
PATH_EVERY = 3  # every third graph step reasons along a path
OUTLOOK_EVERY = 4  # matches between two estimates of where new hypotheses pay (outlook.py)

# Priorities only order tasks that wait in the store (several workers, or a resume).
PRIORITY = {
    TaskKind.REVIEW: 5.0,
    TaskKind.META_REVIEW: 4.0,
    TaskKind.MATCH: 3.0,
    TaskKind.EVOLVE: 2.0,
    TaskKind.GENERATE: 2.0,
    TaskKind.GRAPH: 1.0,
}


@dataclass
class Snapshot:
    """What the policy needs to know of the session; the loop builds it for each decision."""

    n_hypotheses: int = 0  # every hypothesis, whatever its status (counts against the cap)
    n_rankable: int = 0  # active and reviewed: can be paired
    unreviewed: list[str] = field(default_factory=list)  # active, no initial review, none running
    in_flight: Counter[TaskKind] = field(default_factory=Counter)
    matches_done: int = 0
    matches_since_meta: int = 0
    tasks_since_graph: int = 0
    has_meta_review: bool = False
    max_hypotheses: int | None = None
    calls_left: int | None = None  # of the call budget, when the run has one
    top_ids: list[str] = field(default_factory=list)
    top_origins: list[str] = field(default_factory=list)  # origin of each top hypothesis
    # Top-k hypotheses lacking a deep verification or one more deeper review, with the kinds
    # of review each already has; top hypotheses that lost a match since their tournament review.
    deep_due: list[tuple[str, frozenset[ReviewKind]]] = field(default_factory=list)
    tournament_due: list[str] = field(default_factory=list)
    observations: int = 0  # the scientist's observations (observation reviews need some)
    debates_done: int = 0
    matches_since_top_change: int = 0
    literature: bool = False
    graph_enabled: bool = True
    graph_gap: bool = False  # the graph has an area no top hypothesis covers
    busy_ids: frozenset[str] = frozenset()  # hypotheses under review or in a match right now
    # Kinds whose role's model has every slot taken (a run with a model per role): a task of
    # one would only wait, holding a slot another model could use.
    full: frozenset[TaskKind] = frozenset()

    def expected_hypotheses(self) -> int:
        return (
            self.n_hypotheses + self.in_flight[TaskKind.GENERATE] + self.in_flight[TaskKind.EVOLVE]
        )

    def can_create(self) -> bool:
        return self.max_hypotheses is None or self.expected_hypotheses() < self.max_hypotheses


@dataclass
class Policy:
    rng: random.Random
    min_pool: int = 6  # hypotheses to have before the tournament starts in earnest
    meta_every: int = 20  # matches between meta-reviews
    graph_every: int = 12  # tasks between knowledge-graph steps
    top_k: int | None = None  # debates and deeper reviews within it; None: max(5, pool / 5)
    target_matches_per_hypothesis: float = 8.0
    _outlook: creation.Outlook | None = field(default=None, init=False, repr=False)
    _outlook_at: tuple[int, int] = field(default=(-1, -1), init=False, repr=False)

    def next(self, s: Snapshot, state: SessionState) -> TaskSpec | None:
        """The next task, complete, or None when nothing useful can start now.

        A match may find no pair (every candidate busy): the kind is drawn again, a few times.
        """
        outlook = self.outlook(state)
        for _ in range(3):
            spec = self._kind(s, outlook)
            if spec is None or spec.kind != TaskKind.MATCH:
                if spec is not None:
                    self._complete(spec, state)
                return spec
            if self._pair(spec, s, state):
                return spec
        return None

    def outlook(self, state: SessionState) -> creation.Outlook | None:
        """Where new hypotheses pay (outlook.py), estimated again every OUTLOOK_EVERY matches
        and whenever the pool changes; in large pools (an estimate reads every rating) every
        n/16 matches and every n/64 new members."""
        n = len(state.policy_members)
        every, step = max(OUTLOOK_EVERY, n // 16), max(1, n // 64)
        at = (state.matches_done // every, n // step)
        if at != self._outlook_at:
            members = {hid: state.ratings[hid] for hid in state.policy_members}
            self._outlook, self._outlook_at = creation.outlook(state.hypotheses, members), at
        return self._outlook

    def _complete(self, spec: TaskSpec, state: SessionState) -> None:
        """What the kind alone does not say: parents, a graph focus, a path to follow."""
        if spec.kind == TaskKind.EVOLVE:
            strategy = str(spec.payload["strategy"])
            bridged = self.bridged_pair(state) if strategy == "combination" else None
            if bridged is not None and self.rng.random() < BRIDGED_SHARE:
                parents, bridge = bridged
                spec.payload["focus"] = [bridge]
            else:
                parents = self.parents(strategy, state)
            spec.payload["parent_ids"] = [p.id for p in parents]
        elif spec.kind == TaskKind.GENERATE:
            focus = self.focus(str(spec.payload["strategy"]), state)
            if focus:
                spec.payload["focus"] = focus
        elif spec.kind == TaskKind.GRAPH:
            paths = state.graph_view.paths
            if (state.graph_steps + 1) % PATH_EVERY == 0 and paths:
                path = self.rng.choice(paths)
                spec.payload["path"] = {
                    "labels": list(path.labels),
                    "relations": list(path.relations),
                }

    def focus(self, strategy: str, state: SessionState) -> list[str]:
        """Concepts a generation builds on: an uncovered area and a bridge into it."""
        view = state.graph_view
        if view.empty or (strategy != "graph_gap" and self.rng.random() >= FOCUS_SHARE):
            return []
        gaps = view.gaps(state.top_ids())
        chosen: list[str] = []
        area = None
        if gaps:
            area = self.rng.choice(gaps[:3])
            chosen += area.top[:2]
        into = [b for b in view.bridges if area is None or area.index in b.communities]
        bridges = into or list(view.bridges)
        if bridges:
            bridge = self.rng.choice(bridges[:3]).label
            if bridge not in chosen:
                chosen.append(bridge)
        if not chosen and view.hubs:
            chosen.append(view.hubs[0].label)
        return chosen[:3]

    def bridged_pair(self, state: SessionState) -> tuple[list[Hypothesis], str] | None:
        """Two top hypotheses in different communities that one bridge concept joins."""
        view = state.graph_view
        top = state.top()
        placed = [(h, view.community_of(h.id)) for h in top]
        for bridge in view.bridges:
            joined = set(bridge.communities)
            first: dict[int, Hypothesis] = {}
            for h, community in placed:  # best first: keep the best of each community
                if community is not None and community in joined:
                    first.setdefault(community, h)
            if len(first) >= 2:
                a, b = list(first.values())[:2]
                return [a, b], bridge.label
        return None

    def _pair(self, spec: TaskSpec, s: Snapshot, state: SessionState) -> bool:
        """Complete a match: the pair in the order to show it, and the mode."""
        pool = len(state.policy_members)
        # Keep a hypothesis out of two matches at once only while the pool is large enough.
        crowded = pool < 4 * (s.in_flight[TaskKind.MATCH] + 1)
        busy = frozenset() if crowded else s.busy_ids
        pair = state.policy.choose(exclude=busy)
        if pair is None:
            return False
        first, second = pair
        # Debates (several calls) separate the best; while the pool is small every
        # hypothesis is "top", and single comparisons rank it faster.
        top = state.top_ids(debate_k(pool, self.top_k)) if pool >= DEBATE_MIN_POOL else []
        wanted = s.debates_done < DEBATE_SHARE * (s.matches_done + 1)
        if top and wanted and not (first in top and second in top):
            # The pairing policy ranks the whole pool; the top k also needs its debates.
            other = self._top_pair(top, busy, state)
            if other is not None:
                state.policy.release(first, second)
                first, second = state.policy.hand_out(*other)
        state.policy.record(first, second)
        debate = first in top and second in top
        mode = MatchMode.DEBATE if debate else MatchMode.SINGLE
        spec.payload.update(first_id=first, second_id=second, mode=mode.value)
        return True

    def _top_pair(
        self, top: list[str], busy: frozenset[str], state: SessionState
    ) -> tuple[str, str] | None:
        """The two free top-k hypotheses that have met least, the best placed among equals."""
        free = [hid for hid in top if hid not in busy][:TOP_PAIR_CANDIDATES]
        if len(free) < 2:
            return None
        shown = state.policy.shown
        pairs = [(a, b) for i, a in enumerate(free) for b in free[i + 1 :]]
        return min(pairs, key=lambda p: shown(p[0], p[1]) + shown(p[1], p[0]))

    def parents(self, strategy: str, state: SessionState) -> list[Hypothesis]:
        """Parents for an evolution strategy: drawn in proportion to the expected improvement
        of their child once the outlook has evidence (outlook.py), else from the top."""
        k = 1
        if strategy in ("inspiration", "combination", "out_of_box"):
            k = 3 if strategy != "combination" else 2
        outlook = self.outlook(state)
        members = state.policy_members
        ids = outlook.candidates if outlook is not None else ()
        rated = [state.ratings[hid] for hid in ids if hid in members]
        if outlook is not None and len(rated) >= k:
            weights = [outlook.parent_weight(r.mu, r.sigma) for r in rated]
            chosen = self._draw(rated, weights, k)
            return [state.hypotheses[r.hypothesis_id] for r in chosen]
        top = state.top()
        if not top:
            return []
        if k > 1:
            return self.rng.sample(top, min(len(top), k))
        weights = [1.0 / (i + 1) for i in range(len(top))]
        return [self.rng.choices(top, weights=weights)[0]]

    def _draw(self, items: list[Rating], weights: list[float], k: int) -> list[Rating]:
        """k distinct items, each drawn in proportion to its weight among those left."""
        pool = list(zip(items, weights, strict=True))
        chosen: list[Rating] = []
        while pool and len(chosen) < k:
            total = sum(w for _, w in pool)
            if total <= 0.0:
                at = self.rng.randrange(len(pool))
            else:
                at = self.rng.choices(range(len(pool)), weights=[w for _, w in pool])[0]
            chosen.append(pool.pop(at)[0])
        return chosen

    def _kind(self, s: Snapshot, outlook: creation.Outlook | None = None) -> TaskSpec | None:
        reviews = TaskKind.REVIEW not in s.full
        if s.unreviewed and reviews:
            hid = s.unreviewed[0]
            return self._spec(TaskKind.REVIEW, hypothesis_id=hid, kind=ReviewKind.INITIAL.value)
        deeper = self._deeper_review(s) if reviews else None
        if deeper is not None:
            return deeper
        # Graph steps come on schedule even while the pool is still filling: their insights
        # feed generation.
        if (
            TaskKind.GRAPH not in s.full
            and s.graph_enabled
            and s.tasks_since_graph >= self.graph_every
            and s.in_flight[TaskKind.GRAPH] == 0
        ):
            return self._spec(TaskKind.GRAPH)
        pool = s.n_rankable + len(s.unreviewed) + s.in_flight[TaskKind.REVIEW]
        if s.can_create() and pool + s.in_flight[TaskKind.GENERATE] < self.first_pool(s):
            return None if TaskKind.GENERATE in s.full else self._generation(s)
        if (
            TaskKind.META_REVIEW not in s.full
            and s.n_rankable >= 2
            and s.in_flight[TaskKind.META_REVIEW] == 0
            and (
                s.matches_since_meta >= self.meta_every
                or (not s.has_meta_review and s.matches_done >= self.meta_every // 2)
            )
        ):
            return self._spec(TaskKind.META_REVIEW)
        weights = {k: w for k, w in self._weights(s, outlook).items() if k not in s.full}
        if not weights:
            return None
        kinds = list(weights)
        kind = self.rng.choices(kinds, weights=[weights[k] for k in kinds])[0]
        if kind == TaskKind.MATCH:
            return self._spec(TaskKind.MATCH)
        if kind == TaskKind.GENERATE:
            return self._generation(s)
        if kind == TaskKind.EVOLVE:
            return self._evolution(s, outlook)
        hid = s.tournament_due[0]
        return self._spec(TaskKind.REVIEW, hypothesis_id=hid, kind=ReviewKind.TOURNAMENT.value)

    def _deeper_review(self, s: Snapshot) -> TaskSpec | None:
        """A hypothesis that entered the top k gets a deep verification, then one more deeper
        review (simulation, or observation review when there are observations to check it
        against), and with the literature on a full review too (first), before anything else
        but initial reviews."""
        if not s.deep_due or s.in_flight[TaskKind.REVIEW] >= DEEP_REVIEWS_IN_FLIGHT:
            return None
        hid, done = s.deep_due[0]
        if ReviewKind.DEEP_VERIFICATION not in done:
            kind = ReviewKind.DEEP_VERIFICATION
        elif s.literature and ReviewKind.FULL not in done:
            kind = ReviewKind.FULL  # with literature on, every top hypothesis gets its sources
        else:
            options = [ReviewKind.SIMULATION]
            if s.observations or s.literature:
                options.append(ReviewKind.OBSERVATION)
            kind = self.rng.choice(options)
        return self._spec(TaskKind.REVIEW, hypothesis_id=hid, kind=kind.value)

    def _weights(
        self, s: Snapshot, outlook: creation.Outlook | None = None
    ) -> dict[TaskKind, float]:
        weights: dict[TaskKind, float] = {}
        if s.n_rankable >= 2:
            per_hypothesis = 2.0 * s.matches_done / max(s.n_rankable, 1)
            # Under-ranked pools get more matches; a well-ranked pool frees slots for new ideas.
            need = max(0.2, 1.0 - per_hypothesis / self.target_matches_per_hypothesis)
            weights[TaskKind.MATCH] = 0.35 + 0.5 * need
        if s.can_create():
            stale = min(1.0, s.matches_since_top_change / 30.0)
            top = len(s.top_origins) or 1
            evolved_share = sum(o.startswith("evolution") for o in s.top_origins) / top
            generated_share = 1.0 - evolved_share if s.top_origins else 0.5
            seeded = s.expected_hypotheses() >= self.seed_pool(s)
            # The first pool, and no more than it while it is in flight (at the start every
            # slot is free and nothing else can run yet); one at a time if none of it is
            # rankable (rejected by its reviews), so that the session does not stall.
            if not seeded or (s.n_rankable < 2 and not s.in_flight[TaskKind.GENERATE]):
                weights[TaskKind.GENERATE] = 0.08 + 0.15 * generated_share
            if s.n_rankable >= 2 and not seeded:
                weights[TaskKind.EVOLVE] = 0.08 + 0.15 * evolved_share + 0.15 * stale
            if s.n_rankable >= 2 and seeded:
                # The first pool is in: the creating weight follows what wins, and once
                # ratings can say so, where a new hypothesis is expected to raise the best
                # (outlook.py; README "The planner's split").
                generate = 0.02 + 0.06 * generated_share
                evolve = 0.2 + 0.1 * evolved_share + 0.1 * stale
                if outlook is not None:
                    share = outlook.evolution_share()
                    generate, evolve = (
                        (1.0 - share) * (generate + evolve),
                        share * (generate + evolve),
                    )
                weights[TaskKind.GENERATE] = generate
                weights[TaskKind.EVOLVE] = evolve
        if s.tournament_due and s.has_meta_review and s.in_flight[TaskKind.REVIEW] < 4:
            weights[TaskKind.REVIEW] = 0.1  # a tournament review of a top hypothesis
        return weights

    def first_pool(self, s: Snapshot) -> int:
        """Hypotheses to have before matches start: min_pool, but no more than about a third
        of the calls left can make (a member costs its generation and initial review, more
        with a small model's repairs), and at least two. Only a small budget binds: at 40
        calls on the embedded model, six members left one match (README, "The planner's
        split")."""
        if s.calls_left is None:
            return self.min_pool
        return max(2, min(self.min_pool, s.calls_left // CALLS_PER_FIRST_MEMBER))

    def seed_pool(self, s: Snapshot) -> int:
        """Generated hypotheses to have before evolution takes over most of the creating:
        a third of the cap, or SEED_POOL without one."""
        cap = s.max_hypotheses
        return max(self.min_pool, cap // 3 if cap is not None else SEED_POOL)

    def _generation(self, s: Snapshot) -> TaskSpec:
        strategies = list(GENERATION_STRATEGIES)
        if not s.has_meta_review:
            strategies.remove("expansion")
        if not s.graph_gap:
            strategies.remove("graph_gap")
        return self._spec(TaskKind.GENERATE, strategy=self._adaptive(strategies, s, "generation"))

    def _evolution(self, s: Snapshot, outlook: creation.Outlook | None = None) -> TaskSpec:
        strategies = list(EVOLUTION_STRATEGIES)
        if outlook is not None and outlook.children:
            # Once children are rated, by how much each strategy's children beat their parents.
            weights = outlook.strategy_weights(strategies)
            strategy = self.rng.choices(strategies, weights=weights)[0]
        else:
            strategy = self._adaptive(strategies, s, "evolution")
        return self._spec(TaskKind.EVOLVE, strategy=strategy)

    def _adaptive(self, strategies: list[str], s: Snapshot, family: str) -> str:
        """Favour strategies whose hypotheses hold top places (plus a floor for exploration)."""
        counts = Counter(o for o in s.top_origins if o.startswith(family + ":"))
        weights = [1.0 + 2.0 * counts[f"{family}:{name}"] for name in strategies]
        return self.rng.choices(strategies, weights=weights)[0]

    @staticmethod
    def _spec(kind: TaskKind, /, **payload: object) -> TaskSpec:
        return TaskSpec(kind=kind, payload=dict(payload), priority=PRIORITY[kind])
