"""Hidden qualities for the simulator: hypotheses with a true worth and a judge that sees it.

The simulator (simulator.py) calls `HiddenQuality.rewrite` on every answer it
synthesises. A hypothesis it writes (any object with a title and a statement,
from the Generation or Evolution agent) gets a fresh tag at the front of its
title, `[H12345678]`: eight random digits, a key into a table that only this
process holds. The tag carries no information about the quality (the digits are
drawn independently of it), so the orchestrator can learn a hypothesis' worth
only from the judge's verdicts. The benchmark reads the table after a session
ends, to score the ranking against the truth.

- Generated hypotheses: quality ~ Normal(0, 1), on the judge's log-odds scale.
- Evolved hypotheses: the mean quality of the parents the prompt shows (read
  from their tags), plus Normal(EVOLVE_GAIN, EVOLVE_NOISE): evolution helps on
  average, sometimes hurts.
- The judge (an answer with a `winner` field, single comparison or the verdict
  of a debate): P(Hypothesis 1 wins) = lapse / 2 + (1 - lapse) * logistic(q1 - q2 +
  FIRST_BIAS): Bradley-Terry on the hidden qualities, a first-position bias
  (+0.1 in probability between equals) and a share of verdicts that ignore the
  pair altogether (noise).

Content words in synthesised text are letters only (coscientist.llm.synthetic),
so a tag's digits never leak into other text, and a transcript cannot forge one.
"""

from __future__ import annotations

import math
import random
import re
from typing import Any

TAG = re.compile(r"\[H(\d{8})\]")
_PARENT = re.compile(r"Existing hypothesis \d+:\s*\nTitle: \[H(\d{8})\]")
_SIDE = {
    1: re.compile(r"Hypothesis 1:\s*\nTitle: \[H(\d{8})\]"),
    2: re.compile(r"Hypothesis 2:\s*\nTitle: \[H(\d{8})\]"),
}

FIRST_BIAS = 0.4  # log-odds: 0.60 for the first of two equals
LAPSE = 0.05  # verdicts that are a coin flip
EVOLVE_GAIN = 0.4
EVOLVE_NOISE = 0.6


def title_tag(title: str) -> str | None:
    """The tag in a hypothesis title, or None (a hypothesis the scientist added)."""
    found = TAG.search(title)
    return found.group(1) if found else None


class HiddenQuality:
    """The table of qualities and the rules above; one instance per simulator process."""

    def __init__(self, seed: int) -> None:
        self.reset(seed)

    def reset(self, seed: int) -> None:
        self._rng = random.Random(f"hidden-quality:{seed}")
        self.quality: dict[str, float] = {}
        self.origin: dict[str, str] = {}
        self.verdicts = 0

    def table(self) -> dict[str, Any]:
        return {"quality": self.quality, "origin": self.origin, "verdicts": self.verdicts}

    def rewrite(self, messages: list[dict[str, Any]], value: Any) -> Any:
        """The answer with tags written in, or a judge's winner set; other answers unchanged."""
        if not isinstance(value, dict):
            return value
        system = str(messages[0].get("content", "")) if messages else ""
        user = "\n".join(str(m.get("content", "")) for m in messages if m.get("role") == "user")
        if "winner" in value and system.startswith("You are the Ranking agent"):
            value["winner"] = self._judge(user)
        elif system.startswith("You are the Generation agent"):
            self._tag_all(value, lambda: self._rng.gauss(0.0, 1.0), "generation")
        elif system.startswith("You are the Evolution agent"):
            parents = [self.quality.get(t, 0.0) for t in _PARENT.findall(user)]
            base = sum(parents) / len(parents) if parents else 0.0
            self._tag_all(
                value, lambda: base + self._rng.gauss(EVOLVE_GAIN, EVOLVE_NOISE), "evolution"
            )
        return value

    def _tag_all(self, value: Any, draw: Any, origin: str) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("title"), str) and "statement" in value:
                tag = self._new_tag()
                self.quality[tag] = float(draw())
                self.origin[tag] = origin
                value["title"] = f"[H{tag}] {value['title']}"[:100]
            for item in value.values():
                self._tag_all(item, draw, origin)
        elif isinstance(value, list):
            for item in value:
                self._tag_all(item, draw, origin)

    def _new_tag(self) -> str:
        while True:
            tag = f"{self._rng.randrange(10**8):08d}"
            if tag not in self.quality:
                return tag

    def _judge(self, user: str) -> int:
        self.verdicts += 1
        sides = {}
        for side, pattern in _SIDE.items():
            found = pattern.search(user)
            sides[side] = self.quality.get(found.group(1), 0.0) if found else 0.0
        return 1 if first_wins(sides[1], sides[2], self._rng) else 2


def first_wins(first: float, second: float, rng: random.Random) -> bool:
    """One verdict of the simulator's judge between qualities `first` (shown first) and
    `second`: LAPSE of them a coin flip, the rest Bradley-Terry with the first-position offset.
    The session simulator, the calibration's judge and the sessions' ceiling all judge so."""
    if rng.random() < LAPSE:
        return rng.random() < 0.5
    return rng.random() < 1.0 / (1.0 + math.exp(-(first - second + FIRST_BIAS)))
