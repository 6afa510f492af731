"""Secrets out of text: URL passwords and key-like query values become `***`.

Applied to anything that may reach a terminal, a log, the store or an export:
a base URL such as `https://user:secret@host/v1?api_key=...` is shown as
`https://user:***@host/v1?api_key=***`. Works on free text too (an error
message quoting a URL), and on URLs that do not parse.
"""

from __future__ import annotations

import re

MASK = "***"

# scheme://user:password@ -- the password runs to the last "@" before the path or a space,
# so an unencoded "@" inside it does not leak its tail.
_USERINFO = re.compile(
    r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*):(?P<secret>[^/\s]*)@(?=[^@/\s]*(?:[/?#\s]|$))"
)
_SECRET_QUERY = re.compile(
    r"(?P<head>[?&;](?:api[_-]?key|key|token|access[_-]?token|auth|secret|password|passwd|pwd|"
    r"sig|signature|x-api-key)=)(?P<secret>[^&#\s]+)",
    re.IGNORECASE,
)


def mask_secrets(text: str) -> str:
    """The text with every URL password and secret-looking query value replaced by ***."""
    if "://" not in text and "=" not in text:
        return text
    text = _USERINFO.sub(lambda m: f"{m['head']}:{MASK}@", text)
    return _SECRET_QUERY.sub(lambda m: f"{m['head']}{MASK}", text)


def scrub(text: str, *secrets: str | None) -> str:
    """mask_secrets, and every given secret value (an API key) replaced wherever it appears."""
    for secret in secrets:
        if secret and len(secret) >= 4:  # a one-letter "key" would blank out ordinary words
            text = text.replace(secret, MASK)
    return mask_secrets(text)
