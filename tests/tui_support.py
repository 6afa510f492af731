"""Helpers for the TUI tests: waiting on a Pilot, a seeded store, SVG snapshots."""

from __future__ import annotations

import asyncio
import html
import os
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.widgets import DataTable, RichLog, Static

from coscientist.schemas import (
    Hypothesis,
    MatchVerdict,
    ReviewDraft,
    ReviewKind,
    SessionInfo,
    SessionStatus,
    TaskKind,
    TaskResult,
    TaskSpec,
)
from coscientist.store.repository import Store

SNAPSHOTS = Path(__file__).parent / "snapshots"
WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
SESSION_ID = "5e55a0000001"
MARKUP_TITLE = "[bold]x[/] & [red]y"  # a model-written title that must show literally


async def wait_for(
    cond: Callable[[], bool], what: str = "condition", within: float = 10.0, every: float = 0.02
) -> None:
    """Let the app run until `cond()` holds (checked every `every` s); fail after `within` s."""
    deadline = time.monotonic() + within
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(every)


def screen_text(svg: str) -> str:
    """The characters of a screenshot in paint order: a line's text split over several SVG
    elements (a style change, the cursor's highlight) reads as one string again."""
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    return html.unescape("".join(texts)).replace("\xa0", " ")


def table_keys(table: DataTable[Any]) -> list[str]:
    return [str(row.key.value) for row in table.ordered_rows]


def rendered(widget: Static) -> str:
    """What a Static shows, as plain text."""
    content = widget.render()
    return content.plain if isinstance(content, Text) else str(content)


def log_text(log: RichLog) -> str:
    return "\n".join(strip.text for strip in log.lines)


def seed_store(store: Store, session_id: str = SESSION_ID) -> list[Hypothesis]:
    """A finished session with fixed ids and times: four hypotheses, two matches, one review."""
    store.create_session(
        SessionInfo(
            id=session_id,
            goal="Why do some tumours resist therapy?",
            model_spec="scripted",
            seed=1,
            created_at=WHEN,
            updated_at=WHEN,
        )
    )
    ids = [f"h{i}{session_id[-10:]}" for i in range(4)]  # unique per store, fixed per session
    specs = [
        ("Efflux pumps drive resistance", "generation:literature", []),
        (MARKUP_TITLE, "generation:debate", []),
        ("Dormant cells evade drugs", "evolution:combination", ids[:2]),
        ("Scientist idea", "scientist", []),
    ]
    hs = [
        Hypothesis(
            id=ids[i],
            session_id=session_id,
            title=title,
            statement=f"Statement {i}: a testable claim.",
            rationale="Because [dim]reasons[/dim]." if i == 1 else "",
            predictions=["Prediction one", "Prediction two"] if i == 1 else [],
            experiment="Knock out the pump." if i == 0 else "",
            origin=origin,
            parent_ids=parents,
            created_at=WHEN,
        )
        for i, (title, origin, parents) in enumerate(specs)
    ]
    store.add_hypotheses(hs)
    play_matches(
        store, session_id, [(hs[0].id, hs[1].id, hs[1].id), (hs[2].id, hs[1].id, hs[1].id)]
    )
    store.add_review(
        session_id,
        ReviewDraft(
            hypothesis_id=hs[1].id,
            kind=ReviewKind.INITIAL,
            summary="Plausible; [i]not[/i] markup.",
            scores={"novelty": 4, "correctness": 3},
            strengths=["clear mechanism"],
            weaknesses=["no dose data"],
        ),
    )
    store.update_session(session_id, status=SessionStatus.STOPPED, stop_reason="call budget")
    return hs


def play_matches(store: Store, session_id: str, results: list[tuple[str, str, str]]) -> None:
    """Record (first, second, winner) matches through a task, as a worker would."""
    store.enqueue(session_id, [TaskSpec(kind=TaskKind.MATCH)])
    task = store.claim(session_id, "test-owner", 1, 60)[0]
    verdicts = [MatchVerdict(first_id=a, second_id=b, winner_id=w) for a, b, w in results]
    store.complete_task(task.id, "test-owner", TaskResult(matches=verdicts))


def assert_snapshot(svg: str, name: str, actual_dir: Path) -> None:
    """Compare with tests/snapshots/NAME.svg. UPDATE_SNAPSHOTS=1 writes it; a missing snapshot
    is written too, but the test fails, so that a new screen is reviewed before it is pinned."""
    path = SNAPSHOTS / f"{name}.svg"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(svg, encoding="utf-8")
        return
    if not path.exists():
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(svg, encoding="utf-8")
        raise AssertionError(f"no snapshot {path}: written now; review it and rerun")
    if svg != path.read_text(encoding="utf-8"):
        actual = actual_dir / f"{name}.svg"
        actual.write_text(svg, encoding="utf-8")
        raise AssertionError(
            f"screen differs from {path} (now in {actual}); "
            "if the change is intended, rerun with UPDATE_SNAPSHOTS=1 and review the new file"
        )
