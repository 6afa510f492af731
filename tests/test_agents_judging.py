"""Reviewing, ranking, evolving and meta-reviewing agents against the scripted model."""

from __future__ import annotations

from typing import Any

import pytest

from agents import evolution, meta_review, ranking, reflection
from coscientist.schemas import Citation, MatchMode, MetaReviewDraft, ReviewKind
from tests.agent_support import (
    PAPERS,
    FakeLiterature,
    Harness,
    good_hypothesis,
    hypothesis,
    match,
    review,
)

pytestmark = pytest.mark.anyio


# --- reflection -----------------------------------------------------------------


REFLECTION_KINDS = [k for k in ReviewKind if k not in (ReviewKind.SCIENTIST, ReviewKind.TOURNAMENT)]


@pytest.mark.parametrize("kind", REFLECTION_KINDS)
async def test_every_review_kind_returns_a_review_of_that_kind(kind: ReviewKind) -> None:
    h = Harness()
    given = ["Biofilms form within 24 hours"] if kind is ReviewKind.OBSERVATION else []
    draft = await reflection.review(h.ctx, hypothesis("h1"), kind, observations=given)
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


async def test_full_review_searches_its_own_queries_and_checks_citations() -> None:
    literature = FakeLiterature(PAPERS, known={"doi:10.1/biofilm", "PMID:42"})
    h = Harness(literature=literature)
    h.queue(
        {"queries": ["catheter biofilm adhesion", "silver coating", "catheter biofilm adhesion"]}
    )
    # 7 is not a listed source: the model made it up, and it is dropped
    h.queue({**initial_answer(), "literature": "Source 1 supports adhesion.", "related": [2, 7]})
    cited = hypothesis("h1").model_copy(
        update={
            "citations": [Citation(identifier="doi:10.1/biofilm"), Citation(identifier="doi:x")]
        }
    )
    draft = await reflection.review(h.ctx, cited, ReviewKind.FULL)
    assert literature.queries == ["catheter biofilm adhesion", "silver coating"]
    assert draft.details["queries"] == ["catheter biofilm adhesion", "silver coating"]
    assert draft.details["related"] == ["PMID:42"]
    checked = {c["identifier"]: c["check"] for c in draft.details["citations"]}
    assert checked == {"doi:10.1/biofilm": "checked", "doi:x": "not_found", "PMID:42": "checked"}
    assert any("doi:x" in w for w in draft.weaknesses)
    review_prompt = h.prompts()[1]
    assert "[2] Silver coatings. Silver reduces growth. (PMID:42)" in review_prompt
    assert "[3]" not in review_prompt  # the two queries found the same two papers


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


async def test_observation_review_checks_given_observations_and_never_invents_them() -> None:
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
    assert draft.details["observations"] == given
    assert draft.details["explained"] == ["Biofilms thin out at high flow"], (
        "9 points past the list"
    )

    h = Harness()
    with pytest.raises(ValueError, match="needs observations"):
        await reflection.review(h.ctx, hypothesis("h1"), ReviewKind.OBSERVATION)
    assert h.client.calls == 0, "no observations: no model call, no invented findings"


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


async def test_meta_review_finds_patterns_and_writes_an_overview() -> None:
    h = Harness()
    h.queue(
        {
            "critique": ["Mechanisms stay vague"],
            "strengths": ["Flow cell tests"],
            "gaps": ["Fungal biofilms"],
        },
        {
            "title": "Why biofilms form on catheters",
            "background": "Catheter infections are common and costly.",
            "gap": "Nobody knows which surface property starts a biofilm.",
            "aims": [
                {
                    "hypothesis": 2,
                    "aim": "Test surface charge on coated catheters.",
                    "rationale": "Reviews found the charge plausible",
                    "approach": "Flow cells with charged coatings",
                    "expected_outcome": "Less adhesion at neutral charge",
                    "pitfalls": "Coatings wear off; use fresh ones",
                },
                {
                    "hypothesis": 2,
                    "aim": "Test urine flow on the same hypothesis.",
                    "rationale": "A second aim for one hypothesis",
                    "approach": "Flow rates in a bioreactor",
                    "expected_outcome": "Shear removes young colonies",
                    "pitfalls": "Flow is hard to control",
                },
                {
                    "hypothesis": 1,
                    "aim": "Test urine flow in patients.",
                    "rationale": "Flow varies between patients",
                    "approach": "Measure flow and colonisation",
                    "expected_outcome": "Low flow, more biofilm",
                    "pitfalls": "Confounders; stratify by age",
                },
            ],
        },
    )
    reviews = [review(f"h{i}", f"weakness number {i}") for i in range(30)]
    matches = [match(i, f"rationale number {i}") for i in range(20)]
    top = [hypothesis("a"), hypothesis("b")]
    top_reviews = {"b": [review("b", "TOP-REVIEW-WEAKNESS")]}
    draft = await meta_review.meta_review(
        h.ctx, reviews=reviews, matches=matches, top=top, top_reviews=top_reviews
    )
    assert draft.top_ids == ["a", "b"]
    assert (draft.critique, draft.strengths, draft.gaps) == (
        ["Mechanisms stay vague"],
        ["Flow cell tests"],
        ["Fungal biofilms"],
    )
    overview = draft.research_overview
    assert overview is not None and overview.title == "Why biofilms form on catheters"
    assert overview.gap.startswith("Nobody knows")
    # Each aim names its hypothesis by number; the ids come from the list shown, and a
    # hypothesis is the subject of one aim at most.
    assert [a.hypothesis_id for a in overview.aims] == ["b", "a"]
    assert overview.aims[0].pitfalls == "Coatings wear off; use fresh ones"
    assert draft.overview.splitlines()[0] == "Why biofilms form on catheters"
    assert "Aim 1 (b): Test surface charge on coated catheters." in draft.overview
    assert "TOP-REVIEW-WEAKNESS" in h.prompts()[1], "the overview reads the top's reviews"
    patterns = h.prompts()[0]
    assert patterns.count("weakness number") == meta_review.MAX_REVIEWS
    assert patterns.count("rationale number") == meta_review.MAX_VERDICTS
    assert {r.role for r in h.records} == {"meta_review"}


async def test_meta_review_with_nothing_to_read_makes_no_calls() -> None:
    h = Harness()
    draft = await meta_review.meta_review(h.ctx, reviews=[], matches=[], top=[])
    assert draft == MetaReviewDraft()
    assert h.client.calls == 0
