"""Agents against the scripted model: generation, repair, bounded outputs, prompt contents."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel

from agents import (
    evolution,
    generation,
    intake,
    meta_review,
    ranking,
    reflection,
    tournament_review,
)
from agents.outputs import HypothesisOut, is_meaningful
from coscientist.errors import ModelOutputError
from coscientist.schemas import MatchMode, MetaReviewDraft, ReviewKind
from tests.agent_support import (
    GOAL,
    PAPERS,
    BrokenLiterature,
    FakeLiterature,
    Harness,
    good_hypothesis,
    hypothesis,
    match,
    review,
)

pytestmark = pytest.mark.anyio


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
    assert h.schemas == [
        "AssumptionsOut",
        "RefinedAssumptionsOut",
        "RefinedAssumptionsOut",
        "HypothesisOut",
    ]
    assert draft.origin == "generation:expansion"


REFINED = [
    {
        "sub_assumptions": ["Proteins adsorb within minutes", "Shear stress peaks at the tip"],
        "assumptions": ["A protein film forms before adhesion", "Flow shears young colonies"],
    },
    {
        "sub_assumptions": ["Fibrinogen dominates the film"],
        "assumptions": ["A fibrinogen film precedes adhesion", "Tip shear removes young colonies"],
    },
]


async def test_assumptions_are_refined_over_rounds_then_built_on() -> None:
    h = Harness()
    h.queue({"assumptions": ["Adhesion needs a conditioning film", "Flow shears young colonies"]})
    h.queue(*REFINED, good_hypothesis(assumptions=[]))
    (draft,) = await generation.generate(h.ctx, "assumptions")
    assert generation.ASSUMPTION_ROUNDS == 2
    prompts = h.prompts()
    assert len(prompts) == 4
    assert "round 1 of 2" in prompts[1] and "- Adhesion needs a conditioning film" in prompts[1]
    # Round 2 reads what round 1 found: its assumptions and their sub-assumptions.
    assert "round 2 of 2" in prompts[2] and "- Shear stress peaks at the tip" in prompts[2]
    assert "- A protein film forms before adhesion" in prompts[2]
    # The hypothesis is written from the last round, not from the first list.
    assert "- A fibrinogen film precedes adhesion" in prompts[3]
    assert "- Fibrinogen dominates the film" in prompts[3]
    assert "Adhesion needs a conditioning film" not in prompts[3]
    assert draft.assumptions == [
        "A fibrinogen film precedes adhesion",
        "Tip shear removes young colonies",
    ]


async def test_existing_titles_go_into_the_prompt_at_most_ten() -> None:
    h = Harness()
    existing = [hypothesis(f"h{i}", f"Existing idea number {i:02d}") for i in range(25)]
    await generation.generate(h.ctx, "expansion", existing=existing)
    prompt = h.prompts()[0]
    shown = [h_.title for h_ in existing if f"- {h_.title}\n" in prompt + "\n"]
    assert len(shown) == generation.EXISTING_TITLES


async def test_a_failure_after_the_first_draft_keeps_what_is_valid() -> None:
    h = Harness()
    h.queue({"assumptions": ["Adhesion needs a conditioning film"]}, *REFINED, good_hypothesis())
    h.queue("nonsense", "nonsense", "nonsense")  # the second draft never validates
    drafts = await generation.generate(h.ctx, "assumptions", count=3)
    assert [d.title for d in drafts] == ["Silver ions block quorum sensing"]


async def test_a_failure_with_nothing_valid_raises() -> None:
    h = Harness()
    h.queue({"assumptions": ["Adhesion needs a conditioning film"]}, *REFINED, "x", "x", "x")
    with pytest.raises(ModelOutputError):
        await generation.generate(h.ctx, "assumptions")


# --- repair and content validation ----------------------------------------------


async def test_malformed_answer_is_repaired_by_the_client() -> None:
    h = Harness(feedback=MetaReviewDraft(gaps=["urine flow"]))
    h.queue('{"title": "Silver', good_hypothesis())
    (draft,) = await generation.generate(h.ctx, "expansion")
    assert draft.title == "Silver ions block quorum sensing"
    assert [r.outcome for r in h.records] == ["malformed", "repaired"]
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
    reflection.ObservationReviewOut,
    reflection.SimulationOut,
    ranking.JudgementOut,
    meta_review.PatternsOut,
    meta_review.SpecificAimsOut,
    meta_review.AimOut,
    generation.RefinedAssumptionsOut,
    intake.GoalSafetyOut,
    intake.PlanOut,
    tournament_review.TournamentReviewOut,
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


async def test_a_refinement_the_model_cannot_write_keeps_the_last_valid_assumptions() -> None:
    h = Harness()
    h.queue({"assumptions": ["Adhesion needs a conditioning film"]}, REFINED[0])
    h.queue("x", "x", "x")  # round 2 never validates
    h.queue(good_hypothesis(assumptions=[]))
    (draft,) = await generation.generate(h.ctx, "assumptions")
    assert "- A protein film forms before adhesion" in h.prompts()[-1]
    assert draft.assumptions == REFINED[0]["assumptions"]
