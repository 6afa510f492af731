"""What the chat and meta-review screens show: read from the store, rendered as rich `Text`.

Loading blocks on the database (screens call it from worker threads); rendering
appends model text as plain characters (never markup), control characters made
visible, as render.py does for the other screens.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.text import Text

from coscientist.conversation import describe
from coscientist.safe_text import printable
from coscientist.schemas import Answer, HypothesisStatus, MetaReview
from coscientist.store.repository import Store
from coscientist.tui.render import clip


@dataclass(frozen=True)
class ChatView:
    answers: list[Answer]  # oldest first
    titles: dict[str, str] = field(default_factory=dict)
    can_ask: bool = True  # False: this app has no model to ask (shown as a hint)


@dataclass(frozen=True)
class MetaReviewView:
    latest: MetaReview | None
    count: int
    titles: dict[str, str] = field(default_factory=dict)


def _titles(store: Store, session_id: str) -> dict[str, str]:
    return {
        h.id: h.title
        for h in store.list_hypotheses(session_id)
        if h.status != HypothesisStatus.UNSAFE  # the safety gate's: never shown
    }


def load_chat(store: Store, session_id: str, *, can_ask: bool) -> ChatView:
    return ChatView(store.list_answers(session_id), _titles(store, session_id), can_ask)


def load_meta_review(store: Store, session_id: str) -> MetaReviewView:
    reviews = store.list_meta_reviews(session_id)
    return MetaReviewView(reviews[0] if reviews else None, len(reviews), _titles(store, session_id))


def next_follow_up(answers: list[Answer]) -> Answer | None:
    """The answer whose follow-up `f` applies: the newest one not applied yet."""
    return next((a for a in reversed(answers) if a.follow_up and not a.applied), None)


def _heading(text: Text, heading: str) -> None:
    text.append(f"\n\n{heading}\n", style="bold underline")


def _ref(text: Text, hid: str, titles: dict[str, str]) -> None:
    text.append(f"  {hid}  ", style="dim")
    text.append(clip(titles.get(hid, "(not in the store)"), 70))
    text.append("\n")


def answer_text(text: Text, answer: Answer, titles: dict[str, str], *, next_up: bool) -> None:
    text.append("Q: ", style="bold cyan")
    text.append(printable(answer.question), style="bold")
    text.append("\nA: ", style="bold green")
    text.append(printable(answer.answer))
    text.append("\n")
    if answer.cited_ids:
        text.append("cites\n", style="dim")
        for hid in answer.cited_ids:
            _ref(text, hid, titles)
    else:
        text.append("cites no hypothesis\n", style="dim")
    if answer.dropped_ids:
        text.append("note: ", style="bold yellow")
        text.append("the model cited ids this session does not hold, dropped: ", style="yellow")
        text.append(clip(", ".join(answer.dropped_ids), 160), style="yellow")
        text.append("\n")
    if answer.follow_up is not None:
        text.append("follow-up: ", style="bold magenta")
        text.append(printable(describe(answer)))
        if answer.applied:
            text.append(f"  applied: {printable(answer.applied)}", style="green")
        elif next_up:
            text.append("  (f applies it)", style="bold")
        text.append("\n")
    text.append(
        f"answer {answer.id} · {clip(answer.model, 60)} · {answer.created_at:%Y-%m-%d %H:%M} UTC",
        style="dim",
    )


def chat_view(view: ChatView, *, pending: str | None = None) -> Text:
    """Every answer, oldest first; a question still being answered last."""
    text = Text("Questions about this session", style="bold underline")
    if not view.can_ask:
        text.append("\nthis window has no model to ask: open the session with ", style="dim")
        text.append("coscientist tui SESSION", style="bold")
    elif not view.answers and pending is None:
        text.append("\nnone yet: press n to ask (answers cite hypothesis ids)", style="dim")
    up = next_follow_up(view.answers)
    for answer in view.answers:
        text.append("\n\n")
        answer_text(text, answer, view.titles, next_up=answer is up)
    if pending is not None:
        text.append("\n\nQ: ", style="bold cyan")
        text.append(printable(pending), style="bold")
        text.append("\nasking the model…", style="dim")
    return text


def _bullets(text: Text, items: list[str]) -> None:
    for item in items:
        text.append(f"  • {printable(item)}\n")


def meta_review_view(view: MetaReviewView) -> Text:
    """The latest meta-review: recurring critique, strengths, gaps, and the research overview."""
    text = Text("Meta-review", style="bold underline")
    meta = view.latest
    if meta is None:
        text.append("\nnone yet: written after enough reviews and matches", style="dim")
        return text
    text.append(
        f"\nlatest of {view.count}, written {meta.created_at:%Y-%m-%d %H:%M} UTC", style="dim"
    )
    for heading, items in (
        ("Recurring critique (agents are told to avoid it)", meta.critique),
        ("Recurring strengths (agents are told to keep them)", meta.strengths),
        ("Gaps to explore", meta.gaps),
    ):
        _heading(text, heading)
        if items:
            _bullets(text, items)
            text.rstrip()
        else:
            text.append("none", style="dim")
    overview = meta.research_overview
    _heading(text, "Research overview")
    if overview is None and not meta.overview:
        text.append("none", style="dim")
    if overview is not None:
        text.append(f"{printable(overview.title)}\n", style="bold")
        if overview.background:
            text.append(printable(overview.background) + "\n")
        if overview.gap:
            text.append("Gap: ", style="dim")
            text.append(printable(overview.gap) + "\n")
        for i, aim in enumerate(overview.aims, start=1):
            text.append(f"Aim {i}: ", style="bold")
            text.append(printable(aim.aim) + "\n")
            _ref(text, aim.hypothesis_id, view.titles)
        text.rstrip()
    elif meta.overview:
        text.append(printable(meta.overview))
    if meta.top_ids:
        _heading(text, "Top hypotheses it read")
        for hid in meta.top_ids:
            _ref(text, hid, view.titles)
        text.rstrip()
    return text
