"""The public Python API: CoScientist opens a store and a model; Session runs and steers one goal.

    from coscientist import CoScientist, Limits
    cs = CoScientist()                       # Settings from COSCIENTIST_* and the config file
    session = cs.start("Why do some tumours resist ...")
    summary = await session.run(Limits(max_calls=40))
    for entry in session.leaderboard(top=5): ...

`run_objective(goal, **limits)` does the same synchronously, for scripts and notebooks.

`start` checks the model before it creates the session (coscientist/llm/preflight.py):
an OpenAI-compatible endpoint that cannot be reached, refuses the key or does not
serve the model raises a ModelError, a model without a price while `max_cost` is set
a ConfigError, and no session is left behind. `run` checks again when the session
comes from the store (a resume), before it marks the session running.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import anyio

from coscientist.config import Limits, ModelPrice, Settings
from coscientist.embedding import check_embedder, embedding_service
from coscientist.errors import ConfigError, CoscientistError, GoalRefusedError
from coscientist.events import EventBus
from coscientist.llm.base import Backend, Gate
from coscientist.llm.client import ModelClient
from coscientist.llm.preflight import ModelCheck, check_model, check_plan
from coscientist.llm.roles import Endpoint, RolePlan, moved_roles, plan_roles, restore_roles
from coscientist.llm.router import ClientOptions, ModelRouter, build_router
from coscientist.llm.spec import check_base_url, make_backend
from coscientist.redact import mask_secrets
from coscientist.run_status import RunProgress
from coscientist.safety import check_goal
from coscientist.scheduler import Inbox, RunSummary
from coscientist.scheduler import commands as cmd
from coscientist.scheduler.method import screen_hypothesis
from coscientist.schemas import (
    Answer,
    CallRecord,
    Event,
    Hypothesis,
    HypothesisDraft,
    HypothesisStatus,
    LeaderboardEntry,
    Observation,
    ResearchPlan,
    Review,
    ReviewDraft,
    ReviewKind,
    SessionInfo,
    SessionStatus,
    new_id,
    utcnow,
)
from coscientist.store.ranked import ranked
from coscientist.store.repository import Store
from coscientist.tournament.confidence import DEFAULT_K, TopConfidence
from coscientist.tournament.ratings import to_elo

if TYPE_CHECKING:
    from coscientist.literature import LiteratureTools
    from coscientist.scheduler.loop import Scheduler

DEFAULT_MAX_CALLS = 200  # when a run is given no budget at all


class CoScientist:
    """Entry point: one store, one model configuration."""

    def __init__(self, settings: Settings | None = None, *, backend: Backend | None = None) -> None:
        self.settings = settings or Settings()
        self.store = Store.open(self.settings.db)
        self._backend = backend  # tests and benchmarks inject a backend; else built from the spec

    def start(
        self,
        goal: str,
        *,
        preferences: str = "",
        limits: Limits | None = None,
        seed: int | None = None,
        plan: ResearchPlan | None = None,
    ) -> Session:
        """Create a session after checking its goal and its model (see the module docstring).

        The goal passes our safety screen first (GoalRefusedError, and no session, for one that
        seeks serious harm); `plan` holds what the scientist already wants of the research plan,
        which the first run completes with the model."""
        goal = goal.strip()
        if not goal:
            raise ConfigError("the research goal is empty: say what you want to find out")
        check_goal(goal)
        check_embedder(self.settings)
        preload_scheduler()  # a started session is about to run: overlap the import with the probe
        limits = limits or self.settings.limits
        roles = plan_roles(self.settings)  # a bad role spec or URL fails here, before any probe
        checks = self.check_models(self.settings, roles, limits.max_cost)
        info = SessionInfo(
            id=new_id(),
            goal=goal,
            model_spec=self.settings.model,
            base_url=self.settings.base_url,
            seed=self.settings.seed if seed is None else seed,
            limits=limits.model_dump(exclude_none=True),
            preferences=preferences,
            plan=plan if plan is not None and not plan.is_empty() else None,
            roles=roles.stored_roles(),
        )
        session = Session(self, self.store.create_session(info))
        session._checks = checks
        return session

    def check_model(
        self,
        settings: Settings,
        max_cost: float | None,
        *,
        probe: bool = True,
        served: str | None = None,
    ) -> ModelCheck:
        """The preflight; an injected backend is the caller's business and is not probed."""
        return check_model(
            settings, max_cost=max_cost, probe=probe and self._backend is None, served=served
        )

    def check_models(
        self,
        settings: Settings,
        roles: RolePlan,
        max_cost: float | None,
        *,
        probe: bool = True,
        served: dict[Endpoint, str | None] | None = None,
    ) -> dict[Endpoint, ModelCheck]:
        """The preflight of every model the roles use (llm/preflight.py check_plan); an
        injected backend stands in for the session's model and is not probed."""
        return check_plan(
            settings,
            roles,
            max_cost=max_cost,
            probe=probe,
            served=served,
            probe_default=self._backend is None,
        )

    def session_roles(self, info: SessionInfo) -> RolePlan:
        """The models of a session's roles: its stored role map over its own model."""
        return plan_roles(self.session_settings(info))

    def session_settings(self, info: SessionInfo) -> Settings:
        """Settings for running a session: its own model spec and base URL.

        The store keeps the base URL with its password masked; when this process was
        given the same URL in full (--base-url, COSCIENTIST_BASE_URL), that one is used.
        """
        base_url = info.base_url
        given = self.settings.base_url
        if base_url and given and base_url != given and mask_secrets(given) == base_url:
            base_url = given
        roles = restore_roles(info.roles, self.settings.roles)
        return self.settings.model_copy(
            update={"model": info.model_spec, "base_url": base_url, "roles": roles}
        )

    def session(self, session_id: str) -> Session:
        return Session(self, self.store.get_session(session_id))

    def sessions(self) -> list[SessionInfo]:
        return self.store.list_sessions()

    def make_client(
        self,
        info: SessionInfo,
        *,
        gate: Gate | None = None,
        recorder: Callable[[CallRecord], Awaitable[None]] | None = None,
        price: ModelPrice | None = None,
    ) -> ModelClient:
        """A model client for a session: its own spec and base URL, the key from the environment.

        `gate` and `recorder` come from the run's budget (a scheduler builds its client);
        `price` from the preflight (None: calls are recorded without a cost).
        """
        settings = self.session_settings(info)
        backend = self._backend or make_backend(settings)
        return ModelClient(
            backend,
            concurrency=settings.concurrency,
            repair_attempts=settings.repair_attempts,
            transport_retries=settings.transport_retries,
            max_tokens=settings.max_output_tokens,
            seed=info.seed,
            gate=gate,
            recorder=recorder,
            price=price,
        )

    def make_models(
        self,
        info: SessionInfo,
        *,
        gate: Gate | None = None,
        recorder: Callable[[CallRecord], Awaitable[None]] | None = None,
        prices: dict[Endpoint, ModelPrice | None] | None = None,
    ) -> ModelRouter:
        """A client per distinct model of the session's roles (llm/router.py), all on one
        budget gate and call recorder; `prices` from the preflight."""
        settings = self.session_settings(info)
        return build_router(
            plan_roles(settings),
            settings,
            ClientOptions(gate=gate, recorder=recorder, seed=info.seed),
            prices or {},
            default_backend=self._backend,
        )

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> CoScientist:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


SCHEDULER_MODULE = "coscientist.scheduler.loop"
_preloading: list[threading.Thread] = []


def preload_scheduler() -> threading.Thread:
    """Import the scheduler (the agents, LangGraph: seconds of imports) in a daemon thread.

    Started when a session is created or about to run, so the import overlaps the model's
    preflight instead of freezing the event loop. Returns the thread to join (once per
    process; joining a finished thread costs nothing).
    """
    if not _preloading:
        loader = threading.Thread(
            target=importlib.import_module, args=(SCHEDULER_MODULE,), daemon=True
        )
        loader.start()
        _preloading.append(loader)
    return _preloading[0]


class Session:
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

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def store(self) -> Store:
        return self._cs.store

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

    def _tell(self, command: cmd.Command) -> None:
        """Tell a running loop about a change already written to the store."""
        if self._running:
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
        top = state.top()
        best = top[0] if top else None
        rating = state.ratings.get(best.id) if best is not None else None
        if rating is None or rating.matches == 0:  # before any match, "best" means nothing
            best = rating = None
        return RunProgress(
            calls=budget.calls,
            tokens=budget.tokens,
            hypotheses=len(state.hypotheses),
            limits=budget.limits,
            elapsed_s=budget.elapsed(),
            best_title=best.title if best is not None else None,
            best_elo=to_elo(rating.mu, rating.sigma) if rating is not None else None,
        )

    async def events(self) -> AsyncIterator[Event]:
        """Everything that happens in this process's runs of the session, as it happens."""
        async with self.bus.subscribe() as stream:
            async for event in stream:
                yield event

    # --- reading --------------------------------------------------------------------

    def leaderboard(self, top: int | None = None) -> list[LeaderboardEntry]:
        """Best first by the judge fit's rating (store/ranked.py); `in_top` is each one's
        chance of truly belonging among the top 10 (tournament/confidence.py)."""
        board, _ = ranked(self.store, self.id, seed=self.info.seed)
        return board if top is None else board[: max(top, 0)]

    def confidence(self, k: int = DEFAULT_K) -> TopConfidence:
        """How sure the tournament is of its top k, from every verdict so far."""
        _, found = ranked(self.store, self.id, k, seed=self.info.seed)
        return found

    def hypothesis(self, hypothesis_id: str) -> Hypothesis:
        return self.store.get_hypothesis(hypothesis_id, session_id=self.id)

    def hypotheses(self) -> list[Hypothesis]:
        return self.store.list_hypotheses(self.id)

    def reviews(self, hypothesis_id: str | None = None) -> list[Review]:
        return self.store.list_reviews(self.id, hypothesis_id=hypothesis_id)

    # --- the scientist in the loop --------------------------------------------------------

    def add_hypothesis(self, text: str, *, title: str | None = None) -> Hypothesis:
        """The scientist's own hypothesis: reviewed and ranked like any other.

        It is pinned, so a reviewer's reject does not take it out of the tournament.
        """
        text = text.strip()
        if not text:
            raise ConfigError("the hypothesis text is empty")
        draft = HypothesisDraft(
            title=(title or text.split(".")[0])[:120], statement=text, origin="scientist"
        )
        h = Hypothesis(**draft.model_dump(), id=new_id(), session_id=self.id, pinned=True)
        verdict = screen_hypothesis(h)  # the safety gate holds for the scientist's ideas too
        if not verdict.safe:
            h.status, h.status_reason = HypothesisStatus.UNSAFE, verdict.reason
        self.store.add_hypotheses([h])
        self._tell(cmd.AddHypothesis(h))
        return h

    def add_review(
        self,
        hypothesis_id: str,
        text: str,
        *,
        passed: bool = True,
        scores: dict[str, float] | None = None,
    ) -> Review:
        h = self.hypothesis(hypothesis_id)
        draft = ReviewDraft(
            hypothesis_id=h.id,
            kind=ReviewKind.SCIENTIST,
            passed=passed,
            scores=scores or {},
            summary=text,
            author="scientist",
        )
        review = self.store.add_review(self.id, draft)
        self._tell(cmd.AddReview(review))
        return review

    def refine_goal(self, goal: str) -> None:
        if not goal.strip():
            raise ConfigError("the research goal is empty")
        check_goal(goal)
        self.info = self.store.update_session(self.id, goal=goal.strip())
        self._tell(cmd.RefineGoal(goal.strip()))

    def set_preferences(self, preferences: str) -> None:
        self.info = self.store.update_session(self.id, preferences=preferences)
        self._tell(cmd.SetPreferences(preferences))

    @property
    def plan(self) -> ResearchPlan:
        """The research plan as stored (empty before the first run has drafted it)."""
        return self.info.plan or ResearchPlan()

    def set_plan(self, plan: ResearchPlan) -> ResearchPlan:
        """Replace the research plan; tasks that start from now on use it."""
        plan = plan.model_copy(update={"edited_at": utcnow()})
        self.info = self.store.update_session(self.id, plan=plan)
        self._tell(cmd.SetPlan(plan))
        return plan

    def update_plan(
        self,
        *,
        objective: str | None = None,
        preferences: Sequence[str] = (),
        constraints: Sequence[str] = (),
        attributes: Sequence[str] = (),
        out_of_scope: Sequence[str] = (),
        replace: bool = False,
    ) -> ResearchPlan:
        """Add items to the plan's lists (with `replace`, the lists given replace the stored
        ones); what is not given is kept."""
        self.info = self.store.get_session(self.id)
        lists = {
            "preferences": preferences,
            "constraints": constraints,
            "attributes": attributes,
            "out_of_scope": out_of_scope,
        }
        plan = self.plan.edited(lists, objective=objective, replace=replace)
        return self.set_plan(plan)

    def add_observation(self, text: str, *, source: str = "scientist") -> Observation:
        """A finding for observation reviews to check hypotheses against."""
        text = " ".join(text.split())
        if not text:
            raise ConfigError("the observation is empty")
        observation = self.store.add_observation(self.id, text, source)
        self._tell(cmd.AddObservation(observation))
        return observation

    def observations(self) -> list[Observation]:
        return self.store.list_observations(self.id)

    def pin(self, hypothesis_id: str, pinned: bool = True) -> None:
        h = self.hypothesis(hypothesis_id)
        self.store.set_pinned(h.id, pinned)
        self._tell(cmd.SetPinned(h.id, pinned))

    def retire(self, hypothesis_id: str) -> None:
        h = self.hypothesis(hypothesis_id)
        self.store.set_hypothesis_status(h.id, HypothesisStatus.RETIRED)
        self._tell(cmd.SetStatus(h.id, HypothesisStatus.RETIRED))

    # --- talking to the session (coscientist/conversation) ---------------------------------

    async def ask(self, question: str) -> Answer:
        """Answer a question from the session's stored state, citing hypothesis ids; stored.

        One call on the session's model, checked first like a run's (not counted in a
        running loop's budget, but recorded with the session's calls)."""
        from coscientist import conversation

        question = conversation.check_question(question)
        checked = await anyio.to_thread.run_sync(
            lambda: self._cs.check_model(self._cs.session_settings(self.info), None)
        )
        info = self.store.get_session(self.id)
        answer, _ = await conversation.ask(
            self.store,
            info,
            question,
            lambda recorder: self._cs.make_client(info, recorder=recorder, price=checked.price),
        )
        self.bus.emit("answer", self.id, f"answered: {answer.question}", id=answer.id)
        return answer

    def answers(self, limit: int | None = None) -> list[Answer]:
        """Questions asked and their answers, oldest first."""
        return self.store.list_answers(self.id, limit)

    def apply_follow_up(self, answer_id: str) -> Answer:
        """Turn an answer's proposed next step into a refined goal, a plan preference, a review
        or a hypothesis, through the methods above; the answer records what it became."""
        from coscientist import conversation

        return conversation.apply(self, self.store, self.store.get_answer(self.id, answer_id))


def run_objective(
    goal: str, *, settings: Settings | None = None, backend: Backend | None = None, **limits: Any
) -> tuple[SessionInfo, list[LeaderboardEntry]]:
    """Synchronous helper: run one goal to a stop rule and return the session and its leaderboard."""
    try:
        lim = Limits(**limits)
    except ValueError as exc:
        raise ConfigError(f"bad limits: {exc}") from exc

    async def _main() -> tuple[SessionInfo, list[LeaderboardEntry]]:
        with CoScientist(settings, backend=backend) as cs:
            session = cs.start(goal, limits=lim)
            await session.run()
            return session.info, session.leaderboard()

    return anyio.run(_main)


__all__ = ["CoScientist", "CoscientistError", "Limits", "Session", "run_objective"]
