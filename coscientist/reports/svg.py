"""Inline SVG for the HTML report: the concept graph and the curves of its growth.

Hand-written markup, no script and no external resource. Every label is model
text and is escaped before it enters the markup.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

from coscientist.reports.model import GraphDrawing

PALETTE = (
    "#2f6db3",
    "#c0504d",
    "#4f9a4f",
    "#8064a2",
    "#d98a1c",
    "#2aa1a1",
    "#b5487f",
    "#7a7a3a",
    "#5b6575",
    "#9c6b4e",
)
LABELLED = 25  # best-connected nodes that get a visible label


def graph_svg(drawing: GraphDrawing, width: int = 880, height: int = 560) -> Markup:
    """Nodes coloured by community, sized by degree; edges as thin lines."""
    if not drawing.nodes:
        return Markup("")
    pad = 40
    place = {
        n.key: (pad + n.x * (width - 2 * pad), pad + (1.0 - n.y) * (height - 2 * pad))
        for n in drawing.nodes
    }
    parts = [
        f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="knowledge graph">'
    ]
    parts.append('<g stroke="#b8c0cc" stroke-width="0.8">')
    for e in drawing.edges:
        (x1, y1), (x2, y2) = place[e.source], place[e.target]
        parts.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}"/>')
    parts.append("</g>")
    labelled = {n.key for n in sorted(drawing.nodes, key=lambda n: -n.degree)[:LABELLED]}
    for n in drawing.nodes:
        x, y = place[n.key]
        radius = 3.0 + 1.6 * math.sqrt(n.degree)
        colour = PALETTE[n.community % len(PALETTE)]
        label = escape(n.label)
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius:.1f}" fill="{colour}" '
            f'fill-opacity="0.85"><title>{label} ({n.degree} links)</title></circle>'
        )
        if n.key in labelled:
            parts.append(
                f'<text x="{x + radius + 2:.1f}" y="{y + 4:.1f}" font-size="11" '
                f'fill="#1d2430">{label}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def curve_svg(
    title: str, xs: Sequence[float], ys: Sequence[float | None], width: int = 280, height: int = 120
) -> Markup:
    """One metric against the iteration: a polyline with its first and last values."""
    points = [(x, y) for x, y in zip(xs, ys, strict=True) if y is not None and math.isfinite(y)]
    if len(points) < 2:
        return Markup("")
    pad_x, pad_top, pad_bottom = 8, 22, 18
    x0, x1 = min(p[0] for p in points), max(p[0] for p in points)
    y0, y1 = min(p[1] for p in points), max(p[1] for p in points)
    span_x, span_y = (x1 - x0) or 1.0, (y1 - y0) or 1.0
    coords = " ".join(
        f"{pad_x + (x - x0) / span_x * (width - 2 * pad_x):.1f},"
        f"{height - pad_bottom - (y - y0) / span_y * (height - pad_top - pad_bottom):.1f}"
        for x, y in points
    )
    return Markup(
        f'<svg viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}">'
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#f4f6fa"/>'
        f'<text x="{pad_x}" y="15" font-size="12" fill="#1d2430">{escape(title)}: '
        f"{_num(points[0][1])} to {_num(points[-1][1])}</text>"
        f'<polyline points="{coords}" fill="none" stroke="#2f6db3" stroke-width="1.6"/>'
        f'<text x="{pad_x}" y="{height - 4}" font-size="10" fill="#5b6575">iteration '
        f"{int(x0)}</text>"
        f'<text x="{width - pad_x}" y="{height - 4}" font-size="10" fill="#5b6575" '
        f'text-anchor="end">{int(x1)}</text></svg>'
    )


def _num(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"
