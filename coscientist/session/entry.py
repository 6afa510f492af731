"""CoScientist, the API's entry point: opens the store, starts and reopens sessions, checks models.

A session's own running, reading and steering is Session's (research.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from coscientist.config import Limits, ModelPrice, Settings
from coscientist.embedding import check_embedder
from coscientist.errors import ConfigError
from coscientist.llm.base import Backend, Gate
from coscientist.llm.client import ModelClient
from coscientist.llm.preflight import ModelCheck, check_model, check_plan
from coscientist.llm.roles import Endpoint, RolePlan, plan_roles, restore_roles
from coscientist.llm.router import ClientOptions, ModelRouter, build_router
from coscientist.llm.spec import make_backend
from coscientist.redact import mask_secrets
from coscientist.safety import check_goal
from coscientist.schemas import (
    CallRecord,
    LeaderboardEntry,
    ResearchPlan,
    SessionInfo,
    new_id,
)
from coscientist.session.preload import preload_scheduler
from coscientist.session.research import Session
from coscientist.store.repository import Store


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
        """Create a session after checking its goal and its model (see coscientist.session).

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
