"""Text a model or a scientist wrote, made safe to show: it is text, never instructions.

Model output, fetched abstracts and the scientist's own input are untrusted:
printed raw, `ESC ]0;...BEL` retitles the terminal, colour codes repaint it, a
`[/]` breaks rich markup and crashes the printer, a Markdown link or image
sends the reader (or their viewer) to a place the model chose.

- `printable`: control characters (C0 but newline and tab, DEL, C1, the
  bidirectional overrides) become visible symbols, one for one, so a string
  keeps its length and nothing reaches the terminal as a control sequence;
  lone surrogates (undecodable bytes from the command line) become U+FFFD.
- `console_markup`: `printable` plus rich markup escaped, for text placed
  inside a markup string.
- `markdown_text`: `printable` plus Markdown made inert: no raw HTML, no links
  or images, bare URLs shown as code. Links in a report are built by the report
  itself, from citations the literature tools verified.
"""

from __future__ import annotations

import re

from rich.markup import escape as _escape_markup

_REPLACEMENT = "\ufffd"
_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def _table() -> dict[int, str]:
    table: dict[int, str] = {}
    for code in range(0x20):
        if chr(code) not in "\n\t":
            table[code] = chr(0x2400 + code)  # the Unicode "control pictures": ␛, ␇, ␍ ...
    table[0x7F] = "\u2421"  # ␡
    for code in range(0x80, 0xA0):  # C1 controls: 0x9b alone starts a CSI sequence
        table[code] = _REPLACEMENT
    for char in _BIDI:
        table[ord(char)] = _REPLACEMENT
    return table


_VISIBLE = _table()
_SURROGATES = re.compile("[\ud800-\udfff]")
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff" + _BIDI + "]")


def printable(text: str) -> str:
    """Every control character shown as a visible symbol; same length as the input."""
    if not _UNSAFE.search(text):
        return text
    return _SURROGATES.sub(_REPLACEMENT, text.translate(_VISIBLE))


_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029" + _BIDI + "]")


def json_text(document: str) -> str:
    """JSON made with ensure_ascii=False, with the characters json.dumps leaves raw but a
    terminal acts on (DEL, C1 controls, bidi overrides, line separators) written as \\uXXXX:
    still the same JSON, now safe to print."""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", document)


def one_line(text: str) -> str:
    """printable, on one line: every run of whitespace becomes one space."""
    return printable(" ".join(text.split()))


def console_markup(text: str) -> str:
    """For text inside a rich markup string: printable, and `[` that could open a tag escaped."""
    return _escape_markup(printable(text))


# --- Markdown -------------------------------------------------------------------

_BARE_URL = re.compile(
    r"(?i)\b(?:https?|ftp|file|javascript|data|mailto|vbscript):[^\s<>`]+"  # scheme links
    r"|\bwww\.[^\s<>`]+"  # GFM's extended www. autolinks
    r"|[\w.+-]+@[\w-]+\.[\w.-]+"  # and its e-mail autolinks
)
_MD_SPECIAL = re.compile(r"([\\\[\]<`])")


def markdown_text(text: str) -> str:
    """Model text inside a Markdown document: shows as written, never links, embeds or runs.

    `[`, `]`, `<`, backticks and backslashes are backslash-escaped (no link,
    image, raw HTML or code span can form); a URL or e-mail address becomes a
    code span, which viewers do not turn into a link.
    """
    text = printable(text)
    out: list[str] = []
    last = 0
    for match in _BARE_URL.finditer(text):
        out.append(_MD_SPECIAL.sub(r"\\\1", text[last : match.start()]))
        out.append(f"`{match.group(0)}`")
        last = match.end()
    out.append(_MD_SPECIAL.sub(r"\\\1", text[last:]))
    return "".join(out)
