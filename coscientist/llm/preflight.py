"""Before a session exists: is the model usable at all, and what does a call cost?

A wrong URL, a missing key or an unknown model used to show only once the run
had retried every call until its budget was gone. `check_model` fails fast
instead: the spec parses, the backend can be built, and an OpenAI-compatible
endpoint answers one cheap request (`GET /models`, or a one-token completion
when that says nothing) with our key. Unreachable, 401/403, 404 or a malformed
URL raise the ModelError or ConfigError naming the cause. With `max_cost` set,
the model must have a price (pricing.py).

The probe runs its own event loop on a worker thread, so `CoScientist.start`
(synchronous) can call it from plain code and from inside a running loop alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import anyio

from coscientist.config import ModelPrice, Settings
from coscientist.errors import CoscientistError, ModelUnauthorizedError
from coscientist.llm.pricing import price_for, require_price
from coscientist.llm.roles import Endpoint, RolePlan, role_key_variable
from coscientist.llm.spec import ModelSpec, check_base_url, make_backend, parse_spec

PROBE_TIMEOUT = 30.0  # seconds, at most: the probe is one small request


@dataclass(frozen=True)
class ModelCheck:
    spec: ModelSpec
    model: str | None  # the model id calls will use, when known (served or named)
    price: ModelPrice | None  # None: unknown (refused when max_cost is set)


def check_model(
    settings: Settings,
    *,
    max_cost: float | None = None,
    probe: bool = True,
    served: str | None = None,
) -> ModelCheck:
    """Raise ConfigError or a ModelError if `settings.model` cannot serve a session.

    `probe=False` skips the network request (the endpoint was checked moments ago,
    or a backend was injected); `served` is the model id an earlier probe found.
    """
    spec = parse_spec(settings.model)
    model = spec.target or served
    if spec.kind == "openai-compatible":
        check_base_url(settings.base_url)
        if probe:
            model = _in_thread(settings)
    elif probe:
        make_backend(settings)  # a missing GGUF file or no GPU fails here, before the session
    if max_cost is not None:
        price: ModelPrice | None = require_price(settings, spec.kind, model)
    else:
        price = price_for(settings, spec.kind, model)
    return ModelCheck(spec=spec, model=model, price=price)


def _in_thread(settings: Settings) -> str:
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="coscientist-probe") as pool:
        return pool.submit(anyio.run, _probe, settings).result()


async def _probe(settings: Settings) -> str:
    from coscientist.llm.openai_compat import OpenAICompatibleBackend

    spec = parse_spec(settings.model)
    assert settings.base_url is not None
    backend = OpenAICompatibleBackend(
        settings.base_url,
        model=spec.target,
        api_key=settings.api_key_value(),
        timeout=min(settings.request_timeout, PROBE_TIMEOUT),
    )
    try:
        return await backend.probe()
    finally:
        await backend.aclose()


def check_plan(
    settings: Settings,
    plan: RolePlan,
    *,
    max_cost: float | None = None,
    probe: bool = True,
    served: Mapping[Endpoint, str | None] | None = None,
    probe_default: bool = True,
) -> dict[Endpoint, ModelCheck]:
    """`check_model` for every distinct endpoint of a role plan, the session's first.

    An error on a role's own model names the roles that use it, so the user knows which
    option or [roles.*] table to fix. `probe_default=False`: the session's model is
    someone else's business (an injected backend).
    """
    checks: dict[Endpoint, ModelCheck] = {}
    for endpoint in plan.endpoints():
        known = (served or {}).get(endpoint)
        probed = probe and (probe_default or endpoint != plan.default)
        checks[endpoint] = check_endpoint(
            settings, plan, endpoint, max_cost=max_cost, probe=probed, served=known
        )
    return checks


def check_endpoint(
    settings: Settings,
    plan: RolePlan,
    endpoint: Endpoint,
    *,
    max_cost: float | None = None,
    probe: bool = True,
    served: str | None = None,
) -> ModelCheck:
    """`check_model` on one endpoint of `plan`; an error on a role's own model names the
    roles that use it (`coscientist doctor` reports every endpoint this way)."""
    try:
        return check_model(
            endpoint.settings(settings, None), max_cost=max_cost, probe=probe, served=served
        )
    except CoscientistError as exc:
        if endpoint == plan.default:
            raise
        roles = plan.roles_of(endpoint)
        message = f"role {', '.join(roles)} ({endpoint.label}): {exc}"
        if isinstance(exc, ModelUnauthorizedError):
            keys = " or ".join(role_key_variable(role) for role in roles)
            message += f" (a role's own key: {keys})"
        named = type(exc)(message)
        named.__dict__.update(exc.__dict__)
        raise named from None
