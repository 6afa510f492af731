"""Rich `Text` for everything the screens print.

Model-written text is never parsed as markup: a title like "[bold]x[/]" is
appended to a `Text` as plain characters, so it shows literally and cannot
break rendering with an unbalanced tag. Control characters (an ESC that would
start a terminal sequence) are shown as visible symbols (safe_text.printable).
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text

from coscientist.reports.curve import sparkline
from coscientist.reports.judging import audit_sentence
from coscientist.run_status import ProgressView, duration
from coscientist.safe_text import printable
from coscientist.schemas import (
    Event,
    LeaderboardEntry,
    Match,
    MatchMode,
    Review,
    SessionInfo,
    SessionStatus,
)
from coscientist.tui.data import Detail, MatchView, MethodView, Stats
from coscientist.tui.role_models import roles_text

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


def interval(entry: LeaderboardEntry) -> str:
    """The ~95 % interval of the rating (tournament/display.py says what the rank follows)."""
    return f"{entry.elo_low:.0f}-{entry.elo_high:.0f}"


def in_top(entry: LeaderboardEntry) -> str:
    return "" if entry.in_top is None else f"{entry.in_top:.2f}"


def board_row(entry: LeaderboardEntry) -> tuple[Text, ...]:
    rank = Text(f"{entry.rank}", justify="right")
    if entry.pinned:
        rank.append(" *", style="bold yellow")
    return (
        rank,
        Text(elo(entry), justify="right"),
        Text(interval(entry), style="dim", justify="right"),
        Text(in_top(entry), justify="right"),
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
    text.append_text(roles_text(info))  # the roles' own models, if any
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
    if stats.expected_recall is not None:
        # tournament/confidence.py: the expected share of the top k that truly belongs there
        text.append(f"  top-{stats.top_k} sure ", style="dim")
        text.append(f"{stats.expected_recall:.2f}", style="bold")
        if stats.gain_ahead is not None:  # tournament/lookahead.py: another round's worth
            text.append(" next round ", style="dim")
            text.append(f"+{stats.gain_ahead:.3f}", style="bold")
    if len(stats.best_elo) >= 2:
        # TrueSkill's conservative Elo as rated while running (reports/curve.py), named so:
        # the board beside it is the judge fit's, on another footing
        text.append("  best TrueSkill Elo ", style="dim")
        text.append(sparkline(stats.best_elo), style="bold")
        text.append(f" {stats.best_elo[-1]:.0f}", style="bold")
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
    if h.status_reason:
        meta += f" ({printable(h.status_reason)})"
    if h.pinned:
        meta += "  pinned"
    if d.entry is not None:
        meta += f"  rank {d.entry.rank}  Elo {elo(d.entry)} ({interval(d.entry)})"
        if d.entry.in_top is not None:
            meta += f"  P(top) {in_top(d.entry)}"
        meta += f"  W-L {record(d.entry)}"
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
        _section(text, "Citations (✓ checked, ✗ not found, ? not checked)")
        marks = {"checked": "✓", "not_found": "✗", "unchecked": "?"}
        _bullets(text, [f"{marks[c.check]} {c.identifier} {c.title}".strip() for c in h.citations])
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


# --- matches, debates and the method ---------------------------------------------------------


def match_row(m: Match, hid: str, titles: Mapping[str, str]) -> tuple[Text, Text, Text, Text]:
    """One of a hypothesis's matches: seq, result, mode, opponent."""
    opponent = m.second_id if m.first_id == hid else m.first_id
    won = m.winner_id == hid
    return (
        Text(str(m.seq), justify="right"),
        Text("won" if won else "lost", style="green" if won else "red"),
        Text(m.mode.value, style="bold" if m.mode == MatchMode.DEBATE else "dim"),
        Text(clip(titles.get(opponent, opponent), 70)),
    )


def match_view(view: MatchView) -> Text:
    """A match in full: who met whom (in the order the judge saw them), the turns, the verdict."""
    m = view.match
    text = Text(f"Match {m.seq} ({m.mode.value})", style="bold")
    for label, hid in (("Hypothesis 1", m.first_id), ("Hypothesis 2", m.second_id)):
        text.append(f"\n{label}: ", style="dim")
        text.append(clip(view.titles.get(hid, hid), 100))
        text.append(f"  {hid}", style="dim")
        if hid == m.winner_id:
            text.append("  winner", style="bold green")
    if m.turns:
        _section(text, f"Debate ({len(m.turns)} turns)")
        for turn in m.turns:
            text.append(f"{turn}\n\n")
        text.rstrip()
    _section(text, "Verdict")
    text.append(m.rationale or "(no reasoning recorded)")
    return text


def _items(text: Text, heading: str, items: list[str]) -> None:
    if items:
        text.append(f"{heading}\n", style="bold")
        _bullets(text, items)


def method_view(view: MethodView) -> Text:
    """The session's research plan, safety gate, Specific Aims, statuses and reviews."""
    summary = view.summary
    text = Text("Research plan", style="bold underline")
    plan = view.info.plan
    if plan is None or plan.is_empty():
        text.append("\nnone yet: drafted at the start of the first run", style="dim")
    else:
        if plan.objective:
            text.append(f"\nObjective: {plan.objective}")
        text.append("\n")
        _items(text, "Preferences", plan.preferences)
        _items(text, "Constraints", plan.constraints)
        _items(text, "A good hypothesis", plan.attributes)
        _items(text, "Out of scope", plan.out_of_scope)
        text.rstrip()
    observations = summary["observations"]
    if observations:
        _section(text, f"Observations ({len(observations)})")
        _bullets(text, [f"{o['text']} ({o['source']})" for o in observations])
        text.rstrip()
    safety = summary["safety"]
    _section(text, "Safety")
    goal = safety["goal"]
    text.append(
        "Goal: " + (f"reviewed, {goal['model_verdict'] or 'screened'}" if goal else "screened")
    )
    text.append(f"\nWithheld hypotheses: {safety['withheld']}")
    for reason, n in safety["by_reason"].items():
        text.append(f"\n  {n} by {reason}")
    overview = summary["overview"]
    _section(text, "Research overview: Specific Aims")
    if overview is None:
        text.append("none yet", style="dim")
    else:
        text.append(f"{overview['title']}\n", style="bold")
        text.append(f"Background and significance: {overview['background']}\n")
        text.append(f"Gap: {overview['gap']}\n")
        for i, aim in enumerate(overview["aims"], start=1):
            text.append(f"\nAim {i}: ", style="bold")
            text.append(f"{aim['aim']}  ")
            text.append(aim["hypothesis_id"], style="dim")
            for label in ("rationale", "approach", "expected_outcome", "pitfalls"):
                text.append(f"\n  {label.replace('_', ' ')}: ", style="dim")
                text.append(aim[label])
        text.rstrip()
    contacts = summary.get("contacts") or []
    if contacts:
        _section(text, f"Research contacts ({len(contacts)})")
        _bullets(
            text,
            [f"{c['name']}: " + "; ".join(p["identifier"] for p in c["papers"]) for c in contacts],
        )
        text.rstrip()
    t = summary["tournament"]
    _section(text, "Tournament and reviews")
    share = f"{100 * t['debate_share']:.0f} %" if t["debate_share"] is not None else "n/a"
    text.append(f"{t['matches']} matches, {t['debates']} debates ({share})\n")
    text.append(audit_sentence(summary["judge_audit"]) + "\n")
    text.append(
        "Reviews: "
        + (", ".join(f"{k} {v}" for k, v in summary["reviews_by_kind"].items()) or "none")
    )
    for note in summary["out_of_tournament"]:
        if note["status"] in ("flawed", "duplicate"):
            text.append(
                f"\n  {note['status']} ", style="red" if note["status"] == "flawed" else "dim"
            )
            text.append(f"{clip(note['title'], 50)}: {note['reason']}")
    return text
