"""The leaderboard as every display shows it: the store's rows ranked and rated by the judge
fit over the session's verdicts and lineage (tournament.confidence.annotate), with the
confidence about its top k. One function, so `show`, the TUI, the reports, `ask` and the
contacts all read the same order (the store's own `leaderboard` keeps TrueSkill's)."""

from __future__ import annotations

from coscientist.schemas import LeaderboardEntry
from coscientist.store.repository import Store
from coscientist.tournament.confidence import DEFAULT_K, TopConfidence, annotate


def ranked(
    store: Store, session_id: str, k: int = DEFAULT_K, *, seed: int | None = None
) -> tuple[list[LeaderboardEntry], TopConfidence]:
    """Active hypotheses best first, and how sure the tournament is of the top k; `seed` (the
    session's by default) fixes the posterior draws, so one state gives one answer."""
    if seed is None:
        seed = store.get_session(session_id).seed
    return annotate(
        store.leaderboard(session_id),
        k,
        seed=seed,
        verdicts=store.verdicts(session_id),
        parents=store.lineage(session_id),
    )
