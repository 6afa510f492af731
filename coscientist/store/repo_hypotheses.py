"""The Store's hypotheses, their vectors and embedder, reviews and observations."""

from __future__ import annotations

from typing import Any

from coscientist.errors import NotFoundError
from coscientist.proximity import Vector
from coscientist.schemas import Hypothesis, HypothesisStatus, Observation, Review, ReviewDraft
from coscientist.store import content, embeddings, rows
from coscientist.store.tables import hypotheses
from coscientist.store.transactions import Transactions


class HypothesisMethods(Transactions):
    """Part of the Store (store/repository.py)."""

    # --- hypotheses and reviews -------------------------------------------------

    def add_hypotheses(self, items: list[Hypothesis]) -> None:
        """Insert hypotheses with their initial ratings."""
        with self._write() as conn:
            for session_id in {h.session_id for h in items}:
                content.require_session(conn, session_id)
            content.insert_hypotheses(conn, items)

    def get_hypothesis(self, id_or_prefix: str, session_id: str | None = None) -> Hypothesis:
        where = [] if session_id is None else [hypotheses.c.session_id == session_id]
        with self._read() as conn:
            found = content.by_prefix(conn, hypotheses, id_or_prefix, *where)
        scope = f"session {session_id!r}" if session_id else self.url_display
        if not found:
            raise NotFoundError(f"no hypothesis {id_or_prefix!r} in {scope}")
        if len(found) > 1:
            raise NotFoundError(f"hypothesis prefix {id_or_prefix!r} is ambiguous in {scope}")
        return rows.hypothesis(found[0])

    def list_hypotheses(
        self, session_id: str, statuses: set[HypothesisStatus] | None = None
    ) -> list[Hypothesis]:
        """In creation order."""
        with self._read() as conn:
            return content.list_hypotheses(conn, session_id, statuses)

    def count_hypotheses(
        self, session_id: str, statuses: set[HypothesisStatus] | None = None
    ) -> int:
        with self._read() as conn:
            return content.count_hypotheses(conn, session_id, statuses)

    def vectors(self, session_id: str, embedder: str | None = None) -> dict[str, Vector]:
        """Stored embeddings by hypothesis id: loading a session need not re-embed.
        With `embedder` (a key of coscientist.embedding), only the vectors it made."""
        with self._read() as conn:
            return content.vectors(conn, session_id, embedder)

    def replace_vectors(self, session_id: str, embedder: str, vectors: dict[str, bytes]) -> None:
        with self._write() as conn:
            embeddings.replace_vectors(conn, session_id, embedder, vectors)

    def set_session_embedder(self, session_id: str, **fields: Any) -> None:
        """requested, name, model, dimension, fallback: see store/embeddings.py."""
        with self._write() as conn:
            embeddings.set_session_embedder(conn, session_id, **fields)

    def session_embedder(self, session_id: str) -> dict[str, Any] | None:
        with self._read() as conn:
            return embeddings.session_embedder(conn, session_id)

    def set_hypothesis_status(
        self,
        hypothesis_id: str,
        status: HypothesisStatus,
        duplicate_of: str | None = None,
        reason: str | None = None,
    ) -> None:
        with self._write() as conn:
            content.set_status(conn, hypothesis_id, status, duplicate_of, reason=reason)

    def set_pinned(self, hypothesis_id: str, pinned: bool) -> None:
        with self._write() as conn:
            content.set_pinned(conn, hypothesis_id, pinned)

    def add_review(self, session_id: str, draft: ReviewDraft) -> Review:
        with self._write() as conn:
            return content.insert_review(conn, session_id, draft)

    def list_reviews(
        self, session_id: str, hypothesis_id: str | None = None, limit: int | None = None
    ) -> list[Review]:
        """Newest first."""
        with self._read() as conn:
            return content.list_reviews(conn, session_id, hypothesis_id, limit)

    def add_observation(self, session_id: str, text: str, source: str = "scientist") -> Observation:
        with self._write() as conn:
            content.require_session(conn, session_id)
            return content.insert_observation(conn, session_id, text, source)

    def list_observations(self, session_id: str) -> list[Observation]:
        """Oldest first."""
        with self._read() as conn:
            return content.list_observations(conn, session_id)
