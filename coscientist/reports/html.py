"""The HTML report: one self-contained file (inline CSS, no scripts, no external assets).

Every value is autoescaped: titles, statements and reviews are model output
and must never become markup.
"""

from __future__ import annotations

from coscientist.reports import curve
from coscientist.reports.model import Report
from coscientist.reports.templating import html_environment

TEMPLATE = "report.html.j2"


def render(report: Report) -> str:
    return (
        html_environment()
        .get_template(TEMPLATE)
        .render(
            report=report,
            curve_plot=curve.plot(report.compute_curve),
            curve_size=(curve.WIDTH, curve.HEIGHT, curve.PAD),
        )
    )
