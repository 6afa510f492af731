"""Names in the knowledge graph: normalised keys, typed keys, and grounding in a source text.

A concept's key is its name casefolded, trimmed, single-spaced and with a
singular last word, so the graph grows by concepts rather than by spellings.
Hypotheses and cited sources get typed keys ("hypothesis:<id>",
"source:<identifier>") that no concept name can take.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

MAX_NAME_CHARS = 80
MAX_NAME_WORDS = 8
MAX_RELATION_CHARS = 60
DEFAULT_RELATION = "related to"
HYPOTHESIS_PREFIX = "hypothesis:"
SOURCE_PREFIX = "source:"

# Words whose final "s" is not a plural marker (or whose plural is irregular).
_KEEP_FINAL_S = frozenset(
    {"series", "species", "means", "news", "lens", "bias", "chaos", "calories", "movies", "cookies"}
)
_NO_FOLD_ENDINGS = ("ss", "us", "is", "as", "os", "ics")
_ARTICLES = frozenset({"the", "a", "an"})
# Words that do not make one concept narrower than another ("gene therapy" / "a gene therapy").
FUNCTION_WORDS = frozenset({"the", "a", "an", "of", "in", "on", "for", "to", "and", "with", "by"})
_TYPED = re.compile(r"^(hypothesis|source)\s*:")
_GROUND_TOKEN = re.compile(r"\w{2,}")


def _trimmable(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch).startswith("P")


def _strip_edges(text: str) -> str:
    """Drop punctuation and whitespace at both ends (quotes, full stops, brackets...)."""
    start, end = 0, len(text)
    while start < end and _trimmable(text[start]):
        start += 1
    while end > start and _trimmable(text[end - 1]):
        end -= 1
    return text[start:end]


@lru_cache(maxsize=1 << 16)  # pure, and asked for the same few thousand words all run
def singular(word: str) -> str:
    """Fold regular English plurals only; leave anything doubtful alone."""
    if len(word) <= 3 or not word.isalpha() or word in _KEEP_FINAL_S:
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(_NO_FOLD_ENDINGS):
        return word[:-1]
    return word


@lru_cache(maxsize=1 << 13)
def clean(text: str) -> str:
    """Display form: NFKC, underscores as spaces, trimmed of punctuation, single-spaced."""
    text = unicodedata.normalize("NFKC", text).replace("_", " ")
    return " ".join(_strip_edges(text).split())


@lru_cache(maxsize=1 << 13)
def normalise(name: str) -> str:
    """The node key: casefolded, trimmed, single-spaced, last word singular.

    "Amyloid-beta Plaques." and "amyloid-beta plaque" share one key, and so do "The
    gut microbiome" and "gut microbiome" (leading articles are dropped).
    """
    words = clean(name).casefold().split()
    while len(words) > 1 and words[0] in _ARTICLES:  # "The gut microbiome" is "gut microbiome"
        words = words[1:]
    if not words:
        return ""
    words[-1] = singular(words[-1])
    return " ".join(words)


def normalise_relation(relation: str) -> str:
    """Relations are casefolded and single-spaced but keep their grammatical form."""
    key = clean(relation).casefold()[:MAX_RELATION_CHARS].strip()
    return key or DEFAULT_RELATION


def valid_concept_key(key: str) -> bool:
    return (
        0 < len(key) <= MAX_NAME_CHARS
        and len(key.split()) <= MAX_NAME_WORDS
        and any(ch.isalpha() for ch in key)  # "1.1.1" from a degenerate model is not a concept
        and "://" not in key  # nor is a URL
        and _TYPED.match(key) is None  # nor a typed key
    )


def hypothesis_key(hypothesis_id: str) -> str:
    return HYPOTHESIS_PREFIX + hypothesis_id


def source_key(identifier: str) -> str:
    return SOURCE_PREFIX + " ".join(identifier.split()).casefold()


def grounding_words(text: str) -> set[str]:
    """Content words of a text, plural-folded, for the grounding check."""
    tokens = _GROUND_TOKEN.findall(text.casefold())  # keeps "p53", the "il" of "IL-6"
    return {singular(t) for t in tokens if any(ch.isalpha() for ch in t)}


def grounded(concept: str, text_words: set[str]) -> bool:
    """Most of a concept's words occur in the text it was extracted from.

    A small model copies the prompt's example, invents URLs or loops on a
    token; none of that is in its source text, so it never reaches the graph.
    """
    words = grounding_words(concept)
    return bool(words) and 2 * len(words & text_words) >= len(words)
