"""Rich `Text` for everything the screens print.

Model-written text is never parsed as markup: a title like "[bold]x[/]" is
appended to a `Text` as plain characters, so it shows literally and cannot
break rendering with an unbalanced tag. Control characters (an ESC that would
start a terminal sequence) are shown as visible symbols (safe_text.printable).
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text

from coscientist.run_status import ProgressView, duration
from coscientist.safe_text import printable
from coscientist.schemas import Event, LeaderboardEntry, Review, SessionInfo, SessionStatus
from coscientist.tui.data import Detail, Stats

TITLE_WIDTH = 80
BAR_WIDTH = 24

STATUS_STYLES = {
    SessionStatus.CREATED: "dim",
    SessionStatus.RUNNING: "bold green",
    SessionStatus.PAUSED: "bold yellow",
    SessionStatus.STOPPED: "bold red",
    SessionStatus.DONE: "bold blue",
}


def clip(text: str, width: int = TITLE_WIDTH) -> str:
    """One line, at most `width` characters, control characters made visible."""
    flat = printable(" ".join(text.split()))
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def elo(entry: LeaderboardEntry) -> str:
    return f"{entry.elo:.0f}"


def record(entry: LeaderboardEntry) -> str:
    return f"{entry.wins}-{entry.matches - entry.wins}"


def board_row(entry: LeaderboardEntry) -> tuple[Text, Text, Text, Text, Text]:
    rank = Text(f"{entry.rank}", justify="right")
    if entry.pinned:
        rank.append(" *", style="bold yellow")
    return (
        rank,
        Text(elo(entry), justify="right"),
        Text(record(entry), justify="right"),
        Text(clip(entry.origin), style="dim"),
        Text(clip(entry.title)),
    )


def status_line(info: SessionInfo, note: str = "") -> Text:
    """`running`, `stopped: call budget`, or a transient note such as `stopping…`."""
    text = Text(note or info.status.value, style=STATUS_STYLES.get(info.status, ""))
    if not note and info.status in (SessionStatus.STOPPED, SessionStatus.DONE) and info.stop_reason:
        text.append(f": {clip(info.stop_reason, 200)}")
    return text


def header(info: SessionInfo, note: str = "") -> Text:
    text = Text()
    text.append("Goal ", style="bold")
    text.append(clip(info.goal, 200))
    text.append("\nsession ", style="dim")
    text.append(info.id)
    text.append("  model ", style="dim")
    text.append(clip(info.model_spec))
    text.append("  status ", style="dim")
    text.append_text(status_line(info, note))
    return text


def bar(fraction: float, width: int = BAR_WIDTH) -> Text:
    """A progress bar drawn with line characters, so it fits in a line of text."""
    done = round(max(0.0, min(1.0, fraction)) * width)
    text = Text("━" * done, style="bold magenta")
    text.append("━" * (width - done), style="dim")
    return text


def progress_line(view: ProgressView | None, *, running: bool) -> Text:
    """How far the run is toward the stop rule that binds first; rates only while it runs."""
    if view is None:
        return Text("starting the run…", style="dim")
    rule = view.binding
    text = Text()
    if rule is None:
        time_limit = view.progress.limits.time_limit
        known = f"time limit {duration(time_limit)}" if time_limit else "no budget"
        text.append(known, style="dim")
    else:
        text.append(rule.label(), style="bold")
        text.append(" ")
        text.append_text(bar(rule.fraction))
        text.append(f" {rule.fraction:.0%}")
    if running:
        elapsed = view.progress.elapsed_s
        parts = [view.rate_label()]
        if elapsed is not None:
            parts.append(f"{duration(elapsed)} elapsed")
        parts.append(view.eta_label())
        text.append("  " + "  ".join(parts))
    return text


def stats_line(stats: Stats, skip: str | None = None) -> Text:
    """The store's counters; `skip` leaves out the one the progress line already shows."""
    text = Text()
    parts = [
        ("calls", stats.calls),
        ("tokens", stats.tokens),
        ("hypotheses", stats.hypotheses),
        ("matches", stats.matches),
        ("in flight", stats.in_flight),
    ]
    parts = [(label, value) for label, value in parts if label != skip]
    for i, (label, value) in enumerate(parts):
        if i:
            text.append("  ")
        text.append(f"{label} ", style="dim")
        text.append(f"{value:,}", style="bold")
    return text


def _name(titles: Mapping[str, str], hid: object) -> str:
    key = str(hid)
    return clip(titles.get(key, key), 50)


def event_line(event: Event, titles: Mapping[str, str]) -> Text | None:
    """One log line for an event, or None for bookkeeping events not worth a line."""
    data = event.data
    kind = event.kind
    if kind in ("task_started", "task_done", "graph", "graph_growth"):
        return None  # graph growth is on the graph screen (`g`), not a line per task
    if kind == "hypothesis":
        line = Text("+ ", style="bold green")
        line.append(f"[{clip(str(data.get('origin', '?')), 40)}] ", style="dim")
        line.append(clip(event.message))
        return line
    if kind == "review":
        passed = bool(data.get("passed", True))
        line = Text("✓ " if passed else "✗ ", style="green" if passed else "red")
        line.append(f"{clip(event.message, 40)} of ")
        line.append(_name(titles, data.get("id")))
        return line
    if kind == "match":
        winner = data.get("winner")
        loser = data.get("second") if winner == data.get("first") else data.get("first")
        line = Text("⚔ ", style="cyan")
        line.append(_name(titles, winner), style="bold")
        line.append(" beat ")
        line.append(_name(titles, loser))
        line.append(f" ({data.get('mode', 'single')})", style="dim")
        return line
    if kind in ("task_failed", "task_lost", "run_failed"):
        prefix = {
            "task_failed": f"{data.get('kind', 'task')} failed: ",
            "task_lost": "lease lost: ",
        }
        line = Text("! ", style="bold red")
        line.append(prefix.get(kind, ""))
        line.append(clip(event.message, 200), style="red" if kind == "run_failed" else "")
        return line
    style = "bold yellow" if kind in ("paused", "resumed", "stop") else "dim"
    line = Text("• ", style=style)
    line.append(clip(event.message or kind, 200), style=style)
    return line


def _section(text: Text, heading: str) -> None:
    text.append(f"\n\n{heading}\n", style="bold underline")


def _bullets(text: Text, items: list[str]) -> None:
    for item in items:
        text.append(f"  • {printable(item)}\n")


def _review(text: Text, review: Review) -> None:
    text.append(f"{review.kind.value}", style="bold")
    text.append(
        " passed" if review.passed else " failed", style="green" if review.passed else "red"
    )
    text.append(f" ({clip(review.author, 60)})", style="dim")
    if review.scores:
        scores = ", ".join(f"{clip(k, 40)} {v:g}" for k, v in sorted(review.scores.items()))
        text.append(f"  {scores}")
    text.append("\n")
    if review.summary:
        text.append(f"{printable(review.summary)}\n")
    if review.strengths:
        text.append("strengths\n", style="green")
        _bullets(text, review.strengths)
    if review.weaknesses:
        text.append("weaknesses\n", style="red")
        _bullets(text, review.weaknesses)
    text.append("\n")


def detail(d: Detail) -> Text:
    """The whole hypothesis page as one Text: title, ratings, content, reviews, parents."""
    h = d.hypothesis
    text = Text(printable(h.title), style="bold")
    meta = f"\n{h.id}  {clip(h.origin, 60)}  {h.status.value}"
    if h.pinned:
        meta += "  pinned"
    if d.entry is not None:
        meta += f"  rank {d.entry.rank}  Elo {elo(d.entry)}  W-L {record(d.entry)}"
    text.append(meta, style="dim")
    _section(text, "Statement")
    text.append(printable(h.statement))
    for heading, body in (("Rationale", h.rationale), ("Experiment", h.experiment)):
        if body:
            _section(text, heading)
            text.append(printable(body))
    graph_items = (("Inspired by (knowledge graph)", h.inspired_by),)
    for heading, items in (
        ("Predictions", h.predictions),
        ("Assumptions", h.assumptions),
        *graph_items,
    ):
        if items:
            _section(text, heading)
            _bullets(text, items)
            text.rstrip()
    if h.citations:
        _section(text, "Citations")
        _bullets(text, [f"{c.identifier} {c.title}".strip() for c in h.citations])
        text.rstrip()
    _section(text, f"Reviews ({len(d.reviews)})")
    if not d.reviews:
        text.append("none yet", style="dim")
    for review in d.reviews:
        _review(text, review)
    text.rstrip()
    if h.parent_ids:
        _section(text, "Parents")
        known = {p.id: p for p in d.parents}
        for pid in h.parent_ids:
            text.append(f"  {pid}  ", style="dim")
            text.append(clip(known[pid].title) if pid in known else "(not in the store)")
            text.append("\n")
        text.rstrip()
    return text
