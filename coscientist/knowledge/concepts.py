"""Embeddings of the concept names, for merging near-identical concepts.

One growing float32 matrix of unit vectors; a lookup is one matrix-vector
product (about 2 ms at 10,000 concepts). Rows are only ever appended, and a
reader takes the matrix and count together, so a lookup from a worker thread
never sees a half-written row.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from functools import lru_cache

import numpy as np

from coscientist.proximity import Vector

DIM = 256
# Character 3- and 4-grams, plus word bigrams of 4-letter stems at a lower weight. Whole-word
# features (coscientist.proximity.embed) made "mitochondrial dysfunction" and "mitochondria
# dysfunction" look unrelated (0.70); here they score 0.94. Measured on hand-picked pairs:
# variants of one concept score 0.90-1.0 ("alzheimer's disease" 0.99, "reactive oxygen specie"
# 0.93, "biofilms formation" 0.93); neighbouring concepts stay below the default threshold
# ("gut microbiome" / "gut microbiota" 0.83, "amyloid beta" / "beta amyloid" 0.80, "tau
# protein" / "tau protein aggregation" 0.70, "antibiotic tolerance" / "antibiotic resistance"
# 0.53). A name whose words contain the other's ("t cell" / "cell", 0.94) is never merged:
# see parts.PartBuilder.
DEFAULT_MERGE_THRESHOLD = 0.9
ORDER_WEIGHT = 0.5
_WORD = re.compile(r"\w+")


@lru_cache(maxsize=1 << 16)
def _slot(gram: str) -> tuple[int, float]:
    digest = int.from_bytes(hashlib.blake2b(gram.encode(), digest_size=8).digest(), "big")
    return digest % DIM, (1.0 if digest >> 63 else -1.0)


@lru_cache(maxsize=8192)
def name_vector(key: str) -> Vector:
    """Unit vector of a concept key's hashed character 3- and 4-grams, plus a light word-order
    feature (word bigrams) so that "feedback expression" and "expression feedback" stay two."""
    chars = np.zeros(DIM, dtype=np.float32)
    words = _WORD.findall(key.casefold())
    for word in words:
        marked = f"<{word}>"
        for n in (3, 4):
            for start in range(len(marked) - n + 1):
                slot, sign = _slot(marked[start : start + n])
                chars[slot] += sign
    order = np.zeros(DIM, dtype=np.float32)
    stems = [w[:4] for w in words if len(w) > 1]  # "mitochondrial" and "mitochondria" agree
    for first, second in itertools.pairwise(stems):
        slot, sign = _slot(f"{first} {second}")
        order[slot] += sign
    vector = _unit(_unit(chars) + ORDER_WEIGHT * _unit(order))
    vector.setflags(write=False)  # cached and shared: never to be changed in place
    return vector


def _unit(vector: Vector) -> Vector:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0.0 else vector


class ConceptIndex:
    def __init__(self, capacity: int = 64) -> None:
        self._matrix = np.zeros((capacity, DIM), dtype=np.float32)
        self._keys: list[str] = []
        self._rows: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: object) -> bool:
        return key in self._rows

    def add(self, key: str, vector: Vector | None = None) -> None:
        if key in self._rows:
            return
        n = len(self._keys)
        if n == self._matrix.shape[0]:
            grown = np.zeros((2 * n, DIM), dtype=np.float32)
            grown[:n] = self._matrix
            self._matrix = grown  # readers holding the old array still see valid rows
        self._matrix[n] = name_vector(key) if vector is None else vector
        self._keys.append(key)
        self._rows[key] = n

    def nearest(self, vector: Vector) -> tuple[str, float] | None:
        """The most similar known concept and its cosine, or None when the index is empty."""
        matrix, n = self._matrix, len(self._keys)
        if n == 0 or not vector.any():
            return None
        scores = matrix[:n] @ vector
        best = int(np.argmax(scores))
        return self._keys[best], float(scores[best])

    def copy(self) -> ConceptIndex:
        other = ConceptIndex()
        other._matrix = self._matrix.copy()
        other._keys = list(self._keys)
        other._rows = dict(self._rows)
        return other
