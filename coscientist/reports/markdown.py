"""The Markdown report: readable as plain text, renders on GitHub and in most viewers.

Model text is kept as written, except where it would break the document's
structure: table cells escape `|` and line breaks, headings and list items
collapse whitespace onto one line.
"""

from __future__ import annotations

from coscientist.reports.model import Report
from coscientist.reports.templating import markdown_environment

TEMPLATE = "report.md.j2"


def render(report: Report) -> str:
    return markdown_environment().get_template(TEMPLATE).render(report=report)
