"""How long `ask` takes to choose what the model sees, at 100 / 1,000 / 10,000 hypotheses; prints JSON.

The choice (coscientist/conversation/context.py: ids, ranks, concepts, words, the
top) runs on records already read from the store, without a model. Records are
built in memory, seeded: every hypothesis with two reviews, four matches on
average (a tenth of them debates with three turns), a concept graph with three
concepts a hypothesis. Each size times four questions, five times each, and
reports the median wall and CPU time of one choice and the briefing's size.

With `--embedded N`, it also runs a small scripted session (60 calls) in a
temporary store and asks N questions of it with the embedded model
(SmolLM2-135M through llama-cpp-python, `--threads`): seconds per answer,
whether the answer parsed, and the ids it cited and the ids that were dropped.

python benchmarks/conversation.py [--quick] [--embedded N] [--threads 2]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio

from benchmarks.machine import emit, isolate_environment, machine
from coscientist import conversation
from coscientist.config import Limits, Settings
from coscientist.conversation.context import MAX_CHARS, SessionRecords, select
from coscientist.errors import CoscientistError
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
from coscientist.session import CoScientist

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


EMBEDDED_QUESTIONS = (
    "Why is the hypothesis ranked first ranked first?",
    "What did the debates against the top hypothesis say?",
    "Which hypotheses are about membranes?",
)


async def ask_embedded(tmp: Path, questions: int, threads: int) -> list[dict[str, Any]]:
    """A scripted session's records, asked about with the embedded model."""
    db = f"sqlite:///{tmp / 'conversation.db'}"
    with CoScientist(Settings(db=db, model="scripted", seed=1, concurrency=1)) as cs:
        session = cs.start("How do tardigrades survive desiccation?")
        await session.run(Limits(max_calls=60))
    out: list[dict[str, Any]] = []
    with CoScientist(Settings(db=db, model="embedded", threads=threads)) as cs:
        info = cs.store.get_session(session.id).model_copy(update={"model_spec": "embedded"})
        for question in (EMBEDDED_QUESTIONS * questions)[:questions]:
            started = time.perf_counter()
            row: dict[str, Any] = {"question": question}
            try:
                answer, chosen = await conversation.ask(
                    cs.store, info, question, lambda rec: cs.make_client(info, recorder=rec)
                )
            except CoscientistError as exc:
                row.update(parsed=False, error=str(exc)[:200])
            else:
                row.update(
                    parsed=True,
                    briefing_chars=chosen.briefing.size(),
                    cited=len(answer.cited_ids),
                    dropped=len(answer.dropped_ids),
                    follow_up=answer.follow_up.kind.value if answer.follow_up else None,
                    answer=answer.answer[:200],
                )
            row["seconds"] = round(time.perf_counter() - started, 1)
            out.append(row)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 and 1,000 hypotheses only")
    parser.add_argument("--embedded", type=int, default=0, metavar="N", help="ask N questions")
    parser.add_argument("--threads", type=int, default=2, help="for the embedded model")
    args = parser.parse_args()
    result: dict[str, Any] = {"benchmark": "conversation", "machine": machine()}
    sizes = (100, 1000) if args.quick else (100, 1000, 10_000)
    result["sizes"] = [measure(n, 5) for n in sizes]
    if args.embedded:
        with tempfile.TemporaryDirectory() as tmp:
            isolate_environment(Path(tmp))
            result["embedded"] = anyio.run(ask_embedded, Path(tmp), args.embedded, args.threads)
    emit(result)


if __name__ == "__main__":
    main()
