"""Schema-driven synthetic answers: a valid JSON value for any pydantic JSON schema.

The scripted backend and the fake OpenAI server in the tests answer with these,
so a whole session runs without weights. Strings are short scientific-sounding
phrases mixing a small vocabulary with content words from the prompt: the
hypotheses of a run relate to its goal and differ from each other.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterable, Mapping
from typing import Any

_ADJECTIVES = (
    "increased",
    "reduced",
    "selective",
    "transient",
    "persistent",
    "coupled",
    "latent",
    "emergent",
    "localized",
    "chronic",
    "adaptive",
    "nonlinear",
)
_NOUNS = (
    "pathway",
    "mechanism",
    "feedback loop",
    "signaling",
    "expression",
    "binding affinity",
    "phase transition",
    "gradient",
    "network topology",
    "metabolic flux",
    "selective pressure",
    "dose response",
    "regulatory circuit",
    "interface",
)
_VERBS = (
    "modulates",
    "inhibits",
    "enhances",
    "regulates",
    "predicts",
    "reduces",
    "amplifies",
    "stabilizes",
    "drives",
    "suppresses",
)
_LINKS = ("via", "through", "by altering", "in response to", "under", "mediated by")
_FALLBACK_WORDS = ("protein", "cell", "signal", "membrane", "receptor", "enzyme", "sample")
_STOPWORDS = frozenset(
    """about above after again against answer answers because been before being below
    between both could does doing down during each field fields following format from
    further have having here into itself json just more most must only other object
    output over own reply respond response return same schema should some such than
    that their them then there these they this those through under until very were what
    when where which while will with would your yours also given using used like only
    write valid keys string strings list value values goal explain propose describe
    hypothesis hypotheses research scientist task please generate review brief""".split()
)
_WORD = re.compile(r"[A-Za-z][A-Za-z\-]{3,24}")
_SHORT_KEYS = ("title", "name", "label", "key", "relation", "source", "target", "id")
# Keys whose value names a concept of a relation: copied from text already written in the same
# answer (or, before anything is written, from the end of the prompt, where an extraction
# prompt puts its text), so relations pass the grounding check as a careful model's would.
_CONCEPT_KEYS = ("source", "target")
_RELATION_KEY = "relation"
_SPAN_STOP = (
    frozenset(_LINKS)
    | frozenset(_VERBS)
    | {
        "by",
        "altering",
        "response",
        "mediated",
        "through",
        "under",
        "via",
    }
)
# A hypothesis id a conversation answer cites (an item of "hypothesis_ids"): copied from the
# "[id ...]" markers of the prompt, as a careful model would, so scripted answers cite real ids.
_ID_KEY = "hypothesis_id"
_ID_MARKER = re.compile(r"\[id ([^\]\s]+)\]")
_PROMPT_TAIL_CHARS = 600
_MAX_CONTENT_WORDS = 400
_DEFAULT_MAX_ITEMS = 3


def content_words(texts: Iterable[str]) -> list[str]:
    """Distinct lower-case content words of the texts, in order of appearance."""
    seen: dict[str, None] = {}
    for text in texts:
        for match in _WORD.finditer(text):
            word = match.group(0).lower().strip("-")
            if len(word) >= 4 and word not in _STOPWORDS:
                seen.setdefault(word, None)
                if len(seen) >= _MAX_CONTENT_WORDS:
                    return list(seen)
    return list(seen)


class Synthesizer:
    """Builds one schema-valid value; all choices come from the given rng."""

    def __init__(
        self,
        schema: Mapping[str, Any],
        rng: random.Random,
        words: list[str],
        source_text: str = "",
    ) -> None:
        self._root = schema
        self._rng = rng
        self._words = words or list(_FALLBACK_WORDS)
        self._source_text = source_text
        self._written: list[str] = []  # sentences of this answer so far

    def value(self) -> Any:
        return self._value(self._root, key="", depth=0)

    # --- dispatch -------------------------------------------------------------

    def _resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        seen = 0
        while "$ref" in schema and seen < 32:
            ref = str(schema["$ref"])
            node: Any = self._root
            for part in ref.removeprefix("#/").split("/"):
                if part:
                    node = node[part.replace("~1", "/").replace("~0", "~")]
            extra = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**node, **extra}
            seen += 1
        if "allOf" in schema:
            merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
            for part in schema["allOf"]:
                merged = {**self._resolve(part), **merged}
            schema = merged
        return schema

    def _value(self, schema: Mapping[str, Any], *, key: str, depth: int) -> Any:
        schema = self._resolve(schema)
        if "const" in schema:
            return schema["const"]
        if schema.get("examples"):  # a schema that names its usual answers gets one of them
            return self._rng.choice(list(schema["examples"]))
        if "enum" in schema:
            return self._rng.choice(list(schema["enum"]))
        for union in ("anyOf", "oneOf"):
            if union in schema:
                options = [self._resolve(o) for o in schema[union]]
                concrete = [o for o in options if o.get("type") != "null"] or options
                return self._value(self._rng.choice(concrete), key=key, depth=depth)
        kind = schema.get("type")
        if isinstance(kind, list):
            concrete_kinds = [k for k in kind if k != "null"] or kind
            kind = self._rng.choice(concrete_kinds)
        if kind is None:
            kind = "object" if "properties" in schema else "string"
        if kind == "object":
            return self._object(schema, depth)
        if kind == "array":
            return self._array(schema, key, depth)
        if kind == "integer":
            return self._integer(schema)
        if kind == "number":
            return self._number(schema)
        if kind == "boolean":
            return self._rng.random() < 0.75
        if kind == "null":
            return None
        return self._string(schema, key)

    # --- containers -----------------------------------------------------------

    def _object(self, schema: Mapping[str, Any], depth: int) -> dict[str, Any]:
        properties: Mapping[str, Any] = schema.get("properties", {})
        result = {
            name: self._value(sub, key=name, depth=depth + 1) for name, sub in properties.items()
        }
        extra = schema.get("additionalProperties")
        if not properties and isinstance(extra, Mapping) and depth < 6:
            count = self._count(schema, "minProperties", "maxProperties", preferred=2)
            for word in self._rng.sample(self._words, min(count, len(self._words))):
                result[word] = self._value(extra, key=word, depth=depth + 1)
        return result

    def _array(self, schema: Mapping[str, Any], key: str, depth: int) -> list[Any]:
        prefix = schema.get("prefixItems")
        if prefix:
            return [self._value(item, key=key, depth=depth + 1) for item in prefix]
        count = self._count(schema, "minItems", "maxItems", preferred=_DEFAULT_MAX_ITEMS)
        if depth >= 6:
            count = int(schema.get("minItems", 0))
        items: Mapping[str, Any] = schema.get("items", {})
        values: list[Any] = []
        for _ in range(count * 4):
            if len(values) >= count:
                break
            item = self._value(items, key=key.removesuffix("s"), depth=depth + 1)
            if not schema.get("uniqueItems") or item not in values:
                values.append(item)
        return values

    def _count(self, schema: Mapping[str, Any], low_key: str, high_key: str, preferred: int) -> int:
        low = int(schema.get(low_key, 0))
        high = int(schema.get(high_key, max(low, preferred)))
        return self._rng.randint(max(low, min(1, high)), max(low, min(high, low + preferred)))

    # --- scalars --------------------------------------------------------------

    def _integer(self, schema: Mapping[str, Any]) -> int:
        low = schema.get("minimum")
        if "exclusiveMinimum" in schema:
            low = math.floor(schema["exclusiveMinimum"]) + 1
        high = schema.get("maximum")
        if "exclusiveMaximum" in schema:
            high = math.ceil(schema["exclusiveMaximum"]) - 1
        low_i = math.ceil(low) if low is not None else None
        high_i = math.floor(high) if high is not None else None
        if low_i is None:
            low_i = min(0, high_i) if high_i is not None else 0
        if high_i is None:
            high_i = low_i + 10
        return self._rng.randint(low_i, max(low_i, high_i))

    def _number(self, schema: Mapping[str, Any]) -> float:
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        high = schema.get("maximum", schema.get("exclusiveMaximum"))
        if low is None and high is None:
            low, high = 0.0, 10.0
        elif low is None:
            low = float(high) - 10.0
        elif high is None:
            high = float(low) + 10.0
        low, high = float(low), float(max(low, high))
        for _ in range(16):
            value = round(self._rng.uniform(low, high), 3)
            if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
                continue
            if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
                continue
            if low <= value <= high:
                return value
        return (low + high) / 2

    def _string(self, schema: Mapping[str, Any], key: str) -> str:
        fmt = schema.get("format")
        if fmt == "date-time":
            return f"2025-01-{self._rng.randint(1, 28):02d}T12:00:00Z"
        if fmt == "date":
            return f"2025-01-{self._rng.randint(1, 28):02d}"
        if fmt == "uuid":
            return (
                f"{self._rng.getrandbits(32):08x}-0000-4000-8000-{self._rng.getrandbits(48):012x}"
            )
        lowered = key.lower()
        prose = False
        if lowered in _CONCEPT_KEYS:
            text = self._concept()
        elif lowered == _RELATION_KEY:
            text = self._rng.choice(_VERBS)
        elif lowered == _ID_KEY and _ID_MARKER.search(self._source_text):
            text = self._rng.choice(_ID_MARKER.findall(self._source_text))
        else:
            prose = not lowered.endswith(_SHORT_KEYS)
            text = self._sentence() if prose else self._phrase()
        text = _fit(text, int(schema.get("minLength", 0)), schema.get("maxLength"), self._pad)
        if prose:
            self._written.append(text)
        return text

    def _concept(self) -> str:
        """One or two consecutive content words of a sentence written earlier in the answer."""
        texts = self._written or (
            [self._source_text[-_PROMPT_TAIL_CHARS:]] if self._source_text else []
        )
        if not texts:
            return self._phrase()
        tokens = [w.lower() for w in _WORD.findall(self._rng.choice(texts))]
        runs: list[list[str]] = [[]]
        for token in tokens:
            if token in _SPAN_STOP or token in _STOPWORDS or token in _ADJECTIVES:
                runs.append([])
            else:
                runs[-1].append(token)
        runs = [r for r in runs if r]
        if not runs:
            return self._phrase()
        run = self._rng.choice(runs)
        size = min(len(run), 1 if self._rng.random() < 0.4 else 2)
        start = self._rng.randrange(len(run) - size + 1)
        return " ".join(run[start : start + size])

    def _word(self) -> str:
        return self._rng.choice(self._words)

    def _pad(self) -> str:
        return self._rng.choice((self._word(), self._rng.choice(_NOUNS)))

    def _phrase(self) -> str:
        words = [self._rng.choice(_ADJECTIVES), self._word(), self._rng.choice(_NOUNS)]
        if self._rng.random() < 0.5:
            words.insert(2, self._word())
        text = " ".join(words)
        return text[0].upper() + text[1:]

    def _sentence(self) -> str:
        text = (
            f"{self._rng.choice(_ADJECTIVES)} {self._word()} {self._rng.choice(_VERBS)} "
            f"{self._word()} {self._rng.choice(_NOUNS)} {self._rng.choice(_LINKS)} "
            f"{self._word()} {self._rng.choice(_NOUNS)}"
        )
        return text[0].upper() + text[1:] + "."


def _fit(text: str, min_length: int, max_length: Any, pad: Any) -> str:
    """Pad with more words to min_length, then cut at a word boundary to max_length."""
    while len(text) < min_length:
        text = f"{text.rstrip('.')} {pad()}"
    if max_length is None or len(text) <= int(max_length):
        return text
    limit = int(max_length)
    cut = text[:limit]
    if " " in cut and len(cut.rsplit(" ", 1)[0]) >= max(min_length, 1):
        cut = cut.rsplit(" ", 1)[0]
    while len(cut) < min_length:
        cut += "x"
    return cut


def synthesize(
    schema: Mapping[str, Any], rng: random.Random, words: list[str], source_text: str = ""
) -> Any:
    """A value valid against `schema` (a pydantic `model_json_schema()`), drawn from rng.

    `source_text` (the prompt's last message) is where concepts of relations come from
    when the answer has written no sentence of its own yet.
    """
    return Synthesizer(schema, rng, words, source_text).value()


def phrase(rng: random.Random, words: list[str]) -> str:
    """One free-text sentence, for calls without a schema."""
    return str(Synthesizer({"type": "string"}, rng, words).value())
