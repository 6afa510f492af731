"""The best hypothesis and its Elo on a running session's progress line (session.research)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import anyio
import pytest

from coscientist.config import Limits, Settings
from coscientist.schemas import Hypothesis, Rating
from coscientist.session import CoScientist, research
from coscientist.session.research import live_best
from coscientist.tournament import bradley_terry, judge_fit
from coscientist.tournament.ratings import mean_elo, to_elo


def state(ratings: dict[str, tuple[float, int]], members: set[str]) -> Any:
    order = sorted(members, key=lambda h: -ratings[h][0])  # TrueSkill's board order here
    return SimpleNamespace(
        top_ids=lambda k: order[:k],
        hypotheses={
            hid: Hypothesis(
                id=hid, session_id="s", title=f"title {hid}", statement="x y z", origin="generation"
            )
            for hid in ratings
        },
        ratings={
            hid: Rating(hypothesis_id=hid, mu=mu, sigma=3.0, matches=n)
            for hid, (mu, n) in ratings.items()
        },
        policy_members=members,
    )


# TrueSkill puts a above b; the judge's verdicts (b won 5 of 6, in both orders) say b.
RATINGS = {"a": (30.0, 6), "b": (27.0, 6), "c": (40.0, 0), "d": (50.0, 5)}
MEMBERS = {"a", "b", "c"}  # d is retired; c has not played
VERDICTS = [("b", "a", True)] * 3 + [("a", "b", False)] * 2 + [("a", "b", True)]


def test_before_any_match_there_is_no_best() -> None:
    assert live_best(state({"a": (25.0, 0)}, {"a"}), None) is None


def test_without_a_fit_the_best_is_trueskills_at_its_mean_not_its_lower_bound() -> None:
    found = live_best(state(RATINGS, MEMBERS), None)
    assert found is not None
    best, elo = found
    assert best.id == "a"  # not c (untested) nor d (retired), though their mu is higher
    assert elo == pytest.approx(mean_elo(30.0))
    assert elo > to_elo(30.0, 3.0) + 250  # the lower bound the line used to show


def test_with_the_stop_rules_fit_the_best_and_its_elo_are_the_leaderboards() -> None:
    fit = judge_fit.fit(VERDICTS, ["a", "b", "c"])
    assert fit is not None
    found = live_best(state(RATINGS, MEMBERS), fit)
    assert found is not None
    best, elo = found
    strength = dict(zip(fit.ids, fit.strength.tolist(), strict=True))
    assert best.id == "b" and strength["b"] > strength["a"]
    assert elo == pytest.approx(bradley_terry.to_elo(strength["b"]))


def test_past_the_fits_size_the_best_and_its_elo_are_trueskills_board(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The leaderboard past judge_fit.MAX_FIT is TrueSkill's, with its lower-bound Elo; the stop
    # rule's last fit (made while the pool was smaller) no longer speaks for it.
    fit = judge_fit.fit(VERDICTS, ["a", "b", "c"])
    monkeypatch.setattr(judge_fit, "MAX_FIT", 2)
    found = live_best(state(RATINGS, MEMBERS), fit)
    assert found is not None
    best, elo = found
    # c leads TrueSkill's board but has not played: the first that has, a (not the fit's b)
    assert best.id == "a" and elo == pytest.approx(to_elo(30.0, 3.0))
    unplayed = state({"a": (30.0, 0), "b": (27.0, 0), "c": (40.0, 0)}, MEMBERS)
    assert live_best(unplayed, fit) is None


@pytest.mark.anyio
async def test_a_short_run_shows_the_boards_best_and_elo_before_the_stop_rule_fits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A short run's stop rule never fits the judge model (new hypotheses keep arriving with
    fewer than two matches), so the line fits it itself: at the end it names the board's
    best played hypothesis with the board's Elo, not TrueSkill's (1490 against 1207)."""
    monkeypatch.setattr(research, "DISPLAY_FIT_SECONDS", 0.0)  # a refit after every match
    seen: list[tuple[str | None, float | None, bool]] = []
    settings = Settings(db=f"sqlite:///{tmp_path}/s.db", model="scripted", seed=4, concurrency=1)
    with CoScientist(settings) as cs:
        session = cs.start("Why do some tumours resist chemotherapy?")

        async def watch() -> None:
            async for event in session.events():
                if event.kind == "match" and (p := session.progress()) is not None:
                    fitted = session._scheduler is not None and (
                        session._scheduler.stopwatch.latest_fit is not None
                    )
                    seen.append((p.best_title, p.best_elo, fitted))
                elif event.kind == "stop":
                    return

        async with anyio.create_task_group() as tg:
            tg.start_soon(watch)
            await session.run(Limits(max_calls=40))
            tg.cancel_scope.cancel()
        board, _ = session.ranking()
    assert len(seen) >= 3 and not any(fitted for *_, fitted in seen)
    title, elo, _ = seen[-1]
    played = [e for e in board if e.matches > 0]
    assert played[0].title == title
    assert elo == pytest.approx(played[0].elo, abs=2.0)
