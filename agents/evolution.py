"""Evolution agent: new hypotheses from the best ones (co-scientist paper, section 3.3.5).

It never edits a parent: every result is a new hypothesis that records its
parents' ids, so the originals keep competing in the tournament.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from agents import sources as lit
from agents.common import EVOLUTION, ask, hypothesis_text, reviews_of, weaknesses
from agents.context import AgentContext
from agents.outputs import HypothesisOut
from coscientist.schemas import EVOLUTION_STRATEGIES, Hypothesis, HypothesisDraft, Review

MAX_WEAKNESSES = 4

STRATEGIES = EVOLUTION_STRATEGIES


@dataclass(frozen=True)
class _Shape:
    """How many parents a strategy reads and how much of each the prompt shows."""

    least: int
    most: int
    chars: int


_SHAPES = {
    "grounding": _Shape(1, 1, 900),
    "coherence": _Shape(1, 1, 900),
    "simplification": _Shape(1, 1, 900),
    "inspiration": _Shape(1, 3, 600),
    "combination": _Shape(2, 3, 600),
    "out_of_box": _Shape(1, 5, 360),
}


async def evolve(
    ctx: AgentContext,
    strategy: str,
    parents: Sequence[Hypothesis],
    *,
    reviews: Mapping[str, Sequence[Review]] | None = None,
) -> list[HypothesisDraft]:
    """New hypotheses from `parents` (best first); parent_ids lists the parents used."""
    if strategy not in _SHAPES:
        raise ValueError(
            f"unknown evolution strategy {strategy!r}; use one of {', '.join(STRATEGIES)}"
        )
    shape = _SHAPES[strategy]
    if len(parents) < shape.least:
        raise ValueError(
            f"evolution by {strategy} needs at least {shape.least} parent(s), got {len(parents)}"
        )
    used = list(parents[: shape.most])
    per_parent = max(1, MAX_WEAKNESSES // len(used))
    found_weaknesses = [w for p in used for w in weaknesses(reviews_of(reviews, p.id), per_parent)]
    sources: list[lit.Source] = []
    if strategy == "grounding":
        sources = await lit.search(ctx, f"{used[0].title}. {used[0].statement}") or []
    out = await ask(
        ctx,
        EVOLUTION,
        f"evolution/{strategy}.j2",
        HypothesisOut,
        parents=[hypothesis_text(p, shape.chars) for p in used],
        weaknesses=found_weaknesses,
        sources=lit.lines(sources),
    )
    draft = out.to_draft(
        f"evolution:{strategy}",
        parent_ids=[p.id for p in used],
        citations=await lit.check_all(ctx, lit.citations(sources, out.sources)),
        inspired_by=ctx.focus,
    )
    return [draft]
