"""Session: one research goal, run by the scheduler; reading and steering it is Steering's
(steering.py), which Session extends.

Made by CoScientist (entry.py), which holds the store and builds the models.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

import anyio

from coscientist.config import Limits
from coscientist.embedding import embedding_service
from coscientist.errors import ConfigError, GoalRefusedError
from coscientist.events import EventBus
from coscientist.llm.client import ModelClient
from coscientist.llm.preflight import ModelCheck
from coscientist.llm.roles import Endpoint, moved_roles
from coscientist.llm.router import ModelRouter
from coscientist.llm.spec import check_base_url
from coscientist.run_status import RunProgress
from coscientist.scheduler import Inbox, RunSummary
from coscientist.scheduler import commands as cmd
from coscientist.schemas import (
    Event,
    Hypothesis,
    SessionInfo,
    SessionStatus,
)
from coscientist.session.preload import preload_scheduler
from coscientist.session.steering import Steering
from coscientist.tournament import bradley_terry, judge_fit
from coscientist.tournament.confidence import fitted_order
from coscientist.tournament.judge_fit import JudgeFit
from coscientist.tournament.ratings import mean_elo, to_elo

if TYPE_CHECKING:
    from coscientist.literature import LiteratureTools
    from coscientist.scheduler.loop import Scheduler
    from coscientist.scheduler.state import SessionState
    from coscientist.session.entry import CoScientist

DEFAULT_MAX_CALLS = 200  # when a run is given no budget at all
LEADERS_SCANNED = 20  # live_best looks this far down a TrueSkill board for one that has played
# Until the stop rule fits the judge model (once every hypothesis has played twice and the
# pool is complete: in a short run, never), progress() fits it itself for the line's best:
# up to this many hypotheses (5-20 ms a fit, on the loop), after a new match, at most once
# every DISPLAY_FIT_SECONDS. It searches the spread every time: kept from a fit a few
# matches before, the spread of a small pool was far off (1535 where the board said 1232).
DISPLAY_FIT_MAX = 120
DISPLAY_FIT_SECONDS = 1.0


class Session(Steering):
    """One research goal: run it, watch it, steer it."""

    def __init__(self, owner: CoScientist, info: SessionInfo) -> None:
        self._cs = owner
        self.info = info
        self.bus = EventBus()
        # Commands for a running loop; they wait here when none runs yet (a stop during start-up).
        self._inbox = Inbox()
        self._running = False
        self._scheduler: Scheduler | None = None  # read by progress(), only while it runs
        self._checks: dict[Endpoint, ModelCheck] | None = None  # set by CoScientist.start
        # (matches_done, time.monotonic(), fit) of the last fit progress() made
        self._display_fit: tuple[int, float, JudgeFit | None] | None = None

    # --- running ------------------------------------------------------------------

    async def run(self, limits: Limits | None = None, **overrides: Any) -> RunSummary:
        """Run until a stop rule fires. Limits not given come from the session's stored ones."""
        limits = self._effective_limits(limits, overrides)
        settings = self._cs.settings
        # What can refuse to run (a backend that cannot be built, a dead endpoint, no price
        # for max_cost) does so before the session is marked running. The agents and
        # LangGraph load only to run, and take seconds to import: in a thread beside the
        # check, so the event loop (a TUI, a progress bar) is not frozen meanwhile.
        checks = await anyio.to_thread.run_sync(self._check_and_load, limits)
        from coscientist.scheduler.loop import Scheduler

        self._checks = checks
        prices = {endpoint: check.price for endpoint, check in checks.items()}
        embedding = embedding_service(settings)  # a setting that cannot work fails here
        self.info = self.store.update_session(
            self.id,
            status=SessionStatus.RUNNING,
            limits=limits.model_dump(exclude_none=True),
            stop_reason=None,
            base_url=self.info.base_url,  # a new one from use_base_url, stored once it worked
            roles=self.info.roles,  # and the roles' endpoints from use_role_base_urls
        )
        reason = "interrupted"
        literature: LiteratureTools | None = None
        self._running = True
        try:
            literature = await self._literature()
            info = self.info
            scheduler = Scheduler(
                store=self.store,
                make_client=lambda gate, recorder: self._cs.make_models(
                    info, gate=gate, recorder=recorder, prices=prices
                ),
                info=info,
                bus=self.bus,
                inbox=self._inbox,
                concurrency=settings.concurrency,
                literature=literature,
                lease_seconds=settings.lease_seconds,
                max_tokens=settings.max_output_tokens,
                review_filter=settings.filters_reviews(
                    self._cs.session_roles(info).spec_of("reflection")
                ),
                queue_depth=settings.queue_depth,
                top_k=settings.top_k,
                graph_merge_threshold=settings.graph_merge_threshold,
                embedding=embedding,
            )
            self._scheduler = scheduler
            await self._load_model(scheduler.models)
            summary = await scheduler.run(limits)
            reason = summary.stop_reason
        except GoalRefusedError:
            reason = "refused"
            raise
        finally:
            self._running = False
            self._scheduler = None
            with anyio.CancelScope(shield=True):
                if literature is not None:
                    await literature.aclose()
                if reason == "refused":
                    self._discard()
                else:
                    self.info = self.store.update_session(
                        self.id, status=SessionStatus.STOPPED, stop_reason=reason
                    )
        return summary

    async def _load_model(self, client: ModelClient | ModelRouter) -> None:
        """A slow first step (reading weights) before the run's clock starts, told as events."""
        try:
            await client.load(self._say)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await client.aclose()  # the run that would close it never starts
            raise

    def _say(self, message: str, seconds: float | None = None) -> None:
        """A slow step's status for the displays: under way (seconds None), or done."""
        self.bus.emit("status", self.id, message, seconds=seconds)

    def use_base_url(self, base_url: str) -> None:
        """Run on another endpoint (the server moved): checked now, stored when a run starts."""
        self.info = self.info.model_copy(update={"base_url": check_base_url(base_url.rstrip("/"))})
        self._checks = None

    def use_role_base_urls(self, urls: Mapping[str, str]) -> None:
        """Move roles to other endpoints (llm/roles.py moved_roles): checked now, probed when a
        run starts, stored once that passed. A URL's password reaches the run only when this
        CoScientist's settings name the same URL (the store keeps it masked)."""
        roles = moved_roles(self.info.roles, self.info.model_spec, urls)
        self.info = self.info.model_copy(update={"roles": roles})
        self._checks = None

    def _check_and_load(self, limits: Limits) -> dict[Endpoint, ModelCheck]:
        """The check, while another thread imports the scheduler; a refusal need not wait."""
        loader = preload_scheduler()
        checks = self._check(limits)
        loader.join()
        return checks

    def _check(self, limits: Limits) -> dict[Endpoint, ModelCheck]:
        """The models' preflight: probed unless `start` did so moments ago in this process."""
        checks = self._checks
        return self._cs.check_models(
            self._cs.session_settings(self.info),
            self._cs.session_roles(self.info),
            limits.max_cost,
            probe=checks is None,
            served={e: c.model for e, c in checks.items()} if checks else None,
        )

    def _discard(self) -> None:
        """A refused goal leaves nothing behind, unless the session already holds work."""
        if self.store.count_hypotheses(self.id) == 0:
            self.store.delete_session(self.id)
        else:
            self.info = self.store.update_session(
                self.id, status=SessionStatus.STOPPED, stop_reason="goal refused"
            )

    def _effective_limits(self, limits: Limits | None, overrides: dict[str, Any]) -> Limits:
        stored = Limits(**self.info.limits) if self.info.limits else Limits()
        merged = stored.model_dump()
        if limits is not None:
            merged.update(limits.model_dump(exclude_none=True))
        merged.update({k: v for k, v in overrides.items() if v is not None})
        try:
            out = Limits(**merged)
        except ValueError as exc:
            raise ConfigError(f"bad limits: {exc}") from exc
        # max_cost alone keeps the call cap: an unknown or wrong price must not mean no limit.
        if out.max_calls is None and out.max_tokens is None and out.time_limit is None:
            out.max_calls = DEFAULT_MAX_CALLS
        return out

    async def _literature(self) -> LiteratureTools | None:
        """The literature tools of this run: off, on, or (the default) on when the services
        answer a preflight request; when none does, one line says so and the run goes on."""
        from coscientist.literature.session import open_literature

        tools, notice = await open_literature(
            self._cs.settings, cache_get=self.store.cache_get, cache_put=self.store.cache_put
        )
        if notice:
            self.bus.emit("literature", self.id, notice)
        return tools

    def pause(self) -> None:
        """Pause a run of this process: no new tasks start; running ones finish."""
        self._command(cmd.Pause(), "pause")
        self.info = self.store.update_session(self.id, status=SessionStatus.PAUSED)

    def resume(self) -> None:
        """Resume a paused run (to continue a stopped session, call run() again)."""
        self._command(cmd.Resume(), "resume")
        self.info = self.store.update_session(self.id, status=SessionStatus.RUNNING)

    def stop(self, reason: str = "stopped by the scientist") -> None:
        """Stop the run: running tasks finish, nothing new starts. Asked before the run has
        started (a Ctrl-C during start-up), the run stops as soon as it starts."""
        self._inbox.put(cmd.Stop(reason))

    def _command(self, command: cmd.Command, verb: str) -> None:
        if not self._running:
            raise ConfigError(f"this session is not running here: nothing to {verb}")
        self._inbox.put(command)

    def progress(self) -> RunProgress | None:
        """Counters and limits of this process's run of the session, read from memory (cheap).

        None when the session is not running here. Calls and tokens are session totals, as
        the budgets are; elapsed time is this run's.
        """
        scheduler = self._scheduler
        if scheduler is None:
            return None
        budget, state = scheduler.budget, scheduler.state
        best = live_best(state, scheduler.stopwatch.latest_fit or self._fit_for_display(state))
        return RunProgress(
            calls=budget.calls,
            tokens=budget.tokens,
            hypotheses=len(state.hypotheses),
            limits=budget.limits,
            elapsed_s=budget.elapsed(),
            best_title=best[0].title if best is not None else None,
            best_elo=best[1] if best is not None else None,
        )

    def _fit_for_display(self, state: SessionState) -> JudgeFit | None:
        """The judge fit the leaderboard would show, for a pool the stop rule has not fitted
        yet: without it the line showed TrueSkill's Elo (1490 for a hypothesis with three
        wins) and the final board, fitted, 1207 for the same one."""
        if not state.verdicts or len(state.policy_members) > DISPLAY_FIT_MAX:
            return None
        cached, now = self._display_fit, time.monotonic()
        if cached is not None and (
            cached[0] == state.matches_done or now - cached[1] < DISPLAY_FIT_SECONDS
        ):
            return cached[2]
        found = judge_fit.fit(
            state.verdicts,
            sorted(state.policy_members),
            previous=cached[2] if cached is not None else None,
            parents=state.lineage(),
        )
        self._display_fit = (state.matches_done, now, found)
        return found

    async def events(self) -> AsyncIterator[Event]:
        """Everything that happens in this process's runs of the session, as it happens."""
        async with self.bus.subscribe() as stream:
            async for event in stream:
                yield event


def live_best(state: SessionState, fit: JudgeFit | None) -> tuple[Hypothesis, float] | None:
    """The best hypothesis that has played, and its Elo, as a run's progress line shows them,
    by the rule the leaderboard follows (tournament/confidence.annotate). Up to
    judge_fit.MAX_FIT hypotheses: `fit`, the stop rule's latest judge fit (a few matches
    behind) or the one Session.progress makes before the rule's first; without any fit,
    TrueSkill's mean on the same scale, not its lower bound (the line said 684 for a
    hypothesis the final board put at 1208). Past MAX_FIT the board is
    TrueSkill's: its first that has played and its lower-bound Elo. None before any match."""
    if len(state.policy_members) > judge_fit.MAX_FIT:
        for hid in state.top_ids(LEADERS_SCANNED):  # the first of the board that has played
            leader = state.ratings[hid]
            if leader.matches:
                return state.hypotheses[hid], to_elo(leader.mu, leader.sigma)
        return None
    played = {
        hid: rating
        for hid in state.policy_members  # rankable: neither retired nor withheld
        if (rating := state.ratings.get(hid)) is not None and rating.matches > 0
    }
    if not played:
        return None
    if fit is not None:
        column = {hid: at for at, hid in enumerate(fit.ids)}
        known = [hid for hid in played if hid in column]
        if known:
            hid = fitted_order(known, fit)[0]
            return state.hypotheses[hid], bradley_terry.to_elo(float(fit.strength[column[hid]]))
    hid = max(played, key=lambda h: (played[h].mu, h))
    return state.hypotheses[hid], mean_elo(played[hid].mu)
