"""What a user sees during a run: the bar toward the binding stop rule, plain status lines, slow steps."""

from __future__ import annotations

import io
import re
import time
from pathlib import Path

import anyio
import anyio.lowlevel
import pytest
from rich.console import Console

from coscientist.config import Limits, Settings
from coscientist.llm.scripted import ScriptedBackend
from coscientist.progress import run_with_progress, status
from coscientist.run_status import (
    ProgressMeter,
    RunProgress,
    binding_rule,
    duration,
    next_steps,
    plain_status,
)
from coscientist.schemas import Event
from coscientist.session import CoScientist

GOAL = "How do tardigrades survive desiccation?"


def progress(**kw: object) -> RunProgress:
    base: dict[str, object] = {"calls": 0, "tokens": 0, "hypotheses": 0, "limits": Limits()}
    return RunProgress(**{**base, **kw})  # type: ignore[arg-type]


def console(*, terminal: bool) -> Console:
    return Console(
        file=io.StringIO(), force_terminal=terminal, record=True, width=140, color_system=None
    )


class SlowLoadingBackend(ScriptedBackend):
    """The scripted model with a first step to load, like the embedded one."""

    def __init__(self, load_seconds: float, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.load_seconds = load_seconds
        self.loaded = False

    def load_notice(self) -> str | None:
        return None if self.loaded else "loading the model test-weights (1 MB, 1 threads)"

    async def load(self) -> None:
        await anyio.sleep(self.load_seconds)
        self.loaded = True


def open_cs(
    tmp_path: Path, backend: ScriptedBackend | None = None, concurrency: int | None = None
) -> CoScientist:
    settings = Settings(
        db=f"sqlite:///{tmp_path}/s.db", model="scripted", seed=3, concurrency=concurrency
    )
    return CoScientist(settings, backend=backend)


# --- the numbers -------------------------------------------------------------------------------


def test_the_rule_furthest_along_binds_and_the_hypothesis_cap_never_does() -> None:
    limits = Limits(max_calls=100, max_tokens=10_000, time_limit=60, max_hypotheses=5)
    p = progress(calls=30, tokens=5_000, hypotheses=5, elapsed_s=12.0, limits=limits)
    rule = binding_rule(p)
    assert rule is not None and rule.rule == "tokens" and rule.fraction == 0.5
    p = progress(calls=30, tokens=500, hypotheses=5, elapsed_s=45.0, limits=limits)
    rule = binding_rule(p)
    assert rule is not None and (rule.rule, rule.label()) == ("time", "time 0:45/1:00")
    # The time limit is per run: without this run's clock (another process's run) it is unknown.
    rule = binding_rule(
        progress(calls=30, elapsed_s=None, limits=Limits(time_limit=10, max_calls=100))
    )
    assert rule is not None and rule.rule == "calls"
    assert binding_rule(progress(hypotheses=9, limits=Limits(max_hypotheses=5))) is None


def test_rates_and_time_left_follow_the_recent_window() -> None:
    limits = Limits(max_calls=100, time_limit=600)
    meter = ProgressMeter(window_s=10)
    first = meter.update(progress(calls=10, elapsed_s=5, limits=limits), now=100.0)
    assert first.calls_per_s is None  # one sample tells no rate
    view = meter.update(progress(calls=30, elapsed_s=15, limits=limits), now=110.0)
    assert view.calls_per_s == pytest.approx(2.0)
    assert view.eta_s == pytest.approx(35.0)  # 70 calls left at 2 a second, before 585 s of time
    assert view.eta_label() == "~0:35 left"
    # Older samples leave the window: the rate is the recent one (10 calls in 10 s).
    view = meter.update(progress(calls=40, elapsed_s=25, limits=limits), now=120.0)
    assert view.calls_per_s == pytest.approx(1.0)
    assert view.eta_s == pytest.approx(60.0)
    spent = meter.update(progress(calls=100, elapsed_s=30, limits=limits), now=125.0)
    assert spent.eta_s == 0.0 and spent.eta_label() == "finishing"


def test_a_slow_model_gets_a_steady_estimate_in_calls_a_minute() -> None:
    # One call every 20 s (a small model on a busy CPU), sampled every second.
    limits = Limits(max_calls=12)
    meter = ProgressMeter(window_s=30)
    etas = []
    for t in range(111):
        view = meter.update(progress(calls=t // 20 + 1, elapsed_s=t, limits=limits), now=t)
        if t >= 30:
            etas.append(view.eta_s)
    assert all(eta is not None for eta in etas)  # never "unknown" between two calls
    assert view.rate_label() == "3.3 calls/min"
    assert 90 <= (view.eta_s or 0) <= 150  # 6 calls left at 3 a minute: about 2 minutes


def test_plain_status_line_says_rule_rate_time_counts_and_best() -> None:
    meter = ProgressMeter()
    p = progress(
        calls=23,
        hypotheses=7,
        elapsed_s=12.4,
        limits=Limits(max_calls=60, max_hypotheses=10),
        best_title="Trehalose   glass\nprotects membranes",
        best_elo=1284.4,
    )
    meter.update(progress(calls=3, elapsed_s=2.4, limits=p.limits), now=0.0)
    line = plain_status(meter.update(p, now=10.0), {"reviews": 9, "matches": 5, "failed": 0})
    assert line == (
        "calls 23/60 (38%), elapsed 0:12, 2.0 calls/s, ~0:18 left"
        " | hypotheses 7/10, reviews 9, matches 5, failed 0"
        " | best: Trehalose glass protects membranes (Elo 1284)"
    )
    assert duration(3725) == "1:02:05"


def test_next_steps_name_the_session_and_a_budget_that_continues() -> None:
    steps = next_steps(
        "coscientist",
        "abc123",
        stop_reason="call budget",
        calls=60,
        limits=Limits(max_calls=60),
        run_calls=60,
        db="sqlite:////tmp/x.db",
    )
    assert [s.command for s in steps] == [
        "coscientist show abc123 --db sqlite:////tmp/x.db",
        "coscientist tui abc123 --db sqlite:////tmp/x.db",
        "coscientist export abc123 --db sqlite:////tmp/x.db --format html --output report.html",
        "coscientist resume abc123 --db sqlite:////tmp/x.db --max-calls 120",
    ]
    assert steps[-1].why == "continue (another 60 calls)"
    stopped_early = next_steps(
        ".venv/bin/coscientist",
        "abc123",
        stop_reason="interrupted (SIGINT)",
        calls=25,
        limits=Limits(max_calls=60),
        run_calls=25,
    )
    assert stopped_early[-1].command == ".venv/bin/coscientist resume abc123 --max-calls 60"
    assert stopped_early[-1].why == "continue (35 calls left)"
    resumed = next_steps(
        "coscientist",
        "abc123",
        stop_reason="call budget",
        calls=80,
        limits=Limits(max_calls=80),
        run_calls=20,
    )
    assert resumed[-1].command == "coscientist resume abc123 --max-calls 100"


# --- a run on a terminal and in a pipe ---------------------------------------------------------


@pytest.mark.anyio
async def test_on_a_terminal_a_bar_shows_the_binding_rule_to_its_end(tmp_path: Path) -> None:
    cs = open_cs(tmp_path)
    session = cs.start(GOAL)
    out = console(terminal=True)
    summary = await run_with_progress(session, Limits(max_calls=60), out)
    text = out.export_text()
    assert summary.stop_reason == "call budget"
    assert f"calls {summary.calls}/60" in text, text[-2000:]
    final = text[text.rindex("calls 60/60") :]  # the live block's last frame stays on screen
    assert re.search(r"calls 60/60 ━{20,}\s+100%", final), final
    assert "stopped: call budget" in final
    assert f"hypotheses {summary.hypotheses}" in final and "matches " in final
    best = next(e for e in session.leaderboard() if e.matches)  # the best tested one
    last_line = " ".join(final.strip().splitlines()[-1].split())
    assert last_line.startswith(f"best {' '.join(best.title.split())[:40]}")
    assert last_line.endswith(f"(Elo {best.elo:.0f})")
    cs.close()


@pytest.mark.anyio
async def test_in_a_pipe_a_plain_status_line_every_few_seconds(tmp_path: Path) -> None:
    cs = open_cs(tmp_path, ScriptedBackend(seed=3, latency=0.15), concurrency=2)
    session = cs.start(GOAL)
    out = console(terminal=False)
    await run_with_progress(session, Limits(max_calls=60), out, status_seconds=0.5)
    lines = out.export_text().splitlines()
    status_lines = [line for line in lines if line.startswith("calls ")]
    assert len(status_lines) >= 2, lines
    assert all(re.match(r"calls \d+/60 \(\d+%\), elapsed \d:\d\d, ", line) for line in status_lines)
    rated = [line for line in status_lines if re.search(r"\d calls/(s|min), ~\d:\d\d left", line)]
    assert rated, status_lines  # a rate once 3 s of the run are seen
    assert not any("━" in line for line in lines)  # no bar drawn into a file
    assert not any(line.startswith("+ new hypothesis") for line in lines)
    cs.close()


@pytest.mark.anyio
async def test_verbose_prints_a_line_per_event(tmp_path: Path) -> None:
    cs = open_cs(tmp_path)
    session = cs.start(GOAL)
    out = console(terminal=False)
    summary = await run_with_progress(session, Limits(max_calls=60), out, verbose=True)
    text = out.export_text()
    assert text.count("+ new hypothesis (") == summary.hypotheses
    assert len(re.findall(r"^  \w+ review of ", text, re.M)) == len(session.reviews())
    assert summary.matches > 0 and text.count("  match: ") == summary.matches
    cs.close()


@pytest.mark.anyio
async def test_loading_the_model_is_announced_with_its_time(tmp_path: Path) -> None:
    backend = SlowLoadingBackend(0.3, seed=3)
    cs = open_cs(tmp_path, backend)
    session = cs.start(GOAL)
    seen: list[Event] = []

    async def watch() -> None:
        async for event in session.events():
            seen.append(event)

    out = console(terminal=False)
    async with anyio.create_task_group() as tg:
        tg.start_soon(watch)
        await anyio.lowlevel.checkpoint()
        await run_with_progress(session, Limits(max_calls=10), out)
        tg.cancel_scope.cancel()
    kinds = [e.kind for e in seen]
    assert kinds[:3] == ["status", "status", "run_started"]  # loaded before the run's clock starts
    assert seen[0].message == "loading the model test-weights (1 MB, 1 threads)"
    took = float(re.fullmatch(r"model loaded in (\d+\.\d) s", seen[1].message).group(1))  # type: ignore[union-attr]
    assert 0.3 <= took < 2.0 and seen[1].data["seconds"] >= 0.3
    assert seen[0].data["seconds"] is None  # under way
    text = out.export_text()
    assert "* loading the model test-weights" in text and "* model loaded in" in text
    assert backend.loaded
    cs.close()


@pytest.mark.anyio
async def test_progress_is_read_from_memory_only_while_running_here(tmp_path: Path) -> None:
    cs = open_cs(tmp_path, ScriptedBackend(seed=3, latency=0.01), concurrency=2)
    session = cs.start(GOAL)
    assert session.progress() is None
    samples: list[RunProgress] = []

    async def sample() -> None:
        async for event in session.events():
            if event.kind in ("match", "hypothesis", "review"):
                p = session.progress()
                assert p is not None
                samples.append(p)

    async with anyio.create_task_group() as tg:
        tg.start_soon(sample)
        await anyio.lowlevel.checkpoint()
        summary = await session.run(Limits(max_calls=120))
        tg.cancel_scope.cancel()
    assert session.progress() is None
    assert samples and all(p.limits.max_calls == 120 for p in samples)
    calls = [p.calls for p in samples]
    assert calls == sorted(calls) and 0 < calls[-1] <= 120
    assert max(p.hypotheses for p in samples) <= summary.hypotheses
    assert summary.matches > 0 and samples[-1].best_title is not None
    assert samples[0].best_title is None  # no match played yet: no best to name
    assert all(p.elapsed_s is not None and p.elapsed_s >= 0 for p in samples)
    cs.close()


# --- slow single steps --------------------------------------------------------------------------


def test_status_names_a_slow_step_and_its_time() -> None:
    plain = console(terminal=False)
    with status(plain, "checking the model endpoint"):
        pass
    lines = plain.export_text().splitlines()
    assert lines[0] == "checking the model endpoint…"
    assert re.fullmatch(r"checking the model endpoint: done in \d+\.\d s", lines[1])

    quiet = console(terminal=False)
    with status(quiet, "exporting", quiet_below=5.0):
        pass
    assert quiet.export_text() == ""  # fast: nothing printed where output is kept
    slow = console(terminal=False)
    with status(slow, "exporting", quiet_below=0.05):
        time.sleep(0.1)
    assert re.fullmatch(r"exporting: done in \d+\.\d s\n", slow.export_text())

    term = console(terminal=True)
    with pytest.raises(RuntimeError), status(term, "computing the graph metrics"):
        raise RuntimeError("boom")
    assert "computing the graph metrics: failed after" in term.export_text()
