"""Which pair the tournament judges next.

Every judged match costs a model call, so the policy spends them where they
change what a scientist reads: the top of the leaderboard. An item's
*relevance* is the chance that it sits on the wrong side of the top-k boundary,
Phi(-|mu - boundary| / sigma), scaled by sigma so that an item the tournament
already knows well stops absorbing matches, plus a small share of plain
uncertainty so the rest of the ranking keeps improving, plus a bonus for new
hypotheses until they have played twice. The most relevant candidate is paired
with the opponent that maximises the expected information of the match (close
in mu, still uncertain) times the pair's joint relevance, with a bonus for
hypotheses the proximity index calls similar and a penalty for every earlier
meeting of the pair. A repeated pair is shown in the order shown less often (so
alternating); a runner-up candidate steps in when the best pair has already
been shown both ways, and a new pair puts first the item shown first less
often, so the judge's first-position bias cancels instead of favouring anyone.

Matches run concurrently, so a pair is chosen before the verdicts of the
pairs handed out just before it are known. A hypothesis with matches still
running counts as if those had been played (its sigma shrunk by the expected
gain of each, `_pending`), so 32 slots do not all go to the one hypothesis that
was most uncertain a moment ago. `settle` ends a pending match.

Every `_AUDIT_EVERY`-th choice audits the judge: a pair of the top region
that was judged once is shown again in the reverse order. The verdicts count
like any other; the report reads the pairs seen both ways to tell how
consistent the judge is and which top ranks rest on verdicts that flipped.

The policy only picks pairs; the leaderboard ranks by its own rule. Speed: nothing scans all items per choice. Candidates are the top region
of a list kept sorted by mu, the oldest new hypotheses, a few random draws, the
sorted-order window around the first item and its proximity neighbours, so a
choice costs about the same at 100 or 10,000 hypotheses. The one scan is a
proximity lookup, cached, made at most once per choice and only for a new or
top-region hypothesis.
"""

from __future__ import annotations

import bisect
import heapq
import math
import random
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice

from coscientist.errors import CoscientistError
from coscientist.tournament.ratings import BETA, INITIAL_SIGMA

Neighbours = Callable[[str], Sequence[str]]

# Chosen with benchmarks/ranking.py (40 seeds, both spreads); recall was flat within noise
# over wide ranges (explore 0.05-0.3, tail shape of the wrong-side probability, fresh
# matches 1-3, repeat penalty, a bonus for opponents across the boundary).
_FRESH_MATCHES = 2  # a new hypothesis gets a bonus until it has played this often
_FRESH_BONUS = 1.0
_EXPLORE = 0.15  # share of plain uncertainty in relevance
_SIMILAR_BONUS = 0.5
_JITTER = 0.1  # random tie-breaking among nearly equally relevant first items
_FIRSTS = 3  # most relevant items tried, in order, to avoid repeating a shown order
_TWO_BETA_SQUARED = 2.0 * BETA * BETA
_MAX_PENDING = 16  # running matches of one hypothesis counted (a bound on the loop)
_AUDIT_EVERY = 12  # one choice in this many re-shows a top pair reversed, when one waits


@dataclass(slots=True)
class _Entry:
    mu: float
    sigma: float
    matches: int
    shown_first: int = 0
    shown_second: int = 0
    pending: int = 0  # handed out, verdict not yet in


class PairingPolicy:
    """Chooses the next pair to judge; the caller reports judged pairs and new ratings."""

    def __init__(
        self,
        rng: random.Random,
        *,
        top_k: int = 10,
        neighbours: Neighbours | None = None,
        window: int = 8,
        sample: int = 16,
    ) -> None:
        if top_k < 1 or window < 0 or sample < 0:
            raise CoscientistError(
                f"need top_k >= 1, window >= 0, sample >= 0; got {top_k}, {window}, {sample}"
            )
        self._rng = rng
        self._top_k = top_k
        self._neighbours = neighbours
        self._window = window  # sorted-order neighbours considered on each side
        self._sample = sample  # random draws and new hypotheses considered per choice
        self._entries: dict[str, _Entry] = {}
        self._order: list[tuple[float, str]] = []  # (-mu, id): best first
        self._fresh: dict[str, None] = {}  # new hypotheses short of matches, oldest first
        self._shown: dict[tuple[str, str], int] = {}  # (first, second) -> times shown in that order
        self._met: dict[tuple[str, str], int] = {}  # sorted pair -> times shown in either order
        self._last_first: dict[tuple[str, str], str] = {}  # sorted pair -> shown first last time
        self._handed: dict[tuple[str, str], int] = {}  # handed out, not yet recorded or released
        self._similar_cache: dict[str, tuple[int, list[str]]] = {}  # id -> (field size, neighbours)
        # Top-region pairs shown in one order so far, oldest first: what an audit re-shows.
        self._auditable: deque[tuple[str, str]] = deque(maxlen=8 * top_k)
        self._choices = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, hid: object) -> bool:
        return hid in self._entries

    # --- state kept in step with the store ------------------------------------------------

    def add(self, hid: str, mu: float, sigma: float, *, matches: int = 0, new: bool = True) -> None:
        """Make a hypothesis eligible; `new=False` for ones restored from the store."""
        if hid in self._entries:
            self.update(hid, mu, sigma)
            return
        self._entries[hid] = _Entry(mu, sigma, matches)
        bisect.insort(self._order, (-mu, hid))
        if new and matches < _FRESH_MATCHES:
            self._fresh[hid] = None

    def update(self, hid: str, mu: float, sigma: float) -> None:
        """New rating after a match; unknown (removed) ids are ignored."""
        entry = self._entries.get(hid)
        if entry is None:
            return
        self._unsort(hid, entry.mu)
        entry.mu, entry.sigma = mu, sigma
        bisect.insort(self._order, (-mu, hid))

    def remove(self, hid: str) -> None:
        """Retired, duplicate or rejected: never paired again."""
        entry = self._entries.pop(hid, None)
        if entry is not None:
            self._unsort(hid, entry.mu)
            self._fresh.pop(hid, None)
            self._similar_cache.pop(hid, None)

    def record(self, first: str, second: str) -> None:
        """A judged pair, in the order the judge saw it."""
        pair = (first, second)
        if self._handed.get(pair, 0) > 0:
            self._handed[pair] -= 1  # already counted when handed out
        else:
            self._count(pair, 1)
        for hid in pair:
            entry = self._entries.get(hid)
            if entry is not None:
                entry.matches += 1
                if entry.matches >= _FRESH_MATCHES:
                    self._fresh.pop(hid, None)

    def release(self, first: str, second: str) -> None:
        """A pair whose match failed, handed out or already recorded: it counts as never shown."""
        self.settle(first, second)
        pair = (first, second)
        if self._handed.get(pair, 0) > 0:
            self._handed[pair] -= 1
        elif self._shown.get(pair, 0) > 0:
            for hid in pair:
                entry = self._entries.get(hid)
                if entry is not None and entry.matches > 0:
                    entry.matches -= 1
        else:
            return
        self._count(pair, -1)
        if self._met.get(_key(first, second), 0) == 0:
            self._last_first.pop(_key(first, second), None)

    def shown(self, first: str, second: str) -> int:
        """Times the pair was shown in this order, counting handed-out matches still running."""
        return self._shown.get((first, second), 0)

    def ranking(self) -> list[str]:
        """Eligible ids by TrueSkill mu, best first: the leaderboard's order."""
        return [hid for _, hid in self._order]

    # --- choosing -------------------------------------------------------------------------

    def choose(self, exclude: Collection[str] = ()) -> tuple[str, str] | None:
        """The next pair in the order to show it, or None with fewer than two eligible.

        `exclude`: hypotheses busy in a running match. The pair counts as shown until
        `record` confirms it or `release` gives it back.
        """
        blocked = set(exclude)
        if sum(1 for hid in blocked if hid in self._entries) > len(self._entries) - 2:
            return None
        top = dict.fromkeys(self._top(blocked))
        self._choices += 1
        audit = self._audit(top) if self._choices % _AUDIT_EVERY == 0 else None
        if audit is not None:
            return self._hand_out(audit)
        boundary = self._boundary()
        relevance = {
            hid: self._relevance(hid, boundary) for hid in self._first_candidates(top, blocked)
        }
        jittered = {h: r * (1.0 + _JITTER * self._rng.random()) for h, r in relevance.items()}
        firsts = heapq.nlargest(_FIRSTS, jittered, key=jittered.__getitem__)
        shared = self._shared_opponents(top, blocked)
        first = best = ""
        for rank, candidate in enumerate(firsts):
            worth_a_lookup = rank == 0 and (candidate in top or candidate in self._fresh)
            similar = self._similar(candidate, blocked, lookup=worth_a_lookup)
            others = self._opponents(candidate, blocked, similar, shared)
            other = self._best_opponent(candidate, others, similar, relevance, boundary)
            if not first:
                first, best = candidate, other
            if not self._both_orders_shown(candidate, other):
                first, best = candidate, other
                break  # a runner-up first item only steps in to avoid a same-order repeat
        if not best:  # only with a tiny window and sample: take any eligible opponent
            best = next(h for _, h in self._order if h != first and h not in blocked)
        pair = self._balanced_order(first, best)
        if first in top and best in top and not self._both_orders_shown(*pair):
            self._auditable.append(pair)
        return self._hand_out(pair)

    def hand_out(self, a: str, b: str) -> tuple[str, str]:
        """A pair the caller chose itself (the top k's debates), in the order to show it:
        counted as shown and pending like a pair `choose` hands out."""
        return self._hand_out(self.choose_order(a, b))

    def _hand_out(self, pair: tuple[str, str]) -> tuple[str, str]:
        self._handed[pair] = self._handed.get(pair, 0) + 1
        self._count(pair, 1)
        for hid in pair:
            self._entries[hid].pending += 1
        return pair

    def _audit(self, top: dict[str, None]) -> tuple[str, str] | None:
        """The oldest top-region pair judged in one order only, reversed; stale ones dropped."""
        while self._auditable:
            first, second = self._auditable.popleft()
            if first in top and second in top and self.shown(second, first) == 0:
                return second, first
        return None

    def settle(self, first: str, second: str) -> None:
        """The verdict of a handed-out pair is in (its ratings come through `update`)."""
        for hid in (first, second):
            entry = self._entries.get(hid)
            if entry is not None and entry.pending > 0:
                entry.pending -= 1

    def choose_order(self, a: str, b: str) -> tuple[str, str]:
        """The order to show a pair: as handed out if choose() just returned it; else the
        pair's less-shown order; on a tie the opposite of last time; for a new pair, first the
        item shown first less often overall; else a coin flip."""
        if self._handed.get((a, b), 0) > 0:
            return a, b
        if self._handed.get((b, a), 0) > 0:
            return b, a
        return self._balanced_order(a, b)

    # --- internals ------------------------------------------------------------------------

    def _balanced_order(self, a: str, b: str) -> tuple[str, str]:
        ab, ba = self._shown.get((a, b), 0), self._shown.get((b, a), 0)
        if ab != ba:
            return (a, b) if ab < ba else (b, a)
        last = self._last_first.get(_key(a, b))
        if last is not None:
            return (b, a) if last == a else (a, b)
        lean = self._first_lean(a) - self._first_lean(b)
        if lean != 0:
            return (a, b) if lean < 0 else (b, a)
        return (a, b) if self._rng.random() < 0.5 else (b, a)

    def _boundary(self) -> float:
        """Mu halfway between the k-th and (k+1)-th; with few items, the median split."""
        k = min(self._top_k, len(self._order) // 2)
        return -(self._order[k - 1][0] + self._order[k][0]) / 2.0

    def _relevance(self, hid: str, boundary: float) -> float:
        entry = self._entries[hid]
        sigma = _effective_sigma(entry)
        spread = sigma / INITIAL_SIGMA
        wrong_side = 0.5 * math.erfc(abs(entry.mu - boundary) / (sigma * math.sqrt(2.0)))
        score = spread * wrong_side + _EXPLORE * spread * spread
        if hid in self._fresh:  # unplayed first, then those with one match
            score += _FRESH_BONUS * (_FRESH_MATCHES - entry.matches) / _FRESH_MATCHES
        return score

    def _best_opponent(
        self,
        first: str,
        others: Iterable[str],
        similar: Collection[str],
        relevance: dict[str, float],
        boundary: float,
    ) -> str:
        """Highest-scoring opponent: information x joint relevance x similarity / (1 + meetings).

        Information is how much one match can teach: an uncertain outcome (close in mu) and
        uncertain ratings. The loop is the hot path of choose(), hence the local names.
        """
        entries, met, exp = self._entries, self._met, math.exp
        entry = entries[first]
        mu, own = entry.mu, relevance[first]
        variance = _effective_sigma(entry) ** 2
        best, best_score = "", -1.0
        for other in others:
            rival = entries[other]
            rel = relevance.get(other)
            if rel is None:
                rel = relevance[other] = self._relevance(other, boundary)
            rival_sigma = _effective_sigma(rival) if rival.pending else rival.sigma
            uncertain = variance + rival_sigma * rival_sigma
            spread = _TWO_BETA_SQUARED + uncertain
            gap = mu - rival.mu
            score = exp(-gap * gap / (2.0 * spread)) * uncertain / spread * (own + rel)
            if other in similar:
                score *= 1.0 + _SIMILAR_BONUS
            score /= 1 + met.get((first, other) if first < other else (other, first), 0)
            if score > best_score:
                best, best_score = other, score
        return best

    def _first_candidates(self, top: dict[str, None], blocked: set[str]) -> dict[str, None]:
        # dicts, not sets: iteration order must not depend on the process's string hashing
        found = dict(top)
        found.update(
            dict.fromkeys(islice((h for h in self._fresh if h not in blocked), self._sample))
        )
        found.update(dict.fromkeys(self._random(blocked)))
        return found

    def _shared_opponents(self, top: dict[str, None], blocked: set[str]) -> dict[str, None]:
        found = dict(top)
        found.update(dict.fromkeys(self._random(blocked)))
        return found

    def _opponents(
        self, first: str, blocked: set[str], similar: list[str], shared: dict[str, None]
    ) -> dict[str, None]:
        at = bisect.bisect_left(self._order, (-self._entries[first].mu, first))
        low, high = max(0, at - self._window), at + self._window + 1
        found = dict.fromkeys(hid for _, hid in self._order[low:high] if hid not in blocked)
        found.update(shared)
        found.update(dict.fromkeys(similar))
        found.pop(first, None)
        return found

    def _similar(self, hid: str, blocked: set[str], *, lookup: bool) -> list[str]:
        """Proximity neighbours, cached and refreshed once the field grew by 5 %. A lookup scans
        every vector (about 1 ms at 10,000), so choose() makes at most one, and only for a new
        or top-region hypothesis (`lookup`); others use what is cached."""
        if self._neighbours is None:
            return []
        cached = self._similar_cache.get(hid)
        if lookup and (cached is None or len(self._entries) > cached[0] * 1.05):
            cached = (len(self._entries), list(self._neighbours(hid)))
            self._similar_cache[hid] = cached
        if cached is None:
            return []
        return [h for h in cached[1] if h in self._entries and h not in blocked]

    def _top(self, blocked: set[str]) -> Iterator[str]:
        eligible = (hid for _, hid in self._order if hid not in blocked)
        return islice(eligible, self._top_k + self._window)

    def _random(self, blocked: set[str]) -> Iterator[str]:
        size = len(self._order)
        for _ in range(self._sample):
            hid = self._order[int(self._rng.random() * size)][1]
            if hid not in blocked:
                yield hid

    def _both_orders_shown(self, a: str, b: str) -> bool:
        """Showing the pair again would repeat an order already shown."""
        return bool(b) and self._shown.get((a, b), 0) > 0 and self._shown.get((b, a), 0) > 0

    def _first_lean(self, hid: str) -> int:
        entry = self._entries.get(hid)
        return 0 if entry is None else entry.shown_first - entry.shown_second

    def _count(self, pair: tuple[str, str], step: int) -> None:
        self._shown[pair] = self._shown.get(pair, 0) + step
        key = _key(*pair)
        self._met[key] = self._met.get(key, 0) + step
        if step > 0:
            self._last_first[key] = pair[0]
        first, second = (self._entries.get(hid) for hid in pair)
        if first is not None:
            first.shown_first += step
        if second is not None:
            second.shown_second += step

    def _unsort(self, hid: str, mu: float) -> None:
        del self._order[bisect.bisect_left(self._order, (-mu, hid))]


def _effective_sigma(entry: _Entry) -> float:
    """Sigma as if the entry's running matches had been played, each adding the precision of
    one match against an opponent as uncertain as itself with an even outcome (w = 1/2): a
    deliberately mild guess (a stronger shrink measured no better in benchmarks/ranking.py)."""
    if not entry.pending:
        return entry.sigma
    variance = entry.sigma * entry.sigma
    gain = 0.5 / (_TWO_BETA_SQUARED + 2.0 * variance)
    return 1.0 / math.sqrt(1.0 / variance + min(entry.pending, _MAX_PENDING) * gain)


def _key(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)
