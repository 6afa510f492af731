"""Plain-text lines for `coscientist graph`: figures, growth, hubs, bridges, communities, merges."""

from __future__ import annotations

from collections.abc import Sequence

from coscientist.reports.model import KnowledgePart

BARS = "▁▂▃▄▅▆▇█"
SPARK_WIDTH = 40


def sparkline(values: Sequence[float], width: int = SPARK_WIDTH) -> str:
    """Values as block characters, resampled to at most `width` (the TUI uses it too)."""
    if not values:
        return ""
    if len(values) > width:
        values = [values[round(i * (len(values) - 1) / (width - 1))] for i in range(width)]
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    return "".join(BARS[round((v - low) / span * (len(BARS) - 1))] for v in values)


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "n/a" if value is None else str(value)


def graph_lines(part: KnowledgePart) -> list[str]:
    m = part.metrics
    lines = [f"{key}: {_fmt(value)}" for key, value in m.model_dump().items()]
    lines.append(f"merged names: {part.merges}")
    if part.growth:
        first, last = part.growth[0], part.growth[-1]
        lines.append(
            f"growth: {len(part.growth)} points, iteration {first.iteration} -> {last.iteration}, "
            f"concepts {first.nodes} -> {last.nodes}, links {first.links} -> {last.links}"
        )
        lines.append("concepts " + sparkline([float(p.nodes) for p in part.growth]))
        lines.append("modularity " + sparkline([p.modularity for p in part.growth]))
    else:
        lines.append("growth: no stored points yet")
    lines.append("hubs: " + ", ".join(f"{h.label} ({h.links})" for h in part.hubs))
    lines.append("bridges: " + ", ".join(f"{b.label} ({b.betweenness:.3f})" for b in part.bridges))
    for c in part.communities:
        lines.append(f"community {c.index + 1} ({c.size} concepts): " + ", ".join(c.top))
    for merge in part.recent_merges[-5:]:
        how = f"cosine {merge.similarity:.2f}" if merge.method == "embedding" else "same name"
        lines.append(f'merge: "{merge.alias}" -> {merge.into} ({how}, from {merge.origin})')
    return lines
