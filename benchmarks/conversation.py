"""How long `ask` takes to choose what the model sees, at 100 / 1,000 / 10,000 hypotheses; prints JSON.

The choice (coscientist/conversation/context.py: ids, ranks, concepts, words, the
top) runs on records already read from the store, without a model. Records are
built in memory, seeded: every hypothesis with two reviews, four matches on
average (a tenth of them debates with three turns), a concept graph with three
concepts a hypothesis. Each size times four questions, five times each, and
reports the median wall and CPU time of one choice and the briefing's size.

python benchmarks/conversation.py [--quick]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from typing import Any

from benchmarks.machine import emit, machine
from coscientist.conversation.context import MAX_CHARS, SessionRecords, select
from coscientist.schemas import (
    GraphEdge,
    GraphNode,
    Hypothesis,
    LeaderboardEntry,
    Match,
    MatchMode,
    NodeKind,
    Review,
    ReviewKind,
    SessionInfo,
)

WORDS = (
    "trehalose glass membrane protein desiccation tardigrade vitrification cytoplasm "
    "antioxidant repair dormancy heat shock chaperone stress signalling osmolyte"
).split()


def records(n: int, rng: random.Random) -> SessionRecords:
    sid = "bench0000001"
    ids = [f"{i:012x}" for i in range(n)]
    hyps = [
        Hypothesis(
            id=hid,
            session_id=sid,
            title=" ".join(rng.sample(WORDS, 4)),
            statement=" ".join(rng.choices(WORDS, k=30)),
            origin="generation:literature",
        )
        for hid in ids
    ]
    board = [
        LeaderboardEntry(
            id=hid,
            rank=i + 1,
            title=h.title,
            statement=h.statement,
            mu=25 - i / n,
            sigma=2.0,
            elo=1500 - i,
            matches=4,
            wins=2,
            origin=h.origin,
        )
        for i, (hid, h) in enumerate(zip(ids, hyps, strict=True))
    ]
    reviews = [
        Review(
            id=f"r{hid}{k}",
            session_id=sid,
            hypothesis_id=hid,
            kind=ReviewKind.INITIAL,
            summary=" ".join(rng.choices(WORDS, k=20)),
            weaknesses=["no dose data"],
        )
        for hid in ids
        for k in range(2)
    ]
    matches = []
    for seq in range(1, 2 * n + 1):
        a, b = rng.sample(ids, 2)
        debate = rng.random() < 0.1
        matches.append(
            Match(
                id=f"m{seq}",
                session_id=sid,
                seq=seq,
                first_id=a,
                second_id=b,
                winner_id=a,
                mode=MatchMode.DEBATE if debate else MatchMode.SINGLE,
                rationale=" ".join(rng.choices(WORDS, k=25)),
                turns=[" ".join(rng.choices(WORDS, k=60)) for _ in range(3)] if debate else [],
            )
        )
    nodes = [GraphNode(key=w, label=w, kind=NodeKind.CONCEPT) for w in WORDS]
    edges = [
        GraphEdge(source=f"hypothesis:{hid}", target=concept, relation="uses")
        for hid in ids
        for concept in rng.sample(WORDS, 3)
    ]
    info = SessionInfo(
        id=sid, goal="How do tardigrades survive desiccation?", model_spec="scripted"
    )
    return SessionRecords(info, board, hyps, reviews, matches, None, nodes, edges, [])


def questions(ids: list[str]) -> list[str]:
    return [
        "Why is the first one ranked first?",
        f"What did the debates against {ids[len(ids) // 2]} say?",
        "Which hypotheses use trehalose?",
        "Is anything about heat shock chaperone repair here?",
    ]


def measure(n: int, repeats: int) -> dict[str, Any]:
    recs = records(n, random.Random(n))
    walls: list[float] = []
    cpus: list[float] = []
    sizes: list[int] = []
    for question in questions(recs.known_ids):
        for _ in range(repeats):
            w, c = time.perf_counter(), time.thread_time()
            chosen = select(recs, question)
            cpus.append(time.thread_time() - c)
            walls.append(time.perf_counter() - w)
        sizes.append(chosen.briefing.size())
    return {
        "hypotheses": n,
        "matches": len(recs.matches),
        "reviews": len(recs.reviews),
        "median_ms": round(statistics.median(walls) * 1000, 2),
        "median_cpu_ms": round(statistics.median(cpus) * 1000, 2),
        "max_briefing_chars": max(sizes),
        "bound_chars": MAX_CHARS,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 and 1,000 hypotheses only")
    args = parser.parse_args()
    result: dict[str, Any] = {"benchmark": "conversation", "machine": machine()}
    sizes = (100, 1000) if args.quick else (100, 1000, 10_000)
    result["sizes"] = [measure(n, 5) for n in sizes]
    emit(result)


if __name__ == "__main__":
    main()
