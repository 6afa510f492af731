"""The agents' prompt templates: every variable required, fixed instructions first."""

from __future__ import annotations

from importlib import resources
from typing import Any

import pytest

from agents.ranking import Pair
from coscientist.errors import ConfigError
from coscientist.prompting import render

ROLES = ("generation", "reflection", "ranking", "evolution", "meta_review")

CONTEXT: dict[str, Any] = {
    "goal": "GOAL-SENTINEL",
    "preferences": "PREFERENCES-SENTINEL",
    "critique": ["CRITIQUE-SENTINEL"],
    "strengths": ["STRENGTHS-SENTINEL"],
    "gaps": ["GAPS-SENTINEL"],
    "insights": ["INSIGHTS-SENTINEL"],
    "objective": "OBJECTIVE-SENTINEL",
    "plan_preferences": ["PLAN-PREFERENCE-SENTINEL"],
    "constraints": ["CONSTRAINT-SENTINEL"],
    "attributes": ["ATTRIBUTE-SENTINEL"],
    "out_of_scope": ["OUT-OF-SCOPE-SENTINEL"],
    "focus": ["FOCUS-SENTINEL"],
}

PAIR = Pair("FIRST-SENTINEL", "SECOND-SENTINEL", ["FIRST-REVIEW"], ["SECOND-REVIEW"])
HYPOTHESIS = {"hypothesis": "HYPOTHESIS-SENTINEL"}
EVOLUTION = {"parents": ["PARENT-SENTINEL"], "weaknesses": ["WEAKNESS-SENTINEL"]}

# The task-specific variables of every step template (the context block comes on top).
STEPS: dict[str, dict[str, Any]] = {
    "generation/literature.j2": {"sources": ["SOURCE-SENTINEL"], "existing": ["EXISTING-SENTINEL"]},
    "generation/debate_turn.j2": {
        "existing": ["EXISTING-SENTINEL"],
        "transcript": ["TRANSCRIPT-SENTINEL"],
        "persona": "PERSONA-SENTINEL",
        "turn": 2,
        "turns": 3,
    },
    "generation/debate_final.j2": {
        "existing": ["EXISTING-SENTINEL"],
        "transcript": ["TRANSCRIPT-SENTINEL"],
    },
    "generation/assumptions.j2": {"existing": ["EXISTING-SENTINEL"]},
    "generation/from_assumptions.j2": {
        "assumptions": ["ASSUMPTION-SENTINEL"],
        "sub_assumptions": ["SUB-ASSUMPTION-SENTINEL"],
        "existing": ["EXISTING-SENTINEL"],
    },
    "generation/refine_assumptions.j2": {
        "assumptions": ["ASSUMPTION-SENTINEL"],
        "sub_assumptions": ["SUB-ASSUMPTION-SENTINEL"],
        "round": 1,
        "rounds": 2,
    },
    "generation/expansion.j2": {
        "direction": "DIRECTION-SENTINEL",
        "existing": ["EXISTING-SENTINEL"],
    },
    "generation/graph_gap.j2": {"existing": ["EXISTING-SENTINEL"]},
    "reflection/initial.j2": HYPOTHESIS,
    "reflection/queries.j2": HYPOTHESIS,
    "reflection/full.j2": {**HYPOTHESIS, "sources": ["SOURCE-SENTINEL"]},
    "reflection/deep_decompose.j2": HYPOTHESIS,
    "reflection/deep_judge.j2": {**HYPOTHESIS, "assumption": "ASSUMPTION-SENTINEL"},
    "reflection/tournament.j2": {
        **HYPOTHESIS,
        "losses": [{"winner": "WINNER-SENTINEL", "rationale": "WHY-SENTINEL", "turns": ["T"]}],
        "reviews": ["REVIEW-SENTINEL"],
    },
    "reflection/observation.j2": {**HYPOTHESIS, "observations": ["OBSERVATION-SENTINEL"]},
    "reflection/simulation.j2": HYPOTHESIS,
    "ranking/compare.j2": {"pair": PAIR},
    "ranking/debate_turn.j2": {
        "pair": PAIR,
        "transcript": ["TRANSCRIPT-SENTINEL"],
        "side": 2,
        "turn": 2,
        "turns": 3,
    },
    "ranking/debate_judge.j2": {"pair": PAIR, "transcript": ["TRANSCRIPT-SENTINEL"]},
    "evolution/grounding.j2": {**EVOLUTION, "sources": ["SOURCE-SENTINEL"]},
    "evolution/coherence.j2": EVOLUTION,
    "evolution/simplification.j2": EVOLUTION,
    "evolution/inspiration.j2": EVOLUTION,
    "evolution/combination.j2": EVOLUTION,
    "evolution/out_of_box.j2": EVOLUTION,
    "meta_review/patterns.j2": {"reviews": ["REVIEW-SENTINEL"], "verdicts": ["VERDICT-SENTINEL"]},
    "meta_review/overview.j2": {"top": [{"text": "TOP-SENTINEL", "reviews": ["TOP-REVIEW"]}]},
}


def sentinels(variables: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for value in variables.values():
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, list):
            found += [v for v in value if isinstance(v, str)]
        elif isinstance(value, Pair):
            found += [value.first, value.second, *value.first_reviews, *value.second_reviews]
    return found


def common_prefix(a: str, b: str) -> str:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def shipped_step_templates() -> set[str]:
    names = set()
    for role in ROLES:
        for entry in resources.files("prompts").joinpath(role).iterdir():
            if entry.name.endswith(".j2") and not entry.name.startswith("_"):
                names.add(f"{role}/{entry.name}")
    return names - {f"{role}/system.j2" for role in ROLES}


def test_every_step_template_is_covered_here() -> None:
    assert shipped_step_templates() == set(STEPS)


@pytest.mark.parametrize("role", ROLES)
def test_system_prompts_are_fixed_text(role: str) -> None:
    text = render(f"{role}/system.j2")
    assert "co-scientist" in text and "JSON" in text


@pytest.mark.parametrize("name", sorted(STEPS))
def test_template_renders_every_variable_it_is_given(name: str) -> None:
    variables = {**CONTEXT, **STEPS[name]}
    text = render(name, **variables)
    missing = [s for s in sentinels(variables) if s not in text]
    if name.startswith(("generation/",)):
        assert "INSIGHTS-SENTINEL" in text
    else:
        missing = [s for s in missing if s != "INSIGHTS-SENTINEL"]  # passed empty by the agents
    assert missing == []
    assert "{{" not in text and "{%" not in text


@pytest.mark.parametrize("name", sorted(STEPS))
def test_template_refuses_a_missing_variable(name: str) -> None:
    variables = {**CONTEXT, **STEPS[name]}
    for key in variables:
        partial = {k: v for k, v in variables.items() if k != key}
        with pytest.raises(ConfigError, match=key):
            render(name, **partial)


@pytest.mark.parametrize("name", sorted(STEPS))
def test_fixed_instructions_come_first_and_task_content_last(name: str) -> None:
    variables = {**CONTEXT, **STEPS[name]}
    one = render(name, **{**variables, "goal": "Why do biofilms form on catheters?"})
    two = render(name, **{**variables, "goal": "How do honeybees navigate at dusk?"})
    shared = common_prefix(one, two)
    assert len(shared) >= 200, "the fixed part is what a prefix cache reuses"
    assert shared.startswith("Task:")
    goal_at = one.index("Why do biofilms")
    for sentinel in sentinels(STEPS[name]):
        assert one.index(sentinel) > goal_at, f"{sentinel} must follow the session context"
