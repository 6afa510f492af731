"""Our own safety screen: patterns of serious harm that no model's judgement can wave through.

The co-scientist reviews the research goal before anything else and every
hypothesis before it competes (paper, section 3.1 and 3.3.2). A model does
that judging, but the shipped model has 135M parameters and scores at random;
this screen is the floor under it. It looks for intent, not topics: a goal
about anthrax vaccines or tumours that evade the immune system passes, a goal
to make a pathogen more transmissible, produce a toxin or slip past DNA
synthesis screening does not. The model's own review may refuse more, never less.

Reasons are category-level on purpose: they are shown in reports, and must not
repeat the withheld text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from coscientist.errors import GoalRefusedError
from coscientist.schemas import SafetyVerdict


@dataclass(frozen=True)
class Rule:
    category: str
    pattern: re.Pattern[str]


def _rule(category: str, pattern: str) -> Rule:
    return Rule(category, re.compile(pattern, re.IGNORECASE))


_NEAR = r"[^.;!?]{0,70}?"  # within one sentence, a few words apart
_PATHOGEN = (
    r"(virus\w*|viral|pathogen\w*|bacteri\w*|influenza|flu|h5n1|h7n9|coronavirus\w*|sars\w*|"
    r"mers|ebola|smallpox|variola|anthrax|plague|yersinia|prion\w*|microbe\w*|germs?)"
)
_THREAT_AGENT = (
    r"(ricin|abrin|botulinum|botulism toxin|anthrax|bacillus anthracis|smallpox|variola|"
    r"ebola|marburg|yersinia pestis|plague bacteri\w*|saxitoxin|tetrodotoxin|"
    r"sarin|soman|tabun|vx|novichok|nerve agents?|mustard gas|phosgene|chlorine gas)"
)
_PRODUCE = (
    r"(synthesi[sz]\w*|produc\w*|manufactur\w*|mass[\s-]produc\w*|make|making|cultur\w*|"
    r"grow|growing|extract\w*|purif\w*|stockpil\w*|aerosoli[sz]\w*|disseminat\w*|"
    r"releas\w*|deploy\w*|weaponi[sz]\w*|acquir\w*|obtain\w*)"
)
_ENGINEER = (
    r"(engineer\w*|genetically modif\w*|modif\w*|design\w*|creat\w*|construct\w*|"
    r"synthesi[sz]\w*|enhanc\w*|boost\w*|maximi[sz]\w*|make|making|render\w*|select\w* for|"
    r"serial(ly)? pass\w*|passag\w*)"
)
_WORSE = (
    r"(more |most |highly |hyper)?(transmissib\w*|virulen\w*|lethal\w*|deadl\w*|"
    r"contagious\w*|infectious\w*|pathogenic\w*|airborne|immune[\s-]escap\w*|"
    r"vaccine[\s-](escape|resistan\w*)|drug[\s-]resistan\w*)"
)
_EVADE = (
    r"(evad\w*|evasion|bypass\w*|circumvent\w*|avoid\w*|defeat\w*|get(ting)? around|"
    r"slip\w* past|fool\w*|trick\w*|undetect\w*)"
)
_CONTROL = (
    r"(biosecurity|biosafety (rules|regulations|oversight|review)|"
    r"(dna|gene|nucleic acid) synthesis screening|synthesis screening|"
    r"screening of (dna|gene) orders|export controls?|select agent (rules|regulations|program)|"
    r"chemical weapons convention|customs inspection)"
)

RULES: tuple[Rule, ...] = (
    _rule(
        "weapons",
        r"\b(bio|biological|chemical|nuclear|radiological|toxin)[\s-]*weapons?\b"
        r"|\bbioweapons?\b|\bweaponi[sz]\w*|\bdirty bombs?\b|\bimprovised explosive\w*"
        r"|\bnerve[\s-]agent (synthesis|production)\b",
    ),
    _rule(
        "mass harm",
        r"\b(mass[\s-]casualt\w*|maximi[sz]\w* (the )?(casualties|deaths|death toll|harm))\b"
        r"|\b(how to|ways? to|in order to|so as to|plan to)\b[^.;!?]{0,40}?"
        r"\b(kill|poison|maim|assassinat\w*|incapacitat\w*)\b",
    ),
    _rule("toxins and threat agents", rf"\b{_PRODUCE}\b{_NEAR}\b{_THREAT_AGENT}\b"),
    _rule("toxins and threat agents", rf"\b{_THREAT_AGENT}\b{_NEAR}\b(synthesis|production)\b"),
    _rule("pathogen enhancement", rf"\b{_ENGINEER}\b{_NEAR}\b{_PATHOGEN}\b{_NEAR}\b{_WORSE}"),
    _rule("pathogen enhancement", rf"\b{_ENGINEER}\b{_NEAR}\b{_WORSE}{_NEAR}\b{_PATHOGEN}\b"),
    _rule(
        "pathogen enhancement",
        rf"\bgain[\s-]of[\s-]function\b{_NEAR}\b{_PATHOGEN}\b"
        rf"|\b{_PATHOGEN}\b{_NEAR}\bgain[\s-]of[\s-]function\b",
    ),
    _rule("evading biosecurity controls", rf"\b{_EVADE}\b{_NEAR}\b{_CONTROL}"),
)

# What a report may say about a hypothesis withheld by the model's own review.
MODEL_REASON = "safety review: the reviewer judged it unsafe"


def screen(text: str) -> SafetyVerdict:
    """The first rule `text` breaks, as an unsafe verdict; a safe verdict when none applies."""
    flat = " ".join(text.split())
    for rule in RULES:
        if rule.pattern.search(flat):
            return SafetyVerdict(
                safe=False,
                category=rule.category,
                reason=f"safety screen: {rule.category}",
                by="screen",
            )
    return SafetyVerdict()


def hypothesis_text(title: str, statement: str, *more: str) -> str:
    """The parts of a hypothesis the screen reads, one sentence each."""
    return ". ".join(part for part in (title, statement, *more) if part)


def refusal(verdict: SafetyVerdict) -> GoalRefusedError:
    what = verdict.category or "serious harm"
    return GoalRefusedError(
        f"the research goal was refused: it seeks serious harm ({what}); no session was kept"
    )


def check_goal(goal: str) -> None:
    """The screen alone, no model: GoalRefusedError for a goal that seeks serious harm."""
    verdict = screen(goal)
    if not verdict.safe:
        raise refusal(verdict)
