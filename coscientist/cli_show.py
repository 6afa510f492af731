"""What the reading commands print: `show` (a session's plan, leaderboard, method and
models, or all as JSON), `sessions` and `graph`.

Kept out of cli.py so that it stays a list of commands. Text from the store is
printed through safe_text (console_markup, printable, json_text).
"""

from __future__ import annotations

import json
from typing import Any

from coscientist import cli_ask as show_ask
from coscientist.cli_errors import one_line
from coscientist.cli_output import SLOW_STEP_SECONDS, err, out, print_leaderboard, program_name
from coscientist.safe_text import console_markup, json_text, printable
from coscientist.tournament.display import confidence_line, confidence_summary


def show_session(cs: Any, session: Any, *, top: int, as_json: bool) -> None:
    from coscientist.reports.role_models import model_lines, model_use

    everyone, confidence = session.ranking()  # one judge fit for every part below
    board = everyone[: max(top, 0)]
    if as_json:
        fields = (
            "id",
            "rank",
            "title",
            "statement",
            "mu",
            "sigma",
            "elo",
            "matches",
            "wins",
            "origin",
            "elo_mean",
            "elo_low",
            "elo_high",
            "rated_by",
            "in_top",
        )
        from coscientist.reports.literature import board_citations
        from coscientist.reports.summary import method_summary

        latest = cs.store.graph_series(session.id, limit=1)
        cited = board_citations(cs.store, session.id, [e.id for e in board])
        payload = {
            "session": session.info.model_dump(mode="json"),
            "confidence": confidence_summary(session.info, confidence),
            "leaderboard": [
                {**e.model_dump(mode="json", include=set(fields)), "citations": cited.get(e.id, [])}
                for e in board
            ],
            **method_summary(cs.store, session.id, (everyone, confidence)),
            # The graph's figures at its latest stored point (`coscientist graph` for more).
            "graph": latest[0].model_dump(mode="json") if latest else None,
            # Requested and used embedder, why it fell back, vectors stored per embedder.
            "embedder": cs.store.session_embedder(session.id),
            # Which model each role used, and the calls and tokens per model.
            "models": model_use(cs.store, session.info).model_dump(mode="json"),
            "answers": show_ask.answers_json(session.answers()),
        }
        print(json_text(json.dumps(payload, indent=2, ensure_ascii=False)))
        return
    from coscientist import cli_method as show_text
    from coscientist.reports.summary import method_summary

    info = session.info
    out.print(
        f"[bold]{info.id}[/] ({info.status.value}) {console_markup(info.goal)}", highlight=False
    )
    summary = method_summary(cs.store, session.id, (everyone, confidence))
    show_text.print_plan(out, info.plan)
    print_leaderboard(board, title="Leaderboard")
    if board:
        out.print(confidence_line(info, confidence), highlight=False)
    show_text.print_method(out, summary)
    for line in model_lines(model_use(cs.store, info)):
        out.print(line, highlight=False, markup=False)
    show_ask.print_count(out, session.answers(), f"{program_name()} answers {info.id}")


def print_sessions(cs: Any) -> None:
    """`sessions`: one line a session, newest first, id first."""
    for info in cs.sessions():
        n = cs.store.count_hypotheses(info.id)
        created = info.created_at.strftime("%Y-%m-%d %H:%M")
        goal = printable(one_line(info.goal))
        print(f"{info.id}\t{info.status.value}\t{created}\t{n} hypotheses\t{goal[:80]}")


def show_graph(cs: Any, session: Any, *, top: int, as_json: bool) -> None:
    """`graph`: the knowledge graph's figures, as text or JSON."""
    from coscientist.progress import status
    from coscientist.reports.knowledge import knowledge_part
    from coscientist.reports.text import graph_lines

    with status(err, "computing the graph metrics", quiet_below=SLOW_STEP_SECONDS):
        part = knowledge_part(cs.store, session.id, session.info.seed, k=top)
    if as_json:
        print(json_text(json.dumps(part.model_dump(mode="json"), indent=2, ensure_ascii=False)))
        return
    for line in graph_lines(part):
        print(printable(line))  # concept names are model text
