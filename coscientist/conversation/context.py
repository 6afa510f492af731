"""Which of a session's records a question is answered from: chosen deterministically, bounded.

A session holds far more than a model's context: hundreds of hypotheses,
reviews and debate transcripts. The question picks what is shown, in this
order: hypotheses it names by id (or unique prefix), ranks it names ("ranked
first", "rank 3", "#2"), hypotheses linked to knowledge-graph concepts it
names, hypotheses sharing its words, then the top of the leaderboard, up to
`MAX_HYPOTHESES`. No model and no randomness: the same question on the same
records gives the same briefing, and `Selection.reasons` says why each
hypothesis is there.
"""

from __future__ import annotations

import bisect
import dataclasses
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agents.common import clip, clip_lines
from agents.conversation import Briefing
from coscientist.knowledge.names import HYPOTHESIS_PREFIX, normalise, singular
from coscientist.schemas import (
    Answer,
    Citation,
    GraphEdge,
    GraphNode,
    Hypothesis,
    HypothesisStatus,
    LeaderboardEntry,
    Match,
    MatchMode,
    MetaReview,
    NodeKind,
    Review,
    SessionInfo,
)
from coscientist.store.ranked import ranked
from coscientist.store.repository import Store

MAX_HYPOTHESES = 5
MAX_CHARS = 7000  # of variable text in the prompt: about 1,750 tokens, room left in 4,096
HYPOTHESES_ROOM = 2000  # kept for hypotheses however long the plan, meta-review and history
BLOCK_CHARS = 1100  # one hypothesis with its reviews, matches and citations
EARLIER_ANSWERS = 3
GOAL_CHARS = 600
MIN_PREFIX = 6  # characters of an id a question may abbreviate it to
MAX_CONCEPTS = 4

_TOKEN = re.compile(r"[\w\-]+")
_WORD = re.compile(r"[^\W\d_]{4,}")
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "last": -1}
_RANK = re.compile(r"(?:\brank(?:ed)?\s*(?:number\s*)?|#|\bno\.\s*)(\d{1,4})\b")
_ORDINAL = re.compile(r"\b(?:ranked|rank|the)\s+(first|second|third|fourth|fifth|last)\b")
_TOP_WORDS = re.compile(r"\b(?:best|top|leader|leading|winner|winning)\b")
_STOP = frozenset(
    """what which why does did have with this that they them their there about from into
    than then were when where would could should these those hypothesis hypotheses rank
    ranked first second third session debate debates review reviews said says other most
    more best over under against between because""".split()
)


@dataclass(frozen=True)
class SessionRecords:
    """What a question may be answered from, read from the store in one go."""

    info: SessionInfo
    board: list[LeaderboardEntry]  # active hypotheses, best first
    hypotheses: list[Hypothesis]  # every hypothesis that may be shown (not withheld as unsafe)
    reviews: list[Review]
    matches: list[Match]
    meta_review: MetaReview | None
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    earlier: list[Answer]  # the latest answers, oldest first

    @property
    def known_ids(self) -> list[str]:
        return [h.id for h in self.hypotheses]


def load_records(store: Store, session_id: str) -> SessionRecords:
    info = store.get_session(session_id)
    sid = info.id
    board, _ = ranked(store, sid, seed=info.seed)
    hypotheses = [h for h in store.list_hypotheses(sid) if h.status != HypothesisStatus.UNSAFE]
    shown = {h.id for h in hypotheses}
    nodes, edges = store.graph(sid)
    return SessionRecords(
        info=info,
        board=[e for e in board if e.id in shown],
        hypotheses=hypotheses,
        reviews=[r for r in store.list_reviews(sid) if r.hypothesis_id in shown],
        matches=[
            m for m in store.list_matches(sid) if m.first_id in shown and m.second_id in shown
        ],
        meta_review=store.latest_meta_review(sid),
        nodes=nodes,
        edges=edges,
        earlier=store.list_answers(sid, limit=EARLIER_ANSWERS),
    )


@dataclass(frozen=True)
class Selection:
    briefing: Briefing
    hypothesis_ids: list[str]  # shown in the briefing, in order
    reasons: dict[str, str]  # why each was chosen: "named", "rank", "concept: X", "words", "top"
    concepts: list[str]  # concept labels the question named


class IdIndex:
    """The session's ids, for exact and unambiguous-prefix lookups in O(log n)."""

    def __init__(self, known: Sequence[str]) -> None:
        self._sorted = sorted(set(known))
        self._set = set(self._sorted)

    def find(self, token: str) -> str | None:
        if token in self._set:
            return token
        if len(token) < MIN_PREFIX:
            return None
        at = bisect.bisect_left(self._sorted, token)
        found = [k for k in self._sorted[at : at + 2] if k.startswith(token)]
        return found[0] if len(found) == 1 else None


def resolve_id(text: str, known: Sequence[str] | IdIndex) -> str | None:
    """An id as a question or a model writes it (maybe in brackets or abbreviated) -> the id."""
    token = text.strip().strip("[]()`'\".,;:").strip()
    if token.lower().startswith("id"):
        token = token[2:].strip(" :=")
    if not token:
        return None
    index = known if isinstance(known, IdIndex) else IdIndex(known)
    return index.find(token)


def named_ids(question: str, known: Sequence[str]) -> list[str]:
    found: dict[str, None] = {}
    index = IdIndex(known)
    for token in _TOKEN.findall(question):
        hid = resolve_id(token, index)
        if hid is not None:
            found.setdefault(hid, None)
    return list(found)


def named_ranks(question: str, board_size: int) -> list[int]:
    """Ranks the question points at, 1-based; "the best" or "ranked first" is rank 1."""
    text = question.lower()
    ranks: dict[int, None] = {}
    for match in _RANK.finditer(text):
        ranks.setdefault(int(match.group(1)), None)
    for match in _ORDINAL.finditer(text):
        value = _ORDINALS[match.group(1)]
        ranks.setdefault(board_size if value == -1 else value, None)
    if not ranks and _TOP_WORDS.search(text):
        ranks[1] = None
    return [r for r in ranks if 1 <= r <= board_size]


def _question_phrase(question: str) -> str:
    words = [w.casefold() for w in _TOKEN.findall(question)]
    return " " + " ".join(words) + " " + " ".join(singular(w) for w in words) + " "


def named_concepts(question: str, nodes: Sequence[GraphNode]) -> list[GraphNode]:
    """Concepts of the graph whose name appears in the question, longest names first."""
    phrase = _question_phrase(question)
    found = [
        n
        for n in nodes
        if n.kind == NodeKind.CONCEPT
        and len(n.key) >= 3
        and n.key not in _STOP  # "debate" in "what did the debates say" names no concept
        and (f" {n.key} " in phrase or f" {normalise(n.label)} " in phrase)
    ]
    found.sort(key=lambda n: (-len(n.key), n.key))
    return found[:MAX_CONCEPTS]


def question_words(question: str) -> set[str]:
    return {singular(w) for w in _WORD.findall(question.casefold())} - _STOP


def overlap(words: set[str], h: Hypothesis) -> int:
    text = " ".join([h.title, h.statement, h.rationale, *h.predictions])
    return len(words & {singular(w) for w in _WORD.findall(text.casefold())})


def select(records: SessionRecords, question: str) -> Selection:
    """The briefing for `question`: see the module docstring for the order."""
    by_id = {h.id: h for h in records.hypotheses}
    rank_of = {e.id: e.rank for e in records.board}
    reasons: dict[str, str] = {}

    def take(hid: str, reason: str) -> None:
        if hid in by_id and hid not in reasons and len(reasons) < MAX_HYPOTHESES:
            reasons[hid] = reason

    for hid in named_ids(question, records.known_ids):
        take(hid, "named")
    for rank in named_ranks(question, len(records.board)):
        take(records.board[rank - 1].id, "rank")
    concepts = named_concepts(question, records.nodes)
    linked: dict[str, dict[str, None]] = defaultdict(dict)  # concept key -> its hypotheses
    for edge in records.edges:
        if edge.source.startswith(HYPOTHESIS_PREFIX):
            hid = edge.source[len(HYPOTHESIS_PREFIX) :]
            if hid in by_id:
                linked[edge.target].setdefault(hid, None)
    users = {key: list(hids) for key, hids in linked.items()}
    for node in concepts:
        ranked = sorted(users.get(node.key, []), key=lambda h: (rank_of.get(h, 10**9), h))
        for hid in ranked:
            take(hid, f"concept: {node.label}")
    words = question_words(question)
    if words:
        scored = [(overlap(words, h), h.id) for h in records.hypotheses]
        best = sorted(
            (s for s in scored if s[0] > 0), key=lambda s: (-s[0], rank_of.get(s[1], 10**9), s[1])
        )
        for _, hid in best:
            take(hid, "words")
    for entry in records.board:
        take(entry.id, "top")
    briefing = _briefing(records, list(reasons), concepts, users)
    chosen = [hid for hid in reasons if f"[id {hid}]" in " ".join(briefing.hypotheses)]
    return Selection(
        briefing=briefing,
        hypothesis_ids=chosen,
        reasons={hid: reasons[hid] for hid in chosen},
        concepts=[n.label for n in concepts],
    )


# --- the briefing's text ---------------------------------------------------------------------


def _briefing(
    records: SessionRecords,
    chosen: list[str],
    concepts: list[GraphNode],
    users: dict[str, list[str]],
) -> Briefing:
    info = records.info
    head = Briefing(
        goal=clip(info.goal, GOAL_CHARS),
        plan=plan_lines(info),
        meta_review=meta_review_lines(records.meta_review, set(records.known_ids)),
        concepts=[concept_line(n.label, users.get(n.key, [])) for n in concepts],
        earlier=[clip(f"Q: {a.question} A: {a.answer}", 300) for a in records.earlier],
        example_id=chosen[0] if chosen else (records.known_ids[:1] or ["0123456789ab"])[0],
    )
    head = _trimmed(head)
    room = MAX_CHARS - head.size()
    by_id = {h.id: h for h in records.hypotheses}
    entries = {e.id: e for e in records.board}
    blocks: list[str] = []
    for position, hid in enumerate(chosen):
        block = hypothesis_block(
            by_id[hid], entries.get(hid), len(records.board), records, full=position == 0
        )
        if len(block) > room and blocks:
            break  # the first always shows (clipped); the rest only while they fit
        block = clip_lines(block, max(room, 200))
        blocks.append(block)
        room -= len(block)
    return Briefing(
        goal=head.goal,
        plan=head.plan,
        meta_review=head.meta_review,
        concepts=head.concepts,
        hypotheses=blocks,
        earlier=head.earlier,
        example_id=head.example_id,
    )


def _trimmed(head: Briefing) -> Briefing:
    """Drop the last line of the longest list until hypotheses keep their room."""
    while head.size() > MAX_CHARS - HYPOTHESES_ROOM:
        lists = {
            "earlier": head.earlier,
            "meta_review": head.meta_review,
            "plan": head.plan,
            "concepts": head.concepts,
        }
        name, items = max(lists.items(), key=lambda kv: sum(len(x) for x in kv[1]))
        if not items:
            break  # only the goal is left, and it is clipped already
        shorter: dict[str, Any] = {name: items[:-1]}
        head = dataclasses.replace(head, **shorter)
    return head


def concept_line(label: str, users: list[str]) -> str:
    if not users:
        return clip(f"{label}: no hypothesis uses it", 240)
    return clip(f"{label}: used by " + ", ".join(f"[id {h}]" for h in users[:6]), 240)


def plan_lines(info: SessionInfo) -> list[str]:
    plan = info.plan
    if plan is None:
        return []
    lines = [f"objective: {plan.objective}"] if plan.objective else []
    for label, items in (
        ("preference", plan.preferences),
        ("constraint", plan.constraints),
        ("good hypothesis", plan.attributes),
        ("out of scope", plan.out_of_scope),
    ):
        lines += [f"{label}: {item}" for item in items[:3]]
    return [clip(line, 200) for line in lines]


def meta_review_lines(meta: MetaReview | None, shown: set[str]) -> list[str]:
    if meta is None:
        return []
    lines = [f"recurring flaw: {c}" for c in meta.critique[:3]]
    lines += [f"recurring strength: {s}" for s in meta.strengths[:3]]
    lines += [f"not yet covered: {g}" for g in meta.gaps[:3]]
    overview = meta.research_overview
    if overview is not None:
        lines.append(f"research overview: {overview.title}")
        lines += [
            f"aim tested by [id {a.hypothesis_id}]: {a.aim}"
            for a in overview.aims[:3]
            if a.hypothesis_id in shown
        ]
    elif meta.overview:
        lines.append(f"research overview: {meta.overview}")
    return [clip(line, 220) for line in lines]


def citation_mark(citation: Citation) -> str:
    if citation.verified is None:
        return "not checked"
    return "checked" if citation.verified else "check failed"


def hypothesis_block(
    h: Hypothesis,
    entry: LeaderboardEntry | None,
    board_size: int,
    records: SessionRecords,
    *,
    full: bool,
) -> str:
    """One hypothesis as the briefing shows it; `full` gives its debates more room."""
    if entry is not None:
        standing = (
            f"rank {entry.rank} of {board_size}, Elo {entry.elo:.0f}, "
            f"{entry.wins} wins in {entry.matches} matches"
        )
    else:
        standing = f"not ranked ({h.status.value})"
    lines = [
        f"[id {h.id}] {standing}; origin {h.origin}",
        f"Title: {clip(h.title, 120)}",
        f"Statement: {clip(h.statement, 320)}",
    ]
    reviews = [r for r in records.reviews if r.hypothesis_id == h.id][-2:]
    for r in reviews:
        verdict = "passed" if r.passed else "failed"
        weak = ("; weaknesses: " + "; ".join(r.weaknesses[:2])) if r.weaknesses else ""
        lines.append(
            clip(f"{r.kind.value} review by {r.author} ({verdict}): {r.summary}{weak}", 220)
        )
    matches = [m for m in records.matches if h.id in (m.first_id, m.second_id)]
    # Debates first (they say the most), newest first within each mode.
    matches.sort(key=lambda m: (m.mode != MatchMode.DEBATE, -m.seq))
    for m in matches[: 3 if full else 1]:
        other = m.second_id if m.first_id == h.id else m.first_id
        result = "won" if m.winner_id == h.id else "lost"
        line = f"{m.mode.value} {result} against [id {other}]: {m.rationale}"
        if m.turns:
            turns = " | ".join(clip(t, 140 if full else 80) for t in m.turns[:2])
            line += f" Debate: {turns}"
        lines.append(clip(line, 420 if full else 220))
    if h.citations:
        cites = "; ".join(f"{c.identifier} ({citation_mark(c)})" for c in h.citations[:3])
        lines.append(clip(f"Citations: {cites}", 200))
    return clip_lines("\n".join(lines), BLOCK_CHARS)
