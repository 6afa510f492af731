"""The HTML report: one self-contained file (inline CSS, no scripts, no external assets).

Every value is autoescaped: titles, statements and reviews are model output
and must never become markup.
"""

from __future__ import annotations

from markupsafe import Markup

from coscientist.reports import curve
from coscientist.reports.model import Report
from coscientist.reports.svg import curve_svg, graph_svg
from coscientist.reports.templating import html_environment

TEMPLATE = "report.html.j2"
CURVES = (
    ("concepts", "nodes"),
    ("links", "links"),
    ("mean degree", "mean_degree"),
    ("modularity", "modularity"),
    ("communities", "communities"),
    ("power-law exponent", "powerlaw_alpha"),
)


def curves(report: Report) -> list[Markup]:
    growth = report.knowledge.growth
    xs = [float(p.iteration) for p in growth]
    drawn = [curve_svg(title, xs, [getattr(p, name) for p in growth]) for title, name in CURVES]
    return [svg for svg in drawn if svg]


def render(report: Report) -> str:
    return (
        html_environment()
        .get_template(TEMPLATE)
        .render(
            report=report,
            curve_plot=curve.plot(report.compute_curve),
            curve_size=(curve.WIDTH, curve.HEIGHT, curve.PAD),
            graph_svg=graph_svg(report.knowledge.drawing),
            curves=curves(report),
        )
    )
