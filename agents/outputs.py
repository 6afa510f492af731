"""Bounded building blocks for what models are asked to produce.

Every string and list carries a maximum that ends up in the JSON schema
(`maxLength`, `maxItems`): a grammar-constrained small model cannot loop past
it, and a remote model that overshoots is clipped instead of repaired. Content
checks are light: they reject the degenerate answers small models give
("1.1.1.1", one word repeated) so the client's repair retry gets a clear reason.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

from coscientist.schemas import Citation, GraphTriple, HypothesisDraft

_WORD = re.compile(r"[^\W\d_]{2,}")


def words(text: str) -> list[str]:
    """Alphabetic words of two letters or more, lower-cased."""
    return _WORD.findall(text.lower())


def is_meaningful(text: str, min_words: int = 2) -> bool:
    """True when `text` reads like language: enough real words, not one word on repeat."""
    found = words(text)
    if len(found) < min_words:
        return False
    if len(found) >= 6:
        most_common = Counter(found).most_common(1)[0][1]
        if most_common / len(found) > 0.5:
            return False
    return True


def _clip(limit: int) -> Callable[[Any], Any]:
    """Collapse whitespace; a string at the limit was cut there (by a grammar): end on a word."""

    def clip(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        flat = " ".join(value.split())
        if len(flat) < limit:
            return flat
        flat = flat[:limit]
        space = flat.rfind(" ")
        return (flat[:space] if space >= limit - 30 else flat).rstrip(" ,;:")

    return clip


def _cap(limit: int) -> Callable[[Any], Any]:
    def cap(value: Any) -> Any:
        return value[:limit] if isinstance(value, list) else value

    return cap


def _drop_blank(items: list[str]) -> list[str]:
    """Keep distinct items of two words or more; a list may legitimately end up empty."""
    kept: dict[str, str] = {}
    for item in items:
        if is_meaningful(item, 2):
            kept.setdefault(" ".join(words(item)), item)
    return list(kept.values())


def _require_words(min_words: int, what: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not is_meaningful(value, min_words):
            raise ValueError(f"{what} must be written in words (at least {min_words}), not symbols")
        return value

    return check


# Free strings of a few fixed sizes; the numbers are characters.
Phrase = Annotated[str, BeforeValidator(_clip(100)), StringConstraints(max_length=100)]
Line = Annotated[str, BeforeValidator(_clip(160)), StringConstraints(max_length=160)]
Sentence = Annotated[str, BeforeValidator(_clip(240)), StringConstraints(max_length=240)]
Paragraph = Annotated[str, BeforeValidator(_clip(360)), StringConstraints(max_length=360)]
LongParagraph = Annotated[str, BeforeValidator(_clip(600)), StringConstraints(max_length=600)]

# Strings an answer cannot do without: a minimum length keeps a grammar-constrained
# model from answering "", and a word check rejects symbol soup.
Title = Annotated[
    str,
    BeforeValidator(_clip(100)),
    StringConstraints(min_length=8, max_length=100),
    AfterValidator(_require_words(2, "title")),
]
Statement = Annotated[
    str,
    BeforeValidator(_clip(360)),
    StringConstraints(min_length=20, max_length=360),
    AfterValidator(_require_words(3, "statement")),
]
Summary = Annotated[
    str,
    BeforeValidator(_clip(240)),
    StringConstraints(min_length=10, max_length=240),
    AfterValidator(_require_words(2, "summary")),
]
Argument = Annotated[
    str,
    BeforeValidator(_clip(600)),
    StringConstraints(min_length=20, max_length=600),
    AfterValidator(_require_words(3, "argument")),
]

# Short lists of lines; blank or symbol-only items are dropped, not fatal.
Lines2 = Annotated[
    list[Line], BeforeValidator(_cap(2)), Field(max_length=2), AfterValidator(_drop_blank)
]
Lines3 = Annotated[
    list[Line], BeforeValidator(_cap(3)), Field(max_length=3), AfterValidator(_drop_blank)
]
Lines5 = Annotated[
    list[Line], BeforeValidator(_cap(5)), Field(max_length=5), AfterValidator(_drop_blank)
]


def _nonempty(items: list[str]) -> list[str]:
    if not items:
        raise ValueError("give at least one item written in words")
    return items


# Non-empty variants, for lists the next step depends on.
SomeLines4 = Annotated[
    list[Line],
    BeforeValidator(_cap(4)),
    Field(min_length=1, max_length=4),
    AfterValidator(_drop_blank),
    AfterValidator(_nonempty),
]
SomeLines5 = Annotated[
    list[Line],
    BeforeValidator(_cap(5)),
    Field(min_length=1, max_length=5),
    AfterValidator(_drop_blank),
    AfterValidator(_nonempty),
]
SomeSummaries3 = Annotated[
    list[Summary],
    BeforeValidator(_cap(3)),
    Field(min_length=1, max_length=3),
    AfterValidator(_drop_blank),
    AfterValidator(_nonempty),
]


def _numbers(limit: int, top: int) -> Callable[[Any], Any]:
    """Drop numbers that point at nothing instead of failing the whole answer."""

    def keep(value: Any) -> Any:
        if not isinstance(value, list):
            return value
        valid = [v for v in value if isinstance(v, int) and 1 <= v <= top]
        return list(dict.fromkeys(valid))[:limit]

    return keep


# 1-based numbers of items listed in the prompt (sources, observations).
SourceNumbers = Annotated[
    list[Annotated[int, Field(ge=1, le=20)]], BeforeValidator(_numbers(3, 20)), Field(max_length=3)
]
SearchQueries = Annotated[
    list[Phrase],
    BeforeValidator(_cap(3)),
    Field(min_length=1, max_length=3),
    AfterValidator(_drop_blank),
]
ItemNumbers = Annotated[
    list[Annotated[int, Field(ge=1, le=5)]], BeforeValidator(_numbers(5, 5)), Field(max_length=5)
]


def _score(value: Any) -> Any:
    """Accept "4" and 4.0 as 4; the schema still says integer 1..5."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Score = Annotated[Literal[1, 2, 3, 4, 5], BeforeValidator(_score)]


# Concept names are short noun phrases; bounded hard so a small model cannot ramble in them.
ConceptName = Annotated[str, BeforeValidator(_clip(48)), StringConstraints(max_length=48)]
RelationName = Annotated[str, BeforeValidator(_clip(32)), StringConstraints(max_length=32)]


class RelationOut(BaseModel):
    """One concept-relation-concept triple an answer states; grounded against its text later."""

    source: ConceptName = Field(description="a concept copied from your text, 1-4 words")
    relation: RelationName = Field(description="a short verb phrase")
    target: ConceptName = Field(description="another concept copied from your text, 1-4 words")


def _triples(items: Any) -> Any:
    """Drop relations with an empty end instead of failing the whole answer."""
    if not isinstance(items, list):
        return items
    return [
        item
        for item in items
        if not isinstance(item, dict)
        or (str(item.get("source", "")).strip() and str(item.get("target", "")).strip())
    ]


# The schema asks for at least one relation (a grammar-constrained model then writes one,
# copying from its own text) while validation accepts none: a model that cannot name a
# relation still gives a valid answer, and ungrounded relations are dropped later.
_ONE_AT_LEAST: dict[str, Any] = {"minItems": 1}
Relations3 = Annotated[
    list[RelationOut],
    BeforeValidator(_cap(3)),
    BeforeValidator(_triples),
    Field(max_length=3, json_schema_extra=_ONE_AT_LEAST),
]
Relations4 = Annotated[
    list[RelationOut],
    BeforeValidator(_cap(4)),
    BeforeValidator(_triples),
    Field(max_length=4, json_schema_extra=_ONE_AT_LEAST),
]


def relations_required(schema: dict[str, Any]) -> None:
    """`json_schema_extra` of an answer with relations: the schema (and so a grammar) requires
    the field, while validation keeps its default, as for `_ONE_AT_LEAST`."""
    required = schema.setdefault("required", [])
    if "relations" in schema.get("properties", {}) and "relations" not in required:
        required.append("relations")


def triples(relations: Sequence[RelationOut]) -> list[GraphTriple]:
    return [GraphTriple(source=r.source, relation=r.relation, target=r.target) for r in relations]


class HypothesisOut(BaseModel):
    """One hypothesis, as generation and evolution ask for it."""

    model_config = ConfigDict(json_schema_extra=relations_required)

    title: Title = Field(description="a short descriptive title in words")
    statement: Statement = Field(description="the hypothesis in one or two sentences")
    rationale: Paragraph = Field(description="why it could be true")
    predictions: Lines2 = Field(default_factory=list, description="testable predictions")
    experiment: Sentence = Field(default="", description="an experiment that would test it")
    assumptions: Lines2 = Field(default_factory=list, description="what must hold for it")
    sources: SourceNumbers = Field(
        default_factory=list, description="numbers of the listed sources it relies on, if any"
    )
    relations: Relations4 = Field(
        default_factory=list, description="the relations the statement names, as triples"
    )

    def to_draft(
        self,
        origin: str,
        *,
        parent_ids: Sequence[str] = (),
        citations: Sequence[Citation] = (),
        note: str = "",
        inspired_by: Sequence[str] = (),
    ) -> HypothesisDraft:
        rationale = f"{self.rationale} {note}".strip() if note else self.rationale
        return HypothesisDraft(
            title=self.title,
            statement=self.statement,
            rationale=rationale,
            predictions=list(self.predictions),
            experiment=self.experiment,
            assumptions=list(self.assumptions),
            citations=list(citations),
            origin=origin,
            parent_ids=list(parent_ids),
            inspired_by=list(inspired_by),
            relations=triples(self.relations),
        )


class DebateTurnOut(BaseModel):
    """One contribution to a debate (generation or ranking)."""

    argument: Argument = Field(description="your contribution to the debate")
