"""Where the command line prints, and what several commands print alike.

The leaderboard table is `run`'s, `resume`'s and `show`'s; the program name goes
into every command printed for the user to paste. Titles are model text: table
cells are Text, never parsed as markup.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from coscientist.cli_errors import one_line
from coscientist.safe_text import printable

out = Console()
err = Console(stderr=True)
SLOW_STEP_SECONDS = 1.0  # exports and graph metrics say how long they took past this


def program_name() -> str:
    """How the user called us: `coscientist`, or a path such as `.venv/bin/coscientist`
    when the environment is not activated, so the commands printed work as shown."""
    called = sys.argv[0] if sys.argv else ""
    if Path(called).name != "coscientist" or Path(called).parent == Path():
        return "coscientist"
    on_path = shutil.which("coscientist")
    if on_path is not None and Path(on_path).resolve() == Path(called).resolve():
        return "coscientist"
    return called


def print_leaderboard(board: list[Any], *, title: str) -> None:
    """The board as a table that stays readable in 80 columns: figures and ids never wrap
    (an id is copied into other commands), the title takes the width left and wraps,
    with its origin under it."""
    from coscientist.tournament.display import rank_rule

    if not board:
        out.print("(no ranked hypotheses yet)")
        return
    rule = rank_rule(board[0].rated_by)
    table = Table(
        title=title, caption=rule, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True
    )
    for col in ("rank", "Elo", "95% CI", "P(top)", "W-L"):
        table.add_column(col, justify="right", no_wrap=True)
    table.add_column("id", no_wrap=True)
    table.add_column("title (origin)", ratio=1, min_width=16, overflow="fold")
    for e in board:  # Text cells: a title is never parsed as markup
        cell = Text(printable(one_line(e.title)))
        cell.append(f"\n{printable(e.origin)}", style="dim")
        table.add_row(
            str(e.rank),
            f"{e.elo:.0f}",
            f"{e.elo_low:.0f}-{e.elo_high:.0f}",
            "" if e.in_top is None else f"{e.in_top:.2f}",
            f"{e.wins}-{e.matches - e.wins}",
            e.id,
            cell,
        )
    out.print(table)
