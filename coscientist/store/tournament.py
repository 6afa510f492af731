"""Matches and ratings: applying a verdict, the leaderboard, rating history.

A verdict is applied inside the caller's transaction: the session row is
locked first (it hands out the match sequence numbers), so concurrent writers
apply matches of one session strictly one after another, in seq order, each
from the ratings the previous one left. The session row also holds the judge's
first-position offset, which every verdict updates along with the two ratings
(tournament.ratings.update_positioned).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy import Connection, bindparam, func, select, update

from coscientist.errors import NotFoundError, StoreError
from coscientist.schemas import (
    HypothesisStatus,
    LeaderboardEntry,
    Match,
    MatchVerdict,
    Rating,
    new_id,
    utcnow,
)
from coscientist.store import rows
from coscientist.store.tables import hypotheses, matches, rating_history, ratings, sessions
from coscientist.tournament import ratings as rating_math

_STATUS = {s.value: s for s in HypothesisStatus}


class AppliedMatch(BaseModel):
    """A stored match and the ratings it left its two hypotheses with."""

    id: str
    seq: int
    winner: Rating
    loser: Rating


# Built once: statement construction costs more than executing on SQLite.
_BUMP_SEQ = (
    update(sessions)
    .where(sessions.c.id == bindparam("p_session"))
    .values(match_seq=sessions.c.match_seq + bindparam("p_count"))
    .returning(sessions.c.match_seq, sessions.c.position_mu, sessions.c.position_sigma)
)
_SET_POSITION = (
    update(sessions)
    .where(sessions.c.id == bindparam("p_session"))
    .values(position_mu=bindparam("p_mu"), position_sigma=bindparam("p_sigma"))
)
_RATINGS_FOR_UPDATE = (
    select(ratings)
    .where(
        ratings.c.session_id == bindparam("p_session"),
        ratings.c.hypothesis_id.in_(bindparam("p_ids", expanding=True)),
    )
    .with_for_update()
)
_SET_RATING = (
    update(ratings)
    .where(ratings.c.hypothesis_id == bindparam("h_id"))
    .values(
        mu=bindparam("h_mu"),
        sigma=bindparam("h_sigma"),
        matches=bindparam("h_matches"),
        wins=bindparam("h_wins"),
    )
)
_INSERT_MATCH = matches.insert()
_INSERT_HISTORY = rating_history.insert()


def _next_seqs(conn: Connection, session_id: str, count: int) -> tuple[int, tuple[float, float]]:
    """Reserve `count` sequence numbers; returns the first and the first-position offset.
    Locks the session row."""
    row = conn.execute(_BUMP_SEQ, {"p_session": session_id, "p_count": count}).one_or_none()
    if row is None:
        raise NotFoundError(f"no session {session_id!r}")
    last, position_mu, position_sigma = row
    return int(last) - count + 1, (float(position_mu), float(position_sigma))


def _load_ratings(conn: Connection, session_id: str, ids: set[str]) -> dict[str, Rating]:
    params = {"p_session": session_id, "p_ids": sorted(ids)}
    found = {
        r["hypothesis_id"]: rows.rating(r)
        for r in conn.execute(_RATINGS_FOR_UPDATE, params).mappings()
    }
    missing = ids - set(found)
    if missing:
        raise NotFoundError(f"no hypotheses {sorted(missing)} in session {session_id!r}")
    return found


def _check(verdict: MatchVerdict) -> str:
    """The loser's id; a malformed verdict is a bug in the caller."""
    pair = (verdict.first_id, verdict.second_id)
    if verdict.first_id == verdict.second_id or verdict.winner_id not in pair:
        raise StoreError(
            f"invalid match: {verdict.first_id} vs {verdict.second_id}, winner {verdict.winner_id}"
        )
    return verdict.second_id if verdict.winner_id == verdict.first_id else verdict.first_id


def apply_matches(
    conn: Connection, session_id: str, verdicts: list[MatchVerdict], task_id: str | None
) -> list[AppliedMatch]:
    if not verdicts:
        return []
    losers = [_check(v) for v in verdicts]
    seq, position = _next_seqs(conn, session_id, len(verdicts))
    current = _load_ratings(
        conn, session_id, {h for v in verdicts for h in (v.first_id, v.second_id)}
    )
    now = utcnow()
    match_rows: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    applied: list[AppliedMatch] = []
    for verdict, loser_id in zip(verdicts, losers, strict=True):
        before_w, before_l = current[verdict.winner_id], current[loser_id]
        first, second = current[verdict.first_id], current[verdict.second_id]
        first_won = verdict.winner_id == verdict.first_id
        after_first, after_second, position = rating_math.update_positioned(
            (first.mu, first.sigma), (second.mu, second.sigma), position, first_won=first_won
        )
        (wmu, wsig), (lmu, lsig) = (
            (after_first, after_second) if first_won else (after_second, after_first)
        )
        after_w = before_w.model_copy(
            update={
                "mu": wmu,
                "sigma": wsig,
                "matches": before_w.matches + 1,
                "wins": before_w.wins + 1,
            }
        )
        after_l = before_l.model_copy(
            update={"mu": lmu, "sigma": lsig, "matches": before_l.matches + 1}
        )
        current[verdict.winner_id], current[loser_id] = after_w, after_l
        match_id = new_id()
        data = verdict.model_dump()
        data.update(
            id=match_id,
            session_id=session_id,
            seq=seq,
            mode=verdict.mode.value,
            task_id=task_id,
            created_at=now,
        )
        match_rows.append(data)
        for before, after, won in ((before_w, after_w, True), (before_l, after_l, False)):
            history.append(
                {
                    "session_id": session_id,
                    "match_id": match_id,
                    "seq": seq,
                    "hypothesis_id": after.hypothesis_id,
                    "won": won,
                    "mu_before": before.mu,
                    "sigma_before": before.sigma,
                    "mu_after": after.mu,
                    "sigma_after": after.sigma,
                    "created_at": now,
                }
            )
        applied.append(AppliedMatch(id=match_id, seq=seq, winner=after_w, loser=after_l))
        seq += 1
    conn.execute(
        _SET_POSITION, {"p_session": session_id, "p_mu": position[0], "p_sigma": position[1]}
    )
    conn.execute(_INSERT_MATCH, match_rows)
    conn.execute(_INSERT_HISTORY, history)
    touched = {a.winner.hypothesis_id for a in applied} | {a.loser.hypothesis_id for a in applied}
    conn.execute(
        _SET_RATING,
        [
            {
                "h_id": h,
                "h_mu": current[h].mu,
                "h_sigma": current[h].sigma,
                "h_matches": current[h].matches,
                "h_wins": current[h].wins,
            }
            for h in sorted(touched)
        ],
    )
    return applied


_ALL_RATINGS = select(
    ratings.c.hypothesis_id, ratings.c.mu, ratings.c.sigma, ratings.c.matches, ratings.c.wins
).where(ratings.c.session_id == bindparam("p_session"))


def all_ratings(conn: Connection, session_id: str) -> dict[str, Rating]:
    """Every hypothesis' current rating; the pairing policy reads this before each match."""
    return {
        hid: Rating(hypothesis_id=hid, mu=mu, sigma=sigma, matches=played, wins=wins)
        for hid, mu, sigma, played, wins in conn.execute(_ALL_RATINGS, {"p_session": session_id})
    }


def list_matches(conn: Connection, session_id: str, since_seq: int) -> list[Match]:
    stmt = (
        select(matches)
        .where(matches.c.session_id == session_id, matches.c.seq > since_seq)
        .order_by(matches.c.seq)
    )
    return [rows.match(r) for r in conn.execute(stmt).mappings()]


_VERDICTS = (
    select(matches.c.first_id, matches.c.second_id, matches.c.winner_id)
    .where(matches.c.session_id == bindparam("p_session"))
    .order_by(matches.c.seq)
)


def verdicts(conn: Connection, session_id: str) -> list[tuple[str, str, bool]]:
    """(first-shown, second-shown, the first won) of every match, in order: what the judge
    fit reads, without the rationales and transcripts of list_matches."""
    return [
        (first, second, winner == first)
        for first, second, winner in conn.execute(_VERDICTS, {"p_session": session_id})
    ]


def lineage(conn: Connection, session_id: str) -> dict[str, list[str]]:
    """Each evolved hypothesis' parent ids, whatever its status (the judge fit's prior)."""
    stmt = select(hypotheses.c.id, hypotheses.c.parent_ids).where(
        hypotheses.c.session_id == session_id
    )
    return {hid: list(parents) for hid, parents in conn.execute(stmt) if parents}


def count_matches(conn: Connection, session_id: str) -> int:
    stmt = select(func.count()).select_from(matches).where(matches.c.session_id == session_id)
    return int(conn.execute(stmt).scalar_one())


def leaderboard(
    conn: Connection, session_id: str, top: int | None, include_inactive: bool
) -> list[LeaderboardEntry]:
    """Best first: the conservative rating (mu - 2 sigma) descending, then id among equals."""
    h, r = hypotheses, ratings
    stmt = (
        select(
            h.c.id,
            h.c.title,
            h.c.statement,
            h.c.origin,
            h.c.status,
            h.c.pinned,
            r.c.mu,
            r.c.sigma,
            r.c.matches,
            r.c.wins,
        )
        .join(r, r.c.hypothesis_id == h.c.id)
        .where(h.c.session_id == session_id)
        .order_by((r.c.mu - rating_math.CONSERVATIVE_SIGMAS * r.c.sigma).desc(), h.c.id)
    )
    if not include_inactive:
        stmt = stmt.where(h.c.status == HypothesisStatus.ACTIVE.value)
    if top is not None:
        stmt = stmt.limit(max(top, 0))
    entries = []
    for rank, (hid, title, statement, origin, status, pinned, mu, sigma, played, wins) in enumerate(
        conn.execute(stmt).all(), start=1
    ):
        entries.append(
            LeaderboardEntry(
                id=hid,
                rank=rank,
                title=title,
                statement=statement,
                origin=origin,
                status=_STATUS[status],
                pinned=pinned,
                mu=mu,
                sigma=sigma,
                elo=rating_math.to_elo(mu, sigma),
                elo_mean=rating_math.mean_elo(mu),
                elo_low=rating_math.to_elo(mu, sigma),
                elo_high=rating_math.elo_interval(mu, sigma)[1],
                matches=played,
                wins=wins,
            )
        )
    return entries


def history(conn: Connection, session_id: str, hypothesis_id: str | None) -> list[dict[str, Any]]:
    """Rating changes in match order; winner's row first within a match."""
    t = rating_history
    stmt = select(
        t.c.seq,
        t.c.match_id,
        t.c.hypothesis_id,
        t.c.won,
        t.c.mu_before,
        t.c.sigma_before,
        t.c.mu_after,
        t.c.sigma_after,
        t.c.created_at,
    ).where(t.c.session_id == session_id)
    if hypothesis_id is not None:
        stmt = stmt.where(t.c.hypothesis_id == hypothesis_id)
    result = []
    for row in conn.execute(stmt.order_by(t.c.seq, t.c.id)).mappings():
        item = dict(row)
        item["elo_after"] = rating_math.to_elo(row["mu_after"], row["sigma_after"])
        result.append(item)
    return result
