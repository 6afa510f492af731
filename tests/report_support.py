"""The sample session of tests/test_reports.py: hypotheses with hostile text, matches, reviews,
a meta-review, a knowledge graph and calls, built through the Store, and what it exports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from coscientist.schemas import (
    CallRecord,
    Citation,
    GraphEdge,
    GraphNode,
    Hypothesis,
    HypothesisStatus,
    MatchMode,
    MatchVerdict,
    MetaReviewDraft,
    ReviewDraft,
    ReviewKind,
    SessionInfo,
    TaskKind,
    TaskResult,
    TaskSpec,
    new_id,
)
from coscientist.store import Store

XSS_TITLE = "<script>alert(1)</script>"
MD_XSS_TITLE = r"\<script>alert(1)\</script>"
XSS_STATEMENT = 'Raising the "high" dose & the low dose changes plaque load'
PIPE_TITLE = "Pipes | and\nnewlines in a title"
GAP = "Nobody has tested microglial priming in aged mice"
OVERVIEW = "Aim 1: test whether plaque load tracks the dose."
SECRET = "sk-test-NEVER-EXPORT-7f3a9c"
URL_PASSWORD = "hunter2-pw-XYZ"
S, D = MatchMode.SINGLE, MatchMode.DEBATE

# (first shown, second shown, winner, mode); "grand" is rejected afterwards, yet its match counts.
Played = tuple[str, str, str, MatchMode]
MATCHES: list[Played] = [
    ("xss", "pipe", "xss", S),
    ("pipe", "xss", "xss", D),
    ("xss", "plain", "xss", S),
    ("weak", "xss", "xss", S),
    ("child", "xss", "child", D),
    ("pipe", "plain", "pipe", S),
    ("plain", "weak", "plain", S),
    ("weak", "pipe", "pipe", S),
    ("child", "weak", "child", S),
    ("plain", "child", "plain", S),
    ("xss", "child", "xss", D),
    ("grand", "weak", "grand", S),
]
GRAPH_NODES = [
    ("amyloid", "Amyloid"),
    ("tau", "Tau"),
    ("microglia", "Microglia"),
    ("inflammation", "Inflammation"),
    ("synapse loss", "Synapse loss"),
    ("a<b & c", 'A<b & "c"'),
]
GRAPH_EDGES = [
    ("amyloid", "tau", "promotes"),
    ("amyloid", "microglia", "activates"),
    ("microglia", "inflammation", "drives"),
    ("inflammation", "synapse loss", "causes"),
    ("tau", "synapse loss", "causes"),
    ("microglia", "a<b & c", "related to"),
]


@dataclass
class Sample:
    session_id: str
    ids: dict[str, str] = field(default_factory=dict)  # short name -> hypothesis id


def _hypotheses(session_id: str) -> dict[str, Hypothesis]:
    def make(name: str, title: str, statement: str, **extra: object) -> tuple[str, Hypothesis]:
        fields: dict[str, object] = {"origin": "generation:literature", **extra}
        return name, Hypothesis(
            id=new_id(), session_id=session_id, title=title, statement=statement, **fields
        )

    made = dict(
        [
            make(
                "xss",
                XSS_TITLE,
                XSS_STATEMENT,
                rationale="Plaques scale with exposure.",
                predictions=["Plaque area falls by a third", "Tau follows\nwith a delay"],
                experiment="Two-dose mouse study, 12 weeks.",
                assumptions=["Dose reaches the brain"],
                citations=[
                    Citation(identifier="doi:10.1/real", title="A real paper", verified=True),
                    Citation(identifier="doi:10.1/fake", title="A made-up paper", verified=False),
                    Citation(identifier="arXiv:2502.18864", verified=None),
                ],
            ),
            make("pipe", PIPE_TITLE, "Statement of pipe"),
            make("plain", "Plain hypothesis", "Statement of plain"),
            make("weak", "Weak hypothesis", "Statement of weak", origin="scientist"),
        ]
    )
    made["child"] = Hypothesis(
        id=new_id(),
        session_id=session_id,
        title="Evolved child",
        statement="Combination of xss and pipe",
        origin="evolution:combination",
        parent_ids=[made["xss"].id, made["pipe"].id],
    )
    made["grand"] = Hypothesis(
        id=new_id(),
        session_id=session_id,
        title="Grandchild",
        statement="Simplified child",
        origin="evolution:simplification",
        parent_ids=[made["child"].id],
    )
    return made


def build_session(
    store: Store, session_id: str | None = None, matches: Sequence[Played] = MATCHES
) -> Sample:
    """A small finished session: six hypotheses, twelve matches, reviews, a meta-review, a graph."""
    if session_id is None:
        info = SessionInfo(
            id=new_id(),
            goal="Why do amyloid plaques | tangles form?\nFind out.",
            model_spec="scripted",
            seed=7,
            limits={"max_calls": 50, "max_hypotheses": 6},
        )
        session_id = store.create_session(info).id
    made = _hypotheses(session_id)
    ids = {name: h.id for name, h in made.items()}
    store.add_hypotheses(list(made.values()))
    (task,) = store.enqueue(session_id, [TaskSpec(kind=TaskKind.MATCH)])
    (claimed,) = store.claim(session_id, "tester", kinds={TaskKind.MATCH})
    assert claimed.id == task.id
    result = TaskResult(
        matches=[
            MatchVerdict(
                first_id=ids[a], second_id=ids[b], winner_id=ids[w], mode=m, rationale="why"
            )
            for a, b, w, m in matches
        ],
        reviews=[
            ReviewDraft(
                hypothesis_id=ids["xss"],
                kind=ReviewKind.FULL,
                scores={"novelty": 4, "correctness": 3},
                summary="Sound & <b>bold</b> idea",
                strengths=["clear mechanism"],
                weaknesses=["small sample"],
            ),
            ReviewDraft(hypothesis_id=ids["xss"], kind=ReviewKind.INITIAL, summary="Plausible."),
            ReviewDraft(hypothesis_id=ids["weak"], kind=ReviewKind.FULL, passed=False),
        ],
        meta_review=MetaReviewDraft(
            critique=["Too many dose studies"], gaps=[GAP], overview=OVERVIEW, top_ids=[ids["xss"]]
        ),
        graph_nodes=[GraphNode(key=k, label=label) for k, label in GRAPH_NODES],
        graph_edges=[GraphEdge(source=s, target=t, relation=r) for s, t, r in GRAPH_EDGES],
        status_changes={ids["grand"]: HypothesisStatus.REJECTED},
    )
    store.complete_task(task.id, "tester", result)
    for role, outcome in (("generation", "ok"), ("ranking", "ok"), ("ranking", "repaired")):
        store.record_call(
            CallRecord(
                role=role,
                model="scripted",
                prompt_hash="h",
                tokens_in=100,
                tokens_out=20,
                latency_ms=5.0,
                outcome=outcome,
                session_id=session_id,
            )
        )
    return Sample(session_id=session_id, ids=ids)


@dataclass
class Exported:
    """One session exported once in every format, shared by the tests that only read."""

    store: Store
    sample: Sample
    paths: dict[str, Path]

    def text(self, fmt: str) -> str:
        return self.paths[fmt].read_text(encoding="utf-8")
