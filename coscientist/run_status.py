"""How far a run is toward the stop rule that will end it: one computation for the CLI and the TUI.

The stop rules with a measurable end are the call budget, the token budget and
the wall-time limit; whichever is furthest along binds. The hypothesis cap is
shown beside them but never binds: reaching it stops generation, not the run
(the tournament goes on to a budget or to convergence).

Calls and tokens are session totals (a resumed run continues to the same
budget); elapsed time is this run's, as the time limit is per run.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from coscientist.config import Limits
from coscientist.safe_text import printable

RATE_WINDOW_SECONDS = 30.0  # rates follow at least the last half minute
MIN_RATE_SPAN_SECONDS = 3.0  # no rate from samples closer than this
SAMPLE_SECONDS = 1.0  # samples kept at most this often


@dataclass(frozen=True)
class RunProgress:
    """A cheap look at a run: its counters and limits (see `Session.progress`)."""

    calls: int
    tokens: int
    hypotheses: int
    limits: Limits
    elapsed_s: float | None = None  # this run's wall time; None when not known here
    best_title: str | None = None
    best_elo: float | None = None


@dataclass(frozen=True)
class RuleProgress:
    """One stop rule: how much of it is used."""

    rule: str  # calls, tokens or time
    done: float
    total: float

    @property
    def fraction(self) -> float:
        if self.total <= 0:
            return 1.0
        return max(0.0, min(1.0, self.done / self.total))

    def label(self) -> str:
        """`calls 23/60`, `tokens 1,200/50,000`, `time 0:12/1:00`."""
        if self.rule == "time":
            return f"time {duration(self.done)}/{duration(self.total)}"
        return f"{self.rule} {int(self.done):,}/{int(self.total):,}"


def stop_rules(p: RunProgress) -> list[RuleProgress]:
    """The measurable stop rules this run has (the time limit only when elapsed time is known)."""
    rules = []
    if p.limits.max_calls is not None:
        rules.append(RuleProgress("calls", p.calls, p.limits.max_calls))
    if p.limits.max_tokens is not None:
        rules.append(RuleProgress("tokens", p.tokens, p.limits.max_tokens))
    if p.limits.time_limit is not None and p.elapsed_s is not None:
        rules.append(RuleProgress("time", p.elapsed_s, p.limits.time_limit))
    return rules


def binding_rule(p: RunProgress) -> RuleProgress | None:
    """The stop rule furthest along (ties: calls, then tokens, then time)."""
    rules = stop_rules(p)
    if not rules:
        return None
    return max(rules, key=lambda r: r.fraction)  # max keeps the first of equals


@dataclass(frozen=True)
class ProgressView:
    """A snapshot with what only a series of snapshots can tell: rates and the time left."""

    progress: RunProgress
    binding: RuleProgress | None
    calls_per_s: float | None
    eta_s: float | None  # until the first stop rule fires, at the current rates

    def hypotheses_label(self) -> str:
        cap = self.progress.limits.max_hypotheses
        n = self.progress.hypotheses
        return f"{n}/{cap}" if cap is not None else str(n)

    def rate_label(self) -> str:
        """Calls a second, or a minute when fewer than one a second (a model on a CPU)."""
        rate = self.calls_per_s
        if rate is None:
            return "– calls/s"
        return f"{rate:.1f} calls/s" if rate >= 1 else f"{rate * 60:.1f} calls/min"

    def eta_label(self) -> str:
        if self.eta_s is None:
            return "time left unknown"
        if self.eta_s <= 0:
            return "finishing"
        return f"~{duration(self.eta_s)} left"

    def best_label(self) -> str | None:
        p = self.progress
        if p.best_title is None:
            return None
        title = one_line(p.best_title, 90)
        return f"{title} (Elo {p.best_elo:.0f})" if p.best_elo is not None else title


class ProgressMeter:
    """Turns successive snapshots into rates and an estimate of the time left.

    Rates follow a window of the last `window_s` seconds or half the time watched,
    whichever is longer: a slow model starts a call every half minute, and a short
    window would swing between "no progress" and "a burst".
    """

    def __init__(
        self,
        window_s: float = RATE_WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._window = window_s
        self._clock = clock
        self._samples: deque[tuple[float, int, int]] = deque()  # at most one a second
        self._first: tuple[float, int, int] | None = None

    def update(
        self, p: RunProgress, now: float | None = None, *, whole_run: bool = False
    ) -> ProgressView:
        """Add a snapshot; rates over the recent window, or since the first snapshot."""
        t = self._clock() if now is None else now
        if not self._samples or t - self._samples[-1][0] >= SAMPLE_SECONDS:
            self._samples.append((t, p.calls, p.tokens))
        first = self._first = self._first or self._samples[0]
        window = max(self._window, (t - first[0]) / 2)
        # Keep one sample at or past the window's start, so the span stays near the window.
        while len(self._samples) > 2 and self._samples[1][0] <= t - window:
            self._samples.popleft()
        t0, calls0, tokens0 = first if whole_run else self._samples[0]
        span = t - t0
        known = span >= MIN_RATE_SPAN_SECONDS
        call_rate = (p.calls - calls0) / span if known else None
        token_rate = (p.tokens - tokens0) / span if known else None
        return ProgressView(
            progress=p,
            binding=binding_rule(p),
            calls_per_s=call_rate,
            eta_s=_eta(stop_rules(p), call_rate, token_rate),
        )


def _eta(
    rules: list[RuleProgress], call_rate: float | None, token_rate: float | None
) -> float | None:
    rates = {"calls": call_rate, "tokens": token_rate, "time": 1.0}
    etas = []
    for rule in rules:
        left = rule.total - rule.done
        if left <= 0:
            return 0.0
        rate = rates[rule.rule]
        if rate:  # None or no progress in the window: this rule gives no estimate
            etas.append(left / rate)
    return min(etas) if etas else None


# --- words -------------------------------------------------------------------------------


def duration(seconds: float) -> str:
    """`0:07`, `12:30`, `1:02:03`."""
    s = max(0, round(seconds))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def one_line(text: str, width: int) -> str:
    """Model or scientist text for a status line: one line, control characters made visible."""
    flat = printable(" ".join(text.split()))
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def plain_status(view: ProgressView, counts: Mapping[str, int]) -> str:
    """The status line printed every few seconds when the output is not a terminal."""
    p = view.progress
    parts = []
    if view.binding is not None:
        parts.append(f"{view.binding.label()} ({view.binding.fraction:.0%})")
    if p.elapsed_s is not None:
        parts.append(f"elapsed {duration(p.elapsed_s)}")
    parts += [view.rate_label(), view.eta_label()]
    line = ", ".join(parts)
    tally = [f"hypotheses {view.hypotheses_label()}"] + [f"{k} {v}" for k, v in counts.items()]
    line += " | " + ", ".join(tally)
    best = view.best_label()
    if best is not None:
        line += f" | best: {best}"
    return line


@dataclass(frozen=True)
class NextStep:
    command: str
    why: str


def next_steps(
    program: str,
    session_id: str,
    *,
    stop_reason: str,
    calls: int,
    limits: Limits,
    run_calls: int,
    db: str | None = None,
    default_calls: int = 200,
) -> list[NextStep]:
    """What a user wants after a run: look at it, browse it, share it, continue it.

    The call budget is a session total, so continuing after it was spent needs a
    higher one: as many calls again as this run made (`run_calls`) on top of those made.
    """
    db_opt = f" --db {db}" if db else ""
    step = run_calls if run_calls > 0 else limits.max_calls or default_calls
    if limits.max_calls is not None and calls < limits.max_calls and stop_reason != "converged":
        target, why = limits.max_calls, f"continue ({limits.max_calls - calls} calls left)"
    else:
        target, why = calls + step, f"continue (another {step} calls)"
    resume = f"{program} resume {session_id}{db_opt} --max-calls {target}"
    if stop_reason == "token budget":
        why += "; its token budget is spent too: raise it from Python, Limits(max_tokens=N)"
    elif stop_reason == "nothing left to do":
        why += "; add --max-hypotheses N to let it generate more"
    return [
        NextStep(f"{program} show {session_id}{db_opt}", "the leaderboard"),
        NextStep(f"{program} tui {session_id}{db_opt}", "browse hypotheses, reviews and matches"),
        NextStep(
            f"{program} export {session_id}{db_opt} --format html --output report.html",
            "a report to share",
        ),
        NextStep(resume, why),
    ]
