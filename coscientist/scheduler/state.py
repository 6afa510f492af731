"""The loop's in-memory view of one session, rebuilt from the store at start.

The store is the source of truth; this mirror exists so the policy and the
pairing answer in microseconds instead of querying per decision. Only the
loop changes it: effects.py for committed results, the loop for the scientist's
commands.
"""

from __future__ import annotations

import bisect
import random
from collections import deque
from dataclasses import dataclass, field

from coscientist.embedding import EmbedderInfo, EmbeddingService
from coscientist.knowledge import GraphView, KnowledgeGraph
from coscientist.knowledge.concepts import DEFAULT_MERGE_THRESHOLD
from coscientist.proximity import ProximityIndex, Vector, cached_embed, embedding_text
from coscientist.scheduler.method import MethodMemory
from coscientist.schemas import (
    GraphEdge,
    GraphMerge,
    GraphNode,
    Hypothesis,
    HypothesisStatus,
    Match,
    MetaReview,
    Rating,
    Review,
    ReviewKind,
)
from coscientist.tournament.judge_fit import Verdict
from coscientist.tournament.pairing import PairingPolicy
from coscientist.tournament.ratings import conservative, inherited

RECENT_LIMIT = 60  # reviews and matches kept for meta-review prompts


def graph_step(origin: str) -> int:
    """The step number of a graph-reasoning origin ("graph:3" -> 3); 0 for any other origin."""
    kind, _, number = origin.partition(":")
    return int(number) if kind == "graph" and number.isdigit() else 0


def _proximity_index() -> ProximityIndex:
    return ProximityIndex(embedder=cached_embed)


def _index_for(embedding: EmbeddingService) -> ProximityIndex:
    # Its own embedder serves only when the service is inline, and inline is hashed.
    return ProximityIndex(
        dim=embedding.info.dimension,
        duplicate_threshold=embedding.duplicate_threshold,
        embedder=cached_embed,
    )


@dataclass
class SessionState:
    rng: random.Random
    session_id: str = ""
    top_k: int = 5
    hypotheses: dict[str, Hypothesis] = field(default_factory=dict)
    ratings: dict[str, Rating] = field(default_factory=dict)
    reviews: dict[str, list[Review]] = field(default_factory=dict)
    recent_reviews: deque[Review] = field(default_factory=lambda: deque(maxlen=RECENT_LIMIT))
    recent_matches: deque[Match] = field(default_factory=lambda: deque(maxlen=RECENT_LIMIT))
    meta_review: MetaReview | None = None
    matches_done: int = 0
    matches_at_meta: int = 0
    proximity: ProximityIndex = field(default_factory=_proximity_index)
    # The run's embedder; hypotheses it has not embedded yet wait in `unembedded` (id -> text)
    # until scheduler/vectors.py catches up, off the loop's hot path. Until then they have
    # no neighbours and no duplicate check against them.
    embedding: EmbeddingService = field(default_factory=EmbeddingService)
    unembedded: dict[str, str] = field(default_factory=dict)
    merge_threshold: float = DEFAULT_MERGE_THRESHOLD  # cosine at which concept names merge
    kg: KnowledgeGraph = field(init=False)
    graph_question: str | None = None
    graph_iteration: int = 0  # newest iteration of any part in the graph
    graph_steps: int = 0  # graph-reasoning steps (Buehler's loop) applied
    graph_insights: list[str] = field(default_factory=list)  # cached per refresh
    graph_seeds: list[str] = field(default_factory=list)  # concepts to steer the next question
    graph_view: GraphView = field(default_factory=GraphView)  # bridges, gaps, paths; per refresh
    match_ids: set[str] = field(default_factory=set)  # applied here: never twice
    verdicts: list[Verdict] = field(default_factory=list)  # every match: the judge fit reads it
    method: MethodMemory = field(default_factory=MethodMemory)  # observations, titles, losses
    policy_members: set[str] = field(default_factory=set)
    policy: PairingPolicy = field(init=False)
    # Kept in step with every change, so no query scans all hypotheses (10,000 in a long run):
    # members, ascending (leaderboard score, id): the score is ratings.conservative
    _by_mu: list[tuple[float, str]] = field(default_factory=list)
    _unreviewed: dict[str, None] = field(default_factory=dict)  # in creation order

    def __post_init__(self) -> None:
        index, embedding = self.proximity, self.embedding
        if (index.dim, index.duplicate_threshold) != (
            embedding.info.dimension,
            embedding.duplicate_threshold,
        ):
            self.proximity = _index_for(self.embedding)
        self.embedding.listeners.append(self.reset_index)
        self.kg = KnowledgeGraph(self.merge_threshold)
        self.policy = PairingPolicy(
            self.rng, top_k=max(self.top_k, 10), neighbours=self._neighbours
        )

    def _neighbours(self, hid: str) -> list[str]:
        return self.proximity.neighbours(hid, k=10) if hid in self.proximity else []

    def reset_index(self, info: EmbedderInfo | None = None) -> None:
        """The embedder changed (started, or fell back): the index starts again with it, so
        vectors of two embedders never meet; an inline embedder fills it at once."""
        self.proximity = _index_for(self.embedding)
        self.unembedded.clear()
        for h in self.hypotheses.values():
            self._index(h, None)

    def _index(self, h: Hypothesis, vector: Vector | None) -> None:
        if vector is not None and len(vector) == self.proximity.dim:
            self.proximity.add_vector(h.id, vector)
            self.unembedded.pop(h.id, None)
            return
        text = embedding_text(h)
        if self.embedding.inline:  # the index's own embedder (a benchmark may inject one)
            self.proximity.add(h.id, text)
        else:
            self.unembedded[h.id] = text

    def index_vectors(self, key: str, vectors: dict[str, Vector]) -> None:
        """Vectors made by the embedder keyed `key`; ignored if the run's embedder changed."""
        if key != self.embedding.key:
            return
        for hid, vector in vectors.items():
            h = self.hypotheses.get(hid)
            if h is not None and (hid in self.unembedded or hid not in self.proximity):
                self._index(h, vector)

    # --- loading -------------------------------------------------------------

    def load(
        self,
        hypotheses: list[Hypothesis],
        ratings: dict[str, Rating],
        reviews: list[Review],
        matches: list[Match],
        meta_review: MetaReview | None,
        graph: tuple[list[GraphNode], list[GraphEdge]],
        vectors: dict[str, Vector] | None = None,
        merges: list[GraphMerge] | None = None,
    ) -> None:
        """Fill from the store; stored vectors (of the run's embedder: Store.vectors with its
        key) spare re-embedding every hypothesis."""
        vectors = vectors or {}
        for h in hypotheses:
            self.add_hypothesis(h, ratings.get(h.id), vectors.get(h.id))
        for r in reversed(reviews):  # store returns newest first
            self.add_review(r)
        for m in matches:
            self.policy.record(m.first_id, m.second_id)
            self.verdicts.append((m.first_id, m.second_id, m.winner_id == m.first_id))
            self.recent_matches.append(m)
            self.match_ids.add(m.id)
            self.method.on_match(m)
        self.matches_done = len(matches)
        self.meta_review = meta_review
        self.matches_at_meta = self.matches_done if meta_review else 0
        self.kg = KnowledgeGraph(self.merge_threshold)
        self.add_graph(graph[0], graph[1], merges or [], "")
        # Insights and the steering view are computed off the loop once the run starts.

    def add_graph(
        self,
        nodes: list[GraphNode],
        edges: list[GraphEdge],
        merges: list[GraphMerge],
        question: str,
    ) -> None:
        """Committed graph parts join the graph (the view follows, off the loop)."""
        self.kg.add(nodes, edges, merges)
        iterations = [n.iteration for n in nodes] + [e.iteration for e in edges]
        self.graph_iteration = max([self.graph_iteration, *iterations])
        steps = [graph_step(e.origin) for e in edges] + [graph_step(n.origin) for n in nodes]
        self.graph_steps = max([self.graph_steps, *steps])
        self.graph_question = question or self.graph_question

    # --- updates -------------------------------------------------------------

    def add_hypothesis(
        self, h: Hypothesis, rating: Rating | None = None, vector: Vector | None = None
    ) -> None:
        member = h.id in self.policy_members  # re-added: its rating may have changed
        if member:
            self._unrank(h.id)
        self.hypotheses[h.id] = h
        self.method.on_hypothesis(h)
        if rating is None:  # as the store starts it (store.content.insert_hypotheses)
            parents = [self.ratings[p].mu for p in h.parent_ids if p in self.ratings]
            mu, sigma = inherited(parents)
            rating = Rating(hypothesis_id=h.id, mu=mu, sigma=sigma)
        self.ratings[h.id] = rating
        if member:
            self._rank(h.id)
        self._index(h, vector)
        self._sync_policy(h)

    def set_status(
        self,
        hid: str,
        status: HypothesisStatus,
        duplicate_of: str | None = None,
        reason: str | None = None,
    ) -> None:
        h = self.hypotheses.get(hid)
        if h is None:
            return
        update = {"status": status, "duplicate_of": duplicate_of, "status_reason": reason}
        self.hypotheses[hid] = h.model_copy(update=update)
        self._sync_policy(self.hypotheses[hid])

    def set_pinned(self, hid: str, pinned: bool) -> None:
        h = self.hypotheses.get(hid)
        if h is not None:
            self.hypotheses[hid] = h.model_copy(update={"pinned": pinned})

    def add_review(self, review: Review) -> bool:
        """Add a review unless it is known; True when it was new."""
        known = self.reviews.setdefault(review.hypothesis_id, [])
        if any(r.id == review.id for r in known):
            return False
        known.append(review)
        self.recent_reviews.append(review)
        self.method.on_review(review)
        h = self.hypotheses.get(review.hypothesis_id)
        if h is None or review.kind != ReviewKind.INITIAL:
            return True
        update: dict[str, object] = {"reviewed": True}
        rejects = not review.passed and not review.details.get("advisory")
        if rejects and not h.pinned and h.status == HypothesisStatus.ACTIVE:
            update["status"] = HypothesisStatus.REJECTED
        self.hypotheses[h.id] = h.model_copy(update=update)
        self._sync_policy(self.hypotheses[h.id])
        return True

    def add_match(self, match: Match, winner: Rating, loser: Rating) -> None:
        self.matches_done += 1
        self.verdicts.append((match.first_id, match.second_id, match.winner_id == match.first_id))
        self.recent_matches.append(match)
        self.match_ids.add(match.id)
        self.policy.settle(match.first_id, match.second_id)
        self.method.on_match(match)
        for r in (winner, loser):
            current = self.ratings.get(r.hypothesis_id)
            if current is not None and current.matches > r.matches:
                continue  # read before a later match was applied: keep the newer rating
            member = r.hypothesis_id in self.policy_members
            if member:
                self._unrank(r.hypothesis_id)
            self.ratings[r.hypothesis_id] = r
            if member:
                self._rank(r.hypothesis_id)
                self.policy.update(r.hypothesis_id, r.mu, r.sigma)

    def _sync_policy(self, h: Hypothesis) -> None:
        """Only active, reviewed hypotheses are paired; active unreviewed ones await review."""
        self._track_unreviewed(h)
        rankable = h.status == HypothesisStatus.ACTIVE and h.reviewed
        if rankable and h.id not in self.policy_members:
            r = self.ratings[h.id]
            self.policy.add(h.id, r.mu, r.sigma, matches=r.matches, new=r.matches == 0)
            self.policy_members.add(h.id)
            self._rank(h.id)
        elif not rankable and h.id in self.policy_members:
            self.policy.remove(h.id)
            self.policy_members.discard(h.id)
            self._unrank(h.id)

    def _rank(self, hid: str) -> None:
        bisect.insort(self._by_mu, self._score(hid))

    def _unrank(self, hid: str) -> None:
        key = self._score(hid)
        at = bisect.bisect_left(self._by_mu, key)
        if at < len(self._by_mu) and self._by_mu[at] == key:
            del self._by_mu[at]

    def _score(self, hid: str) -> tuple[float, str]:
        r = self.ratings[hid]
        return conservative(r.mu, r.sigma), hid

    def _track_unreviewed(self, h: Hypothesis) -> None:
        if h.status != HypothesisStatus.ACTIVE or h.reviewed:
            self._unreviewed.pop(h.id, None)
        elif h.id not in self._unreviewed:
            self._unreviewed[h.id] = None
            if next(reversed(self.hypotheses)) != h.id:  # an older one came back: reorder
                self._unreviewed = {hid: None for hid in self.hypotheses if hid in self._unreviewed}

    # --- queries -------------------------------------------------------------

    def rankable(self) -> list[str]:
        return list(self.policy_members)

    def top_ids(self, k: int | None = None) -> list[str]:
        """Ids of the top-k (default: `top_k`) rankable hypotheses in the leaderboard's order
        (score, then id)."""
        k = self.top_k if k is None else k
        return [hid for _, hid in reversed(self._by_mu[-k:])] if k > 0 else []

    def ranked_ratings(self) -> list[tuple[str, float, float, int]]:
        """(id, mu, sigma, matches) of every rankable hypothesis, in the leaderboard's order."""
        return [
            (h, r.mu, r.sigma, r.matches)
            for _, h in reversed(self._by_mu)
            for r in [self.ratings[h]]
        ]

    def lineage(self) -> dict[str, list[str]]:
        """Each evolved hypothesis' parents (the judge fit's prior links a child to them)."""
        return {hid: h.parent_ids for hid, h in self.hypotheses.items() if h.parent_ids}

    def top(self) -> list[Hypothesis]:
        return [self.hypotheses[hid] for hid in self.top_ids()]

    def unreviewed(self) -> list[str]:
        """Active hypotheses without an initial review, oldest first."""
        return list(self._unreviewed)
