"""The clients of a run, one per distinct endpoint, and which role calls which.

Built once per run from a RolePlan (roles.py): every client gets the run's one
budget gate and call recorder, so max_calls, max_tokens and max_cost count the
calls of every model. A run with one model has one client, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from coscientist.config import ModelPrice, Settings
from coscientist.llm.base import Backend, Gate, Recorder
from coscientist.llm.client import ModelClient
from coscientist.llm.roles import Endpoint, RolePlan
from coscientist.llm.spec import make_backend

Prices = Mapping[Endpoint, ModelPrice | None]


class ModelRouter:
    """Role -> ModelClient. Roles it was not told about (intake, chat) use the default."""

    def __init__(self, default: ModelClient, by_role: Mapping[str, ModelClient] | None = None):
        self.default = default
        self._by_role = dict(by_role or {})

    @classmethod
    def single(cls, client: ModelClient) -> ModelRouter:
        return cls(client)

    def for_role(self, role: str) -> ModelClient:
        return self._by_role.get(role, self.default)

    def own(self, role: str) -> ModelClient | None:
        """The client of a role given a model of its own, or None (it uses the default)."""
        return self._by_role.get(role)

    @property
    def clients(self) -> list[ModelClient]:
        """Distinct clients, the default first."""
        return self.serving(self._by_role)

    def serving(self, roles: Iterable[str]) -> list[ModelClient]:
        """Distinct clients of the default and `roles` (the task roles: a client only the
        audit's second judge uses runs inside match tasks and needs no task slots of its own)."""
        out = [self.default]
        for role in roles:
            client = self.for_role(role)
            if all(client is not seen for seen in out):
                out.append(client)
        return out

    def roles_of(self, client: ModelClient) -> list[str]:
        return [role for role, c in self._by_role.items() if c is client]

    @property
    def concurrency(self) -> int:
        """Calls all models take at once (a run's task slots count only the models its tasks run
        on: scheduler/base.py with `serving`)."""
        return sum(client.concurrency for client in self.clients)

    @property
    def max_in_flight(self) -> int:
        """The sum of each model's peak of calls in flight (an upper bound on the joint peak)."""
        return sum(client.max_in_flight for client in self.clients)

    @property
    def waiting(self) -> int:
        """Calls waiting for a slot of their model or role, across all models."""
        return sum(client.waiting for client in self.clients)

    async def load(self, on_status: Callable[[str, float | None], None]) -> None:
        """Load every model with a slow first step, one after the other."""
        for client in self.clients:
            await client.load(on_status)

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()


@dataclass(frozen=True)
class ClientOptions:
    """What every client of a run shares."""

    gate: Gate | None
    recorder: Recorder | None
    seed: int | None


def build_router(
    plan: RolePlan,
    settings: Settings,
    options: ClientOptions,
    prices: Prices,
    *,
    default_backend: Backend | None = None,
) -> ModelRouter:
    """One client per distinct endpoint of `plan`; `default_backend` (tests, benchmarks)
    stands in for the session's own model only."""
    clients: dict[Endpoint, ModelClient] = {}
    for endpoint in plan.endpoints():
        # Building opens nothing yet (weights load in `load`, HTTP on the first call).
        own = endpoint.settings(settings, plan.endpoint_concurrency(endpoint))
        backend = default_backend if endpoint == plan.default else None
        clients[endpoint] = ModelClient(
            backend or make_backend(own),
            concurrency=own.concurrency,
            repair_attempts=settings.repair_attempts,
            transport_retries=settings.transport_retries,
            max_tokens=settings.max_output_tokens,
            seed=options.seed,
            gate=options.gate,
            recorder=options.recorder,
            price=prices.get(endpoint),
            label=endpoint.label,
            role_limits=plan.role_limits(endpoint),
        )
    by_role = {role: clients[plan.endpoint(role)] for role in plan.endpoints_by_role}
    return ModelRouter(clients[plan.default], by_role)
