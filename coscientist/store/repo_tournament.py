"""The Store's tournament: ratings, matches, verdicts, lineage, leaderboard, rating history,
and the second judge's verdicts (the judge audit)."""

from __future__ import annotations

from typing import Any

from coscientist.schemas import LeaderboardEntry, Match, Rating, SecondOpinion
from coscientist.store import opinions, tournament
from coscientist.store.transactions import Transactions


class TournamentMethods(Transactions):
    """Part of the Store (store/repository.py)."""

    # --- tournament -------------------------------------------------------------

    def ratings(self, session_id: str) -> dict[str, Rating]:
        with self._read() as conn:
            return tournament.all_ratings(conn, session_id)

    def list_matches(self, session_id: str, since_seq: int = 0) -> list[Match]:
        """Matches with seq > since_seq, in the order they were applied."""
        with self._read() as conn:
            return tournament.list_matches(conn, session_id, since_seq)

    def verdicts(self, session_id: str) -> list[tuple[str, str, bool]]:
        """(first-shown, second-shown, the first won) of every match, in order."""
        with self._read() as conn:
            return tournament.verdicts(conn, session_id)

    def lineage(self, session_id: str) -> dict[str, list[str]]:
        with self._read() as conn:
            return tournament.lineage(conn, session_id)

    def count_matches(self, session_id: str) -> int:
        with self._read() as conn:
            return tournament.count_matches(conn, session_id)

    def leaderboard(
        self, session_id: str, top: int | None = None, include_inactive: bool = False
    ) -> list[LeaderboardEntry]:
        """Best first (mu - 2 sigma descending, then id); active hypotheses unless include_inactive."""
        with self._read() as conn:
            return tournament.leaderboard(conn, session_id, top, include_inactive)

    def rating_history(
        self, session_id: str, hypothesis_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Dicts with seq, match_id, hypothesis_id, won, mu/sigma before and after, elo_after, created_at."""
        with self._read() as conn:
            return tournament.history(conn, session_id, hypothesis_id)

    def list_second_opinions(self, session_id: str) -> list[SecondOpinion]:
        """A second judge's verdicts (store/opinions.py), oldest first."""
        with self._read() as conn:
            return opinions.list_for(conn, session_id)
