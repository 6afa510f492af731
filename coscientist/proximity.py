"""Proximity: text embeddings, near-duplicate detection, similarity graph and clusters.

The default embedding needs no weights and no network: hashed word unigrams,
word bigrams and character n-grams, each with sublinear term frequency. Feature
slots come from blake2b, never Python's per-process salted `hash()`, so a
vector is the same in every process and can be stored. A real embedding model
can be plugged in through `ProximityIndex(embedder=...)`.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from functools import lru_cache

import networkx as nx
import numpy as np
import numpy.typing as npt

from coscientist.errors import CoscientistError
from coscientist.schemas import HypothesisDraft

Vector = npt.NDArray[np.float32]
HASHED_DIM = 512
HASHED_KEY = f"hashed:ngrams-v1:{HASHED_DIM}"  # stored with its vectors (coscientist.embedding)
Embedder = Callable[[str], Vector]

# Share of the squared norm given to each feature family. Words carry topic, bigrams carry
# phrasing, character n-grams match inflections (mitochondria / mitochondrial).
_FAMILY_WEIGHTS = {"word": 0.5, "bigram": 0.1, "char": 0.4}
_CHAR_NGRAMS = (3, 4)
_TOKEN = re.compile(r"\w+")
_STOPWORDS = frozenset(
    """a an and are as at be been being but by can could did do does for from had has have
    how if in into is it its itself may might more most no nor not of on or our so such than
    that the their them then there these they this those through to too under up very was we
    were what when where which while who whom why will with would you your""".split()
)


def embedding_text(h: HypothesisDraft) -> str:
    """What a hypothesis's embedding reads: its title, statement and rationale."""
    return f"{h.title}. {h.statement} {h.rationale}"


@lru_cache(maxsize=256)
def cached_embed(text: str) -> Vector:
    """`embed`, remembered for recent texts: a new hypothesis is embedded for its duplicate
    check, again when it is indexed and once more when it is stored. The vector is
    read-only, since it is shared (also between threads: lru_cache is thread-safe)."""
    vector = embed(text)
    vector.setflags(write=False)
    return vector


def to_bytes(vector: Vector) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


def from_bytes(data: bytes) -> Vector:
    return np.frombuffer(data, dtype=np.float32)


def embed(text: str, dim: int = HASHED_DIM) -> Vector:
    """Unit-length hashed feature vector of `text` (all zeros when it has no words)."""
    if dim < 8:
        raise CoscientistError(f"embedding dimension must be at least 8, got {dim}")
    words = _TOKEN.findall(unicodedata.normalize("NFKC", text).casefold())
    content = [w for w in words if w not in _STOPWORDS] or words
    families = {
        "word": Counter(content),
        "bigram": Counter(f"{a} {b}" for a, b in itertools.pairwise(content)),
        "char": Counter(_char_ngrams(content)),
    }
    vector = np.zeros(dim, dtype=np.float64)
    for family, counts in families.items():
        part = np.zeros(dim, dtype=np.float64)
        for feature, count in counts.items():
            slot, sign = _slot(f"{family}:{feature}", dim)
            part[slot] += sign * (1.0 + math.log(count))
        norm = float(np.linalg.norm(part))
        if norm > 0.0:
            vector += math.sqrt(_FAMILY_WEIGHTS[family]) * part / norm
    norm = float(np.linalg.norm(vector))
    return (vector / norm if norm > 0.0 else vector).astype(np.float32)


def _char_ngrams(words: Iterable[str]) -> Iterable[str]:
    for word in words:
        marked = f"<{word}>"
        for n in _CHAR_NGRAMS:
            for start in range(len(marked) - n + 1):
                yield marked[start : start + n]


@lru_cache(maxsize=1 << 17)
def _slot(feature: str, dim: int) -> tuple[int, float]:
    """Stable (index, sign) of a feature; the sign keeps collisions unbiased."""
    digest = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "big")
    return digest % dim, (1.0 if digest >> 63 else -1.0)


KNN_CACHED = 16  # neighbours kept per hypothesis once asked for (a few spare for removals)


class ProximityIndex:
    """Unit vectors of the active hypotheses in one growing matrix: a lookup is one product.

    Neighbour lists are cached: a hypothesis's list is computed the first time it is asked
    for, and every later addition updates the cached lists it enters (the one product an
    addition costs), so asking again costs nothing. At 10,000 hypotheses a product takes
    about 2 ms on one core: once per hypothesis, not once per pairing decision.
    """

    def __init__(
        self,
        dim: int = HASHED_DIM,
        duplicate_threshold: float = 0.92,
        *,
        embedder: Embedder | None = None,
    ) -> None:
        if not 0.0 < duplicate_threshold <= 1.0:
            raise CoscientistError(
                f"duplicate_threshold must be in (0, 1], got {duplicate_threshold}"
            )
        self.dim = dim
        self.duplicate_threshold = duplicate_threshold
        self._embed: Embedder = embedder or (lambda text: embed(text, dim))
        self._matrix: Vector = np.zeros((64, dim), dtype=np.float32)
        self._active = np.zeros(64, dtype=bool)
        self._ids: list[str] = []  # row -> id; rows of removed ids are reused
        self._rows: dict[str, int] = {}
        self._free: list[int] = []
        # Cached neighbour lists, best first: id -> [(score, other id)], and per row the score
        # a newcomer must beat to enter that row's list (+inf: no list cached).
        self._knn: dict[str, list[tuple[float, str]]] = {}
        self._floor = np.full(64, np.inf, dtype=np.float32)

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, hid: object) -> bool:
        return hid in self._rows

    def add(self, hid: str, text: str) -> None:
        """Index (or re-index) a hypothesis by its text."""
        self.add_vector(hid, self._embed(text))

    def add_vector(self, hid: str, vector: Vector) -> None:
        """Index a precomputed vector (for example one kept in the store)."""
        unit = self._unit(vector)
        row = self._rows.get(hid)
        if row is not None:
            if np.array_equal(self._matrix[row], unit):
                return  # indexed already, nothing changed
            self.remove(hid)  # a new vector: its old place in every cached list is stale
        row = self._free.pop() if self._free else self._grow()
        self._rows[hid] = row
        self._ids[row] = hid
        self._matrix[row] = unit
        self._active[row] = True
        self._floor[row] = np.inf
        if self._knn:
            self._enter_cached_lists(hid, row, unit)

    def _enter_cached_lists(self, hid: str, row: int, unit: Vector) -> None:
        scores = self._scores(unit)
        scores[row] = -np.inf
        used = len(self._ids)
        for other in np.flatnonzero(scores > self._floor[:used]).tolist():
            known = self._knn[self._ids[other]]
            bisect.insort(known, (-float(scores[other]), hid))
            del known[KNN_CACHED:]
            if len(known) == KNN_CACHED:
                self._floor[other] = -known[-1][0]

    def remove(self, hid: str) -> None:
        """Forget a hypothesis; unknown ids are ignored (cached lists drop it when read)."""
        row = self._rows.pop(hid, None)
        if row is not None:
            self._active[row] = False
            self._matrix[row] = 0.0
            self._floor[row] = np.inf
            self._knn.pop(hid, None)
            self._free.append(row)

    def vector(self, hid: str) -> Vector:
        """The stored unit vector (a copy), for example to persist it."""
        row: Vector = self._matrix[self._row(hid)].copy()
        return row

    def near_duplicate(self, text: str) -> tuple[str, float] | None:
        """The most similar indexed hypothesis if its cosine reaches the duplicate threshold."""
        return self.near_duplicate_vector(self._embed(text)) if self._rows else None

    def near_duplicate_vector(self, vector: Vector) -> tuple[str, float] | None:
        """`near_duplicate` for a vector already made (by the index's own embedder)."""
        if not self._rows:
            return None
        scores = self._scores(self._unit(vector))
        best = int(np.argmax(scores))
        score = float(scores[best])
        return (self._ids[best], score) if score >= self.duplicate_threshold else None

    def neighbours(self, hid: str, k: int = 10, *, min_similarity: float = 0.0) -> list[str]:
        """Up to k most similar other hypotheses, most similar first, above `min_similarity`."""
        row = self._row(hid)
        if k > KNN_CACHED:
            return [other for _, other in self._nearest(row, k) if _ > min_similarity]
        known = self._knn.get(hid)
        live = [(s, o) for s, o in known or () if o in self._rows]
        wanted = min(k, len(self._rows) - 1)
        if known is None or (len(live) < wanted and len(known) == KNN_CACHED):
            # Never asked, or removals thinned a full list: one product, then cached.
            found = self._nearest(row, KNN_CACHED)
            live = [(-score, other) for score, other in found]
            self._knn[hid] = live
            full = len(live) == KNN_CACHED
            self._floor[row] = -live[-1][0] if full else -np.inf
        return [other for negative, other in live[:k] if -negative > min_similarity]

    def _nearest(self, row: int, count: int) -> list[tuple[float, str]]:
        """(score, id) of the `count` rows most similar to `row`, best first: one product."""
        scores = self._scores(self._matrix[row])
        scores[row] = -np.inf
        count = min(count, len(self._rows) - 1)
        if count <= 0:
            return []
        top = np.argpartition(-scores, count - 1)[:count]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(float(scores[r]), self._ids[int(r)]) for r in top]

    def similarity(self, a: str, b: str) -> float:
        return float(self._matrix[self._row(a)] @ self._matrix[self._row(b)])

    def graph(self, threshold: float = 0.5) -> nx.Graph:
        """Hypotheses as nodes, an edge (weight = cosine) wherever similarity reaches `threshold`."""
        graph = nx.Graph()
        rows = np.flatnonzero(self._active)
        names = [self._ids[int(r)] for r in rows]
        graph.add_nodes_from(names)
        vectors = self._matrix[rows]
        block = 1024  # bounds memory: a block of rows against all, never the full n x n matrix
        for start in range(0, len(rows), block):
            scores = vectors[start : start + block] @ vectors.T
            i, j = np.nonzero(scores >= threshold)
            i = i + start
            keep = i < j
            graph.add_weighted_edges_from(
                (names[a], names[b], float(scores[a - start, b]))
                for a, b in zip(i[keep].tolist(), j[keep].tolist(), strict=True)
            )
        return graph

    def clusters(self, threshold: float = 0.5, *, seed: int = 0) -> list[set[str]]:
        """Louvain communities of the similarity graph, largest first; loners are singletons."""
        graph = self.graph(threshold)
        if graph.number_of_nodes() == 0:
            return []
        found = nx.community.louvain_communities(graph, weight="weight", seed=seed)
        return sorted((set(c) for c in found), key=lambda c: (-len(c), min(c)))

    def _row(self, hid: str) -> int:
        try:
            return self._rows[hid]
        except KeyError:
            raise CoscientistError(f"hypothesis {hid!r} is not in the proximity index") from None

    def _scores(self, unit: Vector) -> npt.NDArray[np.float32]:
        used = len(self._ids)
        # BLAS gemv; runs hold BLAS to one thread (scheduler.loop.one_blas_thread), where it is
        # about twice as fast as einsum (0.13 against 0.26 ms of CPU at 1,000, on a loaded core)
        scores: npt.NDArray[np.float32] = self._matrix[:used] @ unit
        scores[~self._active[:used]] = -np.inf
        return scores

    def _unit(self, vector: Vector) -> Vector:
        array = np.asarray(vector, dtype=np.float32).reshape(-1)
        if array.shape[0] != self.dim:
            raise CoscientistError(
                f"embedding has {array.shape[0]} dimensions, the index expects {self.dim}"
            )
        norm = float(np.linalg.norm(array))
        return array / norm if norm > 0.0 else array

    def _grow(self) -> int:
        row = len(self._ids)
        if row == self._matrix.shape[0]:
            self._matrix = np.concatenate([self._matrix, np.zeros_like(self._matrix)])
            self._active = np.concatenate([self._active, np.zeros_like(self._active)])
            self._floor = np.concatenate([self._floor, np.full_like(self._floor, np.inf)])
        self._ids.append("")
        return row
