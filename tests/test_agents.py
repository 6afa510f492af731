"""Agent roles against the scripted model: right domain objects, right calls, right prompts."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from typing import Any

import pytest
from pydantic import BaseModel

from agents import evolution, generation, meta_review, ranking, reflection
from agents.context import AgentContext
from agents.outputs import HypothesisOut, is_meaningful
from coscientist.errors import CoscientistError, ModelOutputError
from coscientist.llm.base import CallContext
from coscientist.llm.client import ModelClient
from coscientist.llm.scripted import ScriptedBackend
from coscientist.schemas import (
    CallRecord,
    Citation,
    Hypothesis,
    Match,
    MatchMode,
    MetaReviewDraft,
    Review,
    ReviewKind,
)

pytestmark = pytest.mark.anyio

GOAL = "Explain why bacteria form biofilms on urinary catheters and how to prevent it"


class Harness:
    """A context wired to a scripted backend, with every request and call record kept."""

    def __init__(self, *, seed: int = 0, **overrides: Any) -> None:
        self.backend = ScriptedBackend(seed=seed)
        self.records: list[CallRecord] = []
        self.client = ModelClient(self.backend, recorder=self._record, repair_attempts=2)
        fields: dict[str, Any] = {
            "llm": self.client,
            "goal": GOAL,
            "call": CallContext(session_id="s1", task_id="t1"),
            "rng": random.Random(seed),
        }
        fields.update(overrides)
        self.ctx = AgentContext(**fields)

    async def _record(self, record: CallRecord) -> None:
        self.records.append(record)

    def queue(self, *answers: Any) -> None:
        self.backend.queue(*answers)

    @property
    def schemas(self) -> list[str]:
        return [r.schema_name for r in self.backend.requests]

    def prompts(self) -> list[str]:
        """The user message of every request, in order."""
        return [r.messages[1]["content"] for r in self.backend.requests]


def hypothesis(hid: str, title: str = "Catheter surface charge drives adhesion") -> Hypothesis:
    return Hypothesis(
        id=hid,
        session_id="s1",
        title=title,
        statement=f"{title}, through a mechanism that can be measured in flow cells ({hid}).",
        rationale="Adhesion precedes biofilm growth.",
        predictions=["Neutral coatings reduce adhesion"],
        experiment="Compare coated and uncoated catheters in a flow cell.",
        origin="generation:debate",
    )


def good_hypothesis(
    title: str = "Silver ions block quorum sensing", **extra: Any
) -> dict[str, Any]:
    return {
        "title": title,
        "statement": "Silver ions released from the catheter block quorum sensing signals.",
        "rationale": "Quorum sensing coordinates biofilm maturation.",
        "predictions": ["Lower autoinducer levels near silver coatings"],
        "experiment": "Measure autoinducer levels on coated catheters.",
        "assumptions": ["Silver reaches the biofilm matrix"],
        **extra,
    }


def review(hid: str, weakness: str, kind: ReviewKind = ReviewKind.INITIAL) -> Review:
    return Review(
        id=f"r-{hid}",
        session_id="s1",
        hypothesis_id=hid,
        kind=kind,
        summary="A plausible idea.",
        weaknesses=[weakness],
        scores={"novelty": 3.0},
    )


class FakeLiterature:
    """LiteratureSearch with fixed results, remembering what it was asked."""

    def __init__(self, results: Sequence[dict[str, str]], known: set[str] | None = None) -> None:
        self.results = list(results)
        self.known = known or set()
        self.queries: list[str] = []
        self.verified: list[str] = []

    async def search(self, query: str, limit: int = 5) -> list[dict[str, str]]:
        self.queries.append(query)
        return self.results[:limit]

    async def verify(self, identifier: str) -> bool | None:
        self.verified.append(identifier)
        return identifier in self.known


class BrokenLiterature(FakeLiterature):
    async def search(self, query: str, limit: int = 5) -> list[dict[str, str]]:
        raise CoscientistError("offline")


PAPERS = [
    {"identifier": "doi:10.1/biofilm", "title": "Biofilms on catheters", "abstract": "A review."},
    {"identifier": "PMID:42", "title": "Silver coatings", "abstract": "Silver reduces growth."},
]


# --- generation -----------------------------------------------------------------


@pytest.mark.parametrize("strategy", generation.STRATEGIES)
async def test_every_generation_strategy_returns_drafts_with_its_origin(strategy: str) -> None:
    h = Harness()
    drafts = await generation.generate(h.ctx, strategy, count=2)
    assert len(drafts) == 2
    assert {d.origin for d in drafts} == {f"generation:{strategy}"}
    assert all(is_meaningful(d.title) and d.statement for d in drafts)
    assert all(d.parent_ids == [] for d in drafts)
    assert {r.role for r in h.records} == {"generation"}
    assert {r.session_id for r in h.records} == {"s1"}, "the role changes, the session stays"
    assert h.ctx.call.role == "", "the caller's CallContext is not mutated"


async def test_unknown_strategy_and_bad_count_are_rejected() -> None:
    h = Harness()
    with pytest.raises(ValueError, match="unknown generation strategy"):
        await generation.generate(h.ctx, "brainstorm")
    with pytest.raises(ValueError, match="count"):
        await generation.generate(h.ctx, "debate", count=0)
    assert h.client.calls == 0


async def test_literature_generation_cites_only_the_search_results() -> None:
    literature = FakeLiterature(PAPERS)
    h = Harness(literature=literature)
    h.queue(good_hypothesis(sources=[2, 7]))  # 7 points at nothing: dropped
    (draft,) = await generation.generate(h.ctx, "literature")
    assert literature.queries and GOAL[:40] in literature.queries[0]
    assert [c.identifier for c in draft.citations] == ["PMID:42"]
    assert "[1] Biofilms on catheters" in h.prompts()[0]
    assert "no literature tools" not in draft.rationale


@pytest.mark.parametrize("literature", [None, BrokenLiterature([])])
async def test_literature_generation_without_tools_says_so(literature: Any) -> None:
    h = Harness(literature=literature)
    h.queue(good_hypothesis(sources=[1]))
    (draft,) = await generation.generate(h.ctx, "literature")
    assert draft.origin == "generation:literature"
    assert draft.citations == []
    assert "no literature tools" in draft.rationale
    assert "No literature search was available" in h.prompts()[0]


async def test_debate_generation_runs_turns_then_a_moderator() -> None:
    h = Harness()
    (draft,) = await generation.generate(h.ctx, "debate")
    assert h.schemas == ["DebateTurnOut"] * generation.DEBATE_TURNS + ["HypothesisOut"]
    final = h.prompts()[-1]
    speakers = {name for name, _ in generation.PERSONAS if f"\n{name}: " in final}
    assert len(speakers) == 3, "three personas speak once each, and the moderator reads them"
    assert "turn 2 of 3" in h.prompts()[1]
    assert draft.origin == "generation:debate"


async def test_debate_with_count_reuses_the_transcript_and_shows_earlier_drafts() -> None:
    h = Harness()
    h.queue(*[{"argument": f"Point number {i} about adhesion"} for i in range(3)])
    h.queue(good_hypothesis("Silver ions block quorum sensing"))
    drafts = await generation.generate(h.ctx, "debate", count=2)
    assert len(drafts) == 2
    assert h.schemas.count("DebateTurnOut") == 3
    assert "- Silver ions block quorum sensing" in h.prompts()[-1]


async def test_expansion_follows_the_meta_review_gaps() -> None:
    gap = "role of urine flow rate in detachment"
    h = Harness(feedback=MetaReviewDraft(gaps=[gap]))
    (draft,) = await generation.generate(h.ctx, "expansion")
    assert h.schemas == ["HypothesisOut"]
    assert h.prompts()[0].endswith(f"Direction to explore:\n{gap}")
    assert draft.origin == "generation:expansion"


async def test_expansion_spreads_several_drafts_over_the_gaps() -> None:
    gaps = ["role of urine flow rate", "catheter material ageing"]
    h = Harness(feedback=MetaReviewDraft(gaps=gaps))
    drafts = await generation.generate(h.ctx, "expansion", count=2)
    assert len(drafts) == 2
    directions = {p.rsplit("Direction to explore:\n", 1)[1] for p in h.prompts()}
    assert directions == set(gaps)


async def test_expansion_without_gaps_falls_back_to_assumptions() -> None:
    h = Harness()
    (draft,) = await generation.generate(h.ctx, "expansion")
    assert h.schemas == ["AssumptionsOut", "HypothesisOut"]
    assert draft.origin == "generation:expansion"


async def test_assumptions_are_identified_then_built_on() -> None:
    h = Harness()
    h.queue({"assumptions": ["Adhesion needs a conditioning film", "Flow shears young colonies"]})
    h.queue(good_hypothesis(assumptions=[]))
    (draft,) = await generation.generate(h.ctx, "assumptions")
    assert "- Flow shears young colonies" in h.prompts()[1]
    assert draft.assumptions == ["Adhesion needs a conditioning film", "Flow shears young colonies"]


async def test_existing_titles_go_into_the_prompt_at_most_ten() -> None:
    h = Harness()
    existing = [hypothesis(f"h{i}", f"Existing idea number {i:02d}") for i in range(25)]
    await generation.generate(h.ctx, "expansion", existing=existing)
    prompt = h.prompts()[0]
    shown = [h_.title for h_ in existing if f"- {h_.title}\n" in prompt + "\n"]
    assert len(shown) == generation.EXISTING_TITLES


async def test_a_failure_after_the_first_draft_keeps_what_is_valid() -> None:
    h = Harness()
    h.queue({"assumptions": ["Adhesion needs a conditioning film"]}, good_hypothesis())
    h.queue("nonsense", "nonsense", "nonsense")  # the second draft never validates
    drafts = await generation.generate(h.ctx, "assumptions", count=3)
    assert [d.title for d in drafts] == ["Silver ions block quorum sensing"]


async def test_a_failure_with_nothing_valid_raises() -> None:
    h = Harness()
    h.queue({"assumptions": ["Adhesion needs a conditioning film"]}, "x", "x", "x")
    with pytest.raises(ModelOutputError):
        await generation.generate(h.ctx, "assumptions")


# --- repair and content validation ----------------------------------------------


async def test_malformed_answer_is_repaired_by_the_client() -> None:
    h = Harness(feedback=MetaReviewDraft(gaps=["urine flow"]))
    h.queue('{"title": "Silver', good_hypothesis())
    (draft,) = await generation.generate(h.ctx, "expansion")
    assert draft.title == "Silver ions block quorum sensing"
    assert [r.outcome for r in h.records] == ["invalid", "repaired"]
    repair = h.backend.requests[1].messages
    assert repair[-2] == {"role": "assistant", "content": '{"title": "Silver'}


async def test_degenerate_title_is_rejected_and_repaired() -> None:
    h = Harness(feedback=MetaReviewDraft(gaps=["urine flow"]))
    h.queue(good_hypothesis("1.1.1.1.1.1"), good_hypothesis("Flow shear limits biofilm height"))
    (draft,) = await generation.generate(h.ctx, "expansion")
    assert draft.title == "Flow shear limits biofilm height"
    assert h.client.calls == 2
    assert [r.outcome for r in h.records] == ["invalid", "repaired"]
    assert "title" in (h.records[0].error or "")


def test_outputs_clip_overlong_answers_instead_of_failing() -> None:
    title = "Silver ions " + "and copper ions " * 10
    out = HypothesisOut.model_validate(
        good_hypothesis(
            title=title,
            statement=" ".join(f"clause{i} adds detail" for i in range(200)),
            predictions=["Lower adhesion on silver", "", "Thinner biofilm", "Fewer infections"],
            assumptions=["Silver reaches the matrix", "silver reaches the  matrix!"],
            sources=[0, 2, 2, 99, 1],
        )
    )
    assert len(out.title) <= 100 and title.startswith(out.title + " "), "cut on a word boundary"
    assert len(out.statement) <= 360
    assert out.predictions == ["Lower adhesion on silver"], "capped at two, then blanks dropped"
    assert out.assumptions == ["Silver reaches the matrix"], "duplicates dropped"
    assert out.sources == [2, 1]


def test_outputs_refuse_empty_or_symbolic_key_fields() -> None:
    for bad in ({"title": ""}, {"title": "1.1.1.1.1.1"}, {"statement": "Yes."}):
        with pytest.raises(ValueError):
            HypothesisOut.model_validate(good_hypothesis(**bad))
    schema = HypothesisOut.model_json_schema()["properties"]
    assert schema["title"]["minLength"] > 0, "a grammar then cannot answer an empty title"


def test_degenerate_text_detection() -> None:
    assert is_meaningful("Silver blocks quorum sensing")
    assert not is_meaningful("1.1.1.1.1")
    assert not is_meaningful("cell cell cell cell cell cell cell")
    assert not is_meaningful("")


# --- reflection -----------------------------------------------------------------


@pytest.mark.parametrize("kind", [k for k in ReviewKind if k is not ReviewKind.SCIENTIST])
async def test_every_review_kind_returns_a_review_of_that_kind(kind: ReviewKind) -> None:
    h = Harness()
    draft = await reflection.review(h.ctx, hypothesis("h1"), kind)
    assert draft.kind is kind
    assert draft.hypothesis_id == "h1"
    assert draft.summary
    assert all(1 <= v <= 5 for v in draft.scores.values()) and draft.scores
    assert {r.role for r in h.records} == {"reflection"}


async def test_scientist_reviews_are_not_written_by_the_agent() -> None:
    with pytest.raises(ValueError, match="scientist"):
        await reflection.review(Harness().ctx, hypothesis("h1"), ReviewKind.SCIENTIST)


def initial_answer(passed: bool = True, safety: int = 5, correctness: int = 4) -> dict[str, Any]:
    return {
        "novelty_reason": "Not reported before",
        "novelty": 4,
        "correctness_reason": "Fits known biology",
        "correctness": correctness,
        "testability_reason": "Flow cell assay",
        "testability": "5",
        "safety_reason": "No risk",
        "safety": safety,
        "strengths": ["Clear mechanism"],
        "weaknesses": ["Silver toxicity ignored"],
        "summary": "A clear and testable idea.",
        "passed": passed,
    }


async def test_initial_review_scores_and_verdict() -> None:
    h = Harness()
    h.queue(initial_answer(), initial_answer(safety=1), initial_answer(passed=False))
    ok, unsafe, rejected = [
        await reflection.review(h.ctx, hypothesis("h1"), ReviewKind.INITIAL) for _ in range(3)
    ]
    assert ok.passed and ok.scores == {
        "novelty": 4.0,
        "correctness": 4.0,
        "testability": 5.0,
        "safety": 5.0,
    }
    assert ok.details["reasons"]["testability"] == "Flow cell assay"
    assert ok.weaknesses == ["Silver toxicity ignored"]
    assert not unsafe.passed, "a safety score of 1 rejects whatever the model says"
    assert not rejected.passed


async def test_full_review_uses_the_literature_and_checks_citations() -> None:
    literature = FakeLiterature(PAPERS, known={"doi:10.1/biofilm"})
    h = Harness(literature=literature)
    h.queue({**initial_answer(), "literature": "Source 1 supports adhesion.", "related": [1]})
    cited = hypothesis("h1").model_copy(
        update={
            "citations": [Citation(identifier="doi:10.1/biofilm"), Citation(identifier="doi:x")]
        }
    )
    draft = await reflection.review(h.ctx, cited, ReviewKind.FULL)
    assert draft.details["related"] == ["doi:10.1/biofilm"]
    assert draft.details["citations_verified"] == {"doi:10.1/biofilm": True, "doi:x": False}
    assert any("doi:x" in w for w in draft.weaknesses)
    assert "[2] Silver coatings" in h.prompts()[0]


async def test_full_review_without_tools_marks_literature_unavailable() -> None:
    draft = await reflection.review(Harness().ctx, hypothesis("h1"), ReviewKind.FULL)
    assert draft.details["literature"] == "unavailable"


async def test_deep_verification_flags_a_fatal_assumption() -> None:
    h = Harness()
    h.queue(
        {
            "assumptions": [
                "Catheters carry a charge",
                "Charge attracts bacteria",
                "Urine is sterile",
            ]
        }
    )
    h.queue(
        {
            "sub_assumptions": ["Polymers ionise"],
            "reason": "Known from polymer chemistry.",
            "verdict": "holds",
            "fatal": False,
        },
        {
            "sub_assumptions": [],
            "reason": "Bacteria are also negative.",
            "verdict": "fails",
            "fatal": True,
        },
        {
            "sub_assumptions": [],
            "reason": "Often it is not sterile.",
            "verdict": "uncertain",
            "fatal": True,
        },
    )
    draft = await reflection.review(h.ctx, hypothesis("h1"), ReviewKind.DEEP_VERIFICATION)
    assert h.schemas == ["DecompositionOut"] + ["AssumptionCheckOut"] * 3
    assert not draft.passed
    assert draft.details["fatal"] == ["Charge attracts bacteria"]
    items = draft.details["assumptions"]
    assert [i["verdict"] for i in items] == ["holds", "fails", "uncertain"]
    assert items[2]["fatal"] is False, "only a failing assumption can be fatal"
    assert items[0]["sub_assumptions"] == ["Polymers ionise"]
    assert draft.scores["correctness"] == pytest.approx(1 + 4 * 1.5 / 3)
    assert "Urine is sterile" in h.prompts()[3]


async def test_deep_verification_passes_without_fatal_flaws() -> None:
    h = Harness()
    h.queue({"assumptions": ["Catheters carry a charge"]})
    h.queue(
        {
            "sub_assumptions": [],
            "reason": "Known from polymer chemistry.",
            "verdict": "holds",
            "fatal": True,
        }
    )
    draft = await reflection.review(h.ctx, hypothesis("h1"), ReviewKind.DEEP_VERIFICATION)
    assert draft.passed and draft.strengths == ["Catheters carry a charge"]


async def test_observation_review_with_given_and_listed_observations() -> None:
    answer = {
        "explained": [2, 9],
        "explanation": "Flow explains the second finding.",
        "score": 3,
        "summary": "Explains one of two.",
    }
    h = Harness()
    h.queue(answer)
    given = ["Biofilms form within 24 hours", "Biofilms thin out at high flow"]
    draft = await reflection.review(
        h.ctx, hypothesis("h1"), ReviewKind.OBSERVATION, observations=given
    )
    assert h.schemas == ["ObservationReviewOut"]
    assert draft.details["explained"] == ["Biofilms thin out at high flow"]
    assert draft.details["observations_from"] == "given"

    h = Harness()
    h.queue({"observations": ["Crystalline biofilms block catheters"]}, answer)
    draft = await reflection.review(h.ctx, hypothesis("h1"), ReviewKind.OBSERVATION)
    assert h.schemas == ["ObservationsOut", "ObservationReviewOut"]
    assert draft.details["observations"] == ["Crystalline biofilms block catheters"]
    assert draft.details["explained"] == [], "number 2 points past the one observation"


async def test_simulation_review_notes_where_the_mechanism_fails() -> None:
    h = Harness()
    h.queue(
        {
            "steps": ["Silver leaches out", "Silver reaches the matrix", "Signals drop"],
            "fails_at": 2,
            "failure": "The matrix binds silver first.",
            "score": 2,
            "summary": "Breaks at delivery.",
        }
    )
    draft = await reflection.review(h.ctx, hypothesis("h1"), ReviewKind.SIMULATION)
    assert not draft.passed
    assert draft.details["fails_at"] == 2
    assert draft.weaknesses == ["step 2 fails: The matrix binds silver first."]


# --- ranking --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "winner"), [(1, "a"), (2, "b"), ("2", "b"), ("Hypothesis 1", "a")]
)
async def test_single_comparison_maps_the_judges_number_to_ids(answer: Any, winner: str) -> None:
    a, b = (
        hypothesis("a", "Surface charge drives adhesion"),
        hypothesis("b", "Flow shear limits growth"),
    )
    for first, second in ((a, b), (b, a)):
        h = Harness()
        h.queue({"reasoning": "One is more testable than the other.", "winner": answer})
        verdict = await ranking.compare(h.ctx, first, second)
        expected = first.id if winner == "a" else second.id
        assert verdict.winner_id == expected
        assert (verdict.first_id, verdict.second_id) == (first.id, second.id)
        assert verdict.mode is MatchMode.SINGLE and verdict.turns == []
        prompt = h.prompts()[0]
        assert prompt.index(first.title) < prompt.index(second.title), "shown in the given order"
        assert f"Hypothesis 1:\nTitle: {first.title}" in prompt


async def test_comparison_shows_the_reviews_of_each_side() -> None:
    h = Harness()
    reviews = {"a": [review("a", "ignores urine chemistry")], "b": [review("b", "no controls")]}
    await ranking.compare(h.ctx, hypothesis("a"), hypothesis("b"), reviews=reviews)
    prompt = h.prompts()[0]
    assert prompt.index("ignores urine chemistry") < prompt.index("Hypothesis 2:")
    assert prompt.index("no controls") > prompt.index("Hypothesis 2:")


@pytest.mark.parametrize("turns", [1, 2, 3])
async def test_debate_calls_the_model_turns_plus_one_times(turns: int) -> None:
    h = Harness()
    h.queue(*[{"argument": f"Argument number {i} for my side"} for i in range(turns)])
    h.queue({"reasoning": "The second survived the criticism.", "winner": 2})
    verdict = await ranking.compare(
        h.ctx, hypothesis("a"), hypothesis("b"), mode=MatchMode.DEBATE, turns=turns
    )
    assert h.client.calls == turns + 1
    assert verdict.mode is MatchMode.DEBATE and verdict.winner_id == "b"
    assert len(verdict.turns) == turns
    sides = [t.split(":")[0] for t in verdict.turns]
    assert sides == [f"Advocate for Hypothesis {1 + i % 2}" for i in range(turns)]
    assert verdict.turns[-1] in h.prompts()[-1], "the judge reads the transcript"
    assert {r.role for r in h.records} == {"ranking"}


async def test_comparing_a_hypothesis_with_itself_is_an_error() -> None:
    with pytest.raises(ValueError):
        await ranking.compare(Harness().ctx, hypothesis("a"), hypothesis("a"))


# --- evolution ------------------------------------------------------------------


@pytest.mark.parametrize("strategy", evolution.STRATEGIES)
async def test_every_evolution_strategy_makes_new_hypotheses_with_parents(strategy: str) -> None:
    h = Harness()
    parents = [hypothesis("p1"), hypothesis("p2", "Flow shear limits growth"), hypothesis("p3")]
    drafts = await evolution.evolve(h.ctx, strategy, parents)
    assert len(drafts) == 1
    (draft,) = drafts
    assert draft.origin == f"evolution:{strategy}"
    single = strategy in ("grounding", "coherence", "simplification")
    assert draft.parent_ids == (["p1"] if single else ["p1", "p2", "p3"])
    assert draft.parent_ids, "an evolved hypothesis always names its parents"
    assert {r.role for r in h.records} == {"evolution"}


async def test_evolution_feeds_review_weaknesses_and_checks_parent_count() -> None:
    h = Harness()
    reviews = {"p1": [review("p1", "needs a negative control")]}
    await evolution.evolve(h.ctx, "coherence", [hypothesis("p1")], reviews=reviews)
    assert "- needs a negative control" in h.prompts()[0]
    with pytest.raises(ValueError, match="at least 2"):
        await evolution.evolve(h.ctx, "combination", [hypothesis("p1")])
    with pytest.raises(ValueError, match="unknown evolution strategy"):
        await evolution.evolve(h.ctx, "mutation", [hypothesis("p1")])


async def test_grounding_cites_literature_found_for_the_parent() -> None:
    literature = FakeLiterature(PAPERS)
    h = Harness(literature=literature)
    h.queue(good_hypothesis(sources=[1]))
    (draft,) = await evolution.evolve(h.ctx, "grounding", [hypothesis("p1")])
    assert "Catheter surface charge" in literature.queries[0]
    assert [c.identifier for c in draft.citations] == ["doi:10.1/biofilm"]


# --- meta-review ----------------------------------------------------------------


def match(i: int, rationale: str) -> Match:
    return Match(
        id=f"m{i}",
        session_id="s1",
        seq=i,
        first_id="a",
        second_id="b",
        winner_id="a",
        rationale=rationale,
    )


async def test_meta_review_finds_patterns_and_writes_an_overview() -> None:
    h = Harness()
    h.queue(
        {
            "critique": ["Mechanisms stay vague"],
            "strengths": ["Flow cell tests"],
            "gaps": ["Fungal biofilms"],
        },
        {
            "objective": "Find why biofilms form.",
            "aims": ["Test surface charge.", "Test urine flow."],
            "significance": "Fewer infections.",
        },
    )
    reviews = [review(f"h{i}", f"weakness number {i}") for i in range(30)]
    matches = [match(i, f"rationale number {i}") for i in range(20)]
    top = [hypothesis("a"), hypothesis("b")]
    draft = await meta_review.meta_review(h.ctx, reviews=reviews, matches=matches, top=top)
    assert draft.top_ids == ["a", "b"]
    assert (draft.critique, draft.strengths, draft.gaps) == (
        ["Mechanisms stay vague"],
        ["Flow cell tests"],
        ["Fungal biofilms"],
    )
    assert draft.overview.splitlines() == [
        "Objective: Find why biofilms form.",
        "Aim 1: Test surface charge.",
        "Aim 2: Test urine flow.",
        "Significance: Fewer infections.",
    ]
    patterns = h.prompts()[0]
    assert patterns.count("weakness number") == meta_review.MAX_REVIEWS
    assert patterns.count("rationale number") == meta_review.MAX_VERDICTS
    assert {r.role for r in h.records} == {"meta_review"}


async def test_meta_review_with_nothing_to_read_makes_no_calls() -> None:
    h = Harness()
    draft = await meta_review.meta_review(h.ctx, reviews=[], matches=[], top=[])
    assert draft == MetaReviewDraft()
    assert h.client.calls == 0


# --- prompts: feedback, preferences, insights, truncation --------------------------


async def run_every_role(h: Harness) -> None:
    a, b = hypothesis("a"), hypothesis("b")
    await generation.generate(h.ctx, "debate")
    await reflection.review(h.ctx, a, ReviewKind.INITIAL)
    await ranking.compare(h.ctx, a, b)
    await evolution.evolve(h.ctx, "combination", [a, b])
    await meta_review.meta_review(h.ctx, reviews=[review("a", "vague")], matches=[], top=[a])


async def test_feedback_and_preferences_reach_every_prompt_and_insights_only_generation() -> None:
    feedback = MetaReviewDraft(
        critique=["Hypotheses ignore host immunity"],
        strengths=["Concrete flow cell assays"],
        gaps=["Catheter material ageing"],
    )
    h = Harness(
        preferences="Only experiments under 1000 dollars",
        feedback=feedback,
        graph_insights=["Quorum sensing bridges adhesion and dispersal"],
    )
    await run_every_role(h)
    assert {r.role for r in h.backend.requests} == {
        "generation",
        "reflection",
        "ranking",
        "evolution",
        "meta_review",
    }
    for request in h.backend.requests:
        prompt = request.messages[1]["content"]
        assert "Only experiments under 1000 dollars" in prompt
        assert "- Avoid: Hypotheses ignore host immunity" in prompt
        assert "- Keep: Concrete flow cell assays" in prompt
        assert "- Not yet covered: Catheter material ageing" in prompt
        has_insight = "Quorum sensing bridges adhesion and dispersal" in prompt
        assert has_insight == (request.role == "generation")


async def test_prompts_stay_within_a_small_context_for_huge_inputs() -> None:
    long = "biofilm " * 2000
    h = Harness(
        goal=long,
        preferences=long,
        feedback=MetaReviewDraft(critique=[long] * 9, strengths=[long] * 9, gaps=[long] * 9),
        graph_insights=[long] * 9,
    )
    big = [
        hypothesis(i).model_copy(
            update={"statement": long, "rationale": long, "predictions": [long] * 9}
        )
        for i in ("a", "b")
    ]
    reviews = {i: [review(i, long)] * 5 for i in ("a", "b")}
    await generation.generate(h.ctx, "debate", existing=big * 10)
    await ranking.compare(h.ctx, big[0], big[1], mode=MatchMode.DEBATE, reviews=reviews)
    await evolution.evolve(h.ctx, "out_of_box", big * 3, reviews=reviews)
    await meta_review.meta_review(
        h.ctx, reviews=[review("a", long)] * 50, matches=[match(1, long)] * 50, top=big * 5
    )
    longest = max(sum(len(m["content"]) for m in r.messages) for r in h.backend.requests)
    assert longest < 11_000, (
        f"about {longest // 4} tokens: leaves too little of 4,096 for the answer"
    )


# --- output schemas ---------------------------------------------------------------


OUTPUT_MODELS: list[type[BaseModel]] = [
    HypothesisOut,
    generation.AssumptionsOut,
    reflection.InitialReviewOut,
    reflection.FullReviewOut,
    reflection.DecompositionOut,
    reflection.AssumptionCheckOut,
    reflection.ObservationsOut,
    reflection.ObservationReviewOut,
    reflection.SimulationOut,
    ranking.JudgementOut,
    meta_review.PatternsOut,
    meta_review.OverviewOut,
]


def unbounded(schema: Any, path: str = "") -> list[str]:
    """Paths of strings without maxLength and arrays without maxItems."""
    found: list[str] = []
    if isinstance(schema, dict):
        if schema.get("type") == "string" and "enum" not in schema and "maxLength" not in schema:
            found.append(path)
        if schema.get("type") == "array" and "maxItems" not in schema:
            found.append(path)
        if schema.get("type") == "integer" and "enum" not in schema and "maximum" not in schema:
            found.append(path)
        for key, value in schema.items():
            found += unbounded(value, f"{path}/{key}")
    elif isinstance(schema, list):
        for i, value in enumerate(schema):
            found += unbounded(value, f"{path}/{i}")
    return found


@pytest.mark.parametrize("model", OUTPUT_MODELS, ids=lambda m: m.__name__)
def test_every_output_schema_is_bounded(model: type[BaseModel]) -> None:
    schema = model.model_json_schema()
    assert unbounded(schema) == []
    assert len(json.dumps(schema)) < 3000, "small models need small schemas"
