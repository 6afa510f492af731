"""Prompt templates: Jinja2 files shipped in the `prompts` package, StrictUndefined.

Templates put fixed instructions first and the variable part (goal, hypotheses)
last, so a serving engine's prefix cache can reuse the fixed part.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import jinja2

from coscientist.errors import ConfigError


class _PackageLoader(jinja2.BaseLoader):
    """Loads templates through importlib.resources so it works from a wheel or a zip."""

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str | None, Any]:
        node = resources.files("prompts")
        for part in template.split("/"):
            node = node / part
        if not node.is_file():
            raise jinja2.TemplateNotFound(template)
        return node.read_text(encoding="utf-8"), None, lambda: True


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=_PackageLoader(),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # prompts are plain text; HTML escaping happens in reports
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


@lru_cache(maxsize=256)
def template(name: str) -> jinja2.Template:
    try:
        return environment().get_template(name)
    except jinja2.TemplateNotFound as exc:
        raise ConfigError(f"prompt template {name!r} is missing from the prompts package") from exc


def render(name: str, **variables: Any) -> str:
    """Render `prompts/<name>`; a variable the template uses but the caller omits is an error."""
    try:
        return template(name).render(**variables).strip()
    except jinja2.UndefinedError as exc:
        raise ConfigError(f"prompt {name!r}: {exc.message}") from exc
