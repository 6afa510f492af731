"""The command line's view of the method: the research plan, a plan file, and `show`'s extras.

Kept out of cli.py so that it stays a list of commands. Model text is printed
with markup off: a title like "[bold]x" shows as written.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from rich.console import Console

from coscientist.errors import ConfigError
from coscientist.reports.judging import audit_sentence
from coscientist.schemas import ResearchPlan

GOAL_VERDICTS = {
    "none": "reviewed, no harm found",
    "dual_use": "reviewed, dual use: pursued with care",
    "serious": "reviewed, judged harmful (advisory with this model)",
}
PLAN_KEYS = ("objective", "preferences", "constraints", "attributes", "out_of_scope")


def read_plan_file(path: Path) -> dict[str, Any]:
    """A plan from TOML: `objective` a string, the other keys lists of strings."""
    try:
        data = tomllib.loads(path.expanduser().read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
    unknown = sorted(set(data) - set(PLAN_KEYS))
    if unknown:
        raise ConfigError(f"{path}: unknown keys {', '.join(unknown)}; use {', '.join(PLAN_KEYS)}")
    if "objective" in data and not isinstance(data["objective"], str):
        raise ConfigError(f"{path}: objective must be a string")
    for key in PLAN_KEYS[1:]:
        items = data.get(key, [])
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise ConfigError(f"{path}: {key} must be a list of strings")
    return data


def _line(console: Console, text: str) -> None:
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def print_plan(console: Console, plan: ResearchPlan | None) -> None:
    if plan is None or plan.is_empty():
        _line(console, "Research plan: none yet (drafted at the start of the first run)")
        return
    _line(console, "Research plan:")
    if plan.objective:
        _line(console, f"  objective: {plan.objective}")
    for name, items in (
        ("preference", plan.preferences),
        ("constraint", plan.constraints),
        ("good hypothesis", plan.attributes),
        ("out of scope", plan.out_of_scope),
    ):
        for item in items:
            _line(console, f"  {name}: {item}")


def print_method(console: Console, summary: dict[str, Any]) -> None:
    """Safety, statuses, reviews, debates and the Specific Aims overview, a few lines each."""
    safety = summary["safety"]
    goal = safety["goal"]
    verdict = GOAL_VERDICTS.get(goal["model_verdict"], "screened") if goal else "screened only"
    reasons = ", ".join(f"{n} by {r}" for r, n in safety["by_reason"].items())
    line = f"Safety: goal {verdict}; {safety['withheld']} hypotheses withheld"
    _line(console, line + (f" ({reasons})" if reasons else ""))
    t = summary["tournament"]
    share = f"{100 * t['debate_share']:.0f} %" if t["debate_share"] is not None else "n/a"
    _line(console, f"Tournament: {t['matches']} matches, {t['debates']} debates ({share})")
    _line(console, audit_sentence(summary["judge_audit"]))
    kinds = ", ".join(f"{k} {v}" for k, v in summary["reviews_by_kind"].items())
    _line(console, f"Reviews: {kinds or 'none yet'}")
    for note in summary["out_of_tournament"]:
        if note["status"] == "flawed":
            _line(console, f"  out: {note['id']} {note['title']}: {note['reason']}")
    overview = summary["overview"]
    if overview:
        _line(console, f"Specific Aims: {overview['title']}")
        for i, aim in enumerate(overview["aims"], start=1):
            _line(console, f"  Aim {i} ({aim['hypothesis_id']}): {aim['aim']}")
    contacts = summary.get("contacts") or []
    if contacts:
        _line(console, f"Research contacts ({len(contacts)}):")
        for person in contacts:
            papers = ", ".join(p["identifier"] for p in person["papers"])
            _line(console, f"  {person['name']}: {papers}")
