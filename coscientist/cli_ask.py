"""The command line's side of talking to a session: an answer, the list of answers, in words.

Kept out of cli.py so that it stays a list of commands. The question, the
answer and titles are model or scientist text: printed with markup off and
control characters made visible.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console

from coscientist.cli_output import out, program_name
from coscientist.safe_text import printable
from coscientist.schemas import Answer


def _line(console: Console, text: str) -> None:
    console.print(printable(text), markup=False, highlight=False, soft_wrap=True)


def dropped_note(answer: Answer) -> str | None:
    """What every display says when the model cited ids the session does not hold."""
    if not answer.dropped_ids:
        return None
    return "the model cited ids this session does not hold, dropped: " + ", ".join(
        answer.dropped_ids
    )


def print_answer(
    console: Console,
    answer: Answer,
    titles: Mapping[str, str],
    *,
    apply_command: str | None,
) -> None:
    _line(console, f"Q: {answer.question}")
    _line(console, f"A: {answer.answer}")
    if answer.cited_ids:
        _line(console, "cites:")
        for hid in answer.cited_ids:
            _line(console, f"  {hid}  {' '.join(titles.get(hid, '').split())}")
    else:
        _line(console, "cites: no hypothesis")
    note = dropped_note(answer)
    if note:
        _line(console, f"note: {note}")
    if answer.follow_up is not None:
        from coscientist.conversation import describe

        _line(console, f"follow-up: {describe(answer)}")
        if answer.applied:
            _line(console, f"  applied: {answer.applied}")
        elif apply_command:
            _line(console, f"  apply it: {apply_command}")
    _line(console, f"answer {answer.id} ({answer.model}, {answer.created_at:%Y-%m-%d %H:%M} UTC)")


def print_answers(
    console: Console, answers: Sequence[Answer], titles: Mapping[str, str], apply: str
) -> None:
    """Every answer of a session, oldest first, a blank line between them."""
    if not answers:
        _line(console, "no questions asked yet: coscientist ask SESSION QUESTION")
        return
    for i, answer in enumerate(answers):
        if i:
            console.print()
        print_answer(console, answer, titles, apply_command=apply.format(answer.id))


def print_count(console: Console, answers: Sequence[Answer], command: str) -> None:
    """`show`'s line about the questions asked (none: no line)."""
    if answers:
        n = len(answers)
        _line(console, f"Questions asked: {n} ({command} shows {'it' if n == 1 else 'them'})")


def answers_json(answers: Sequence[Answer]) -> list[dict[str, Any]]:
    return [a.model_dump(mode="json") for a in answers]


def print_session_answers(cs: Any, session: Any, found: list[Any], *, db_given: bool) -> None:
    titles = {h.id: h.title for h in session.hypotheses()}
    command = f"{program_name()} answers {session.id} --apply {{}}"
    if db_given:
        command += f" --db {cs.store.url_display}"
    print_answers(out, found, titles, command)
