"""A model per role: which endpoint serves each agent role, resolved once per run.

A role without a model of its own (Settings.roles, a session's stored role map)
uses the session's model. Roles naming the same spec and base URL (and key)
share one endpoint, so two roles on the embedded model share one loaded Llama.
Nothing here reaches a model: router.py builds the clients, preflight.py probes.

Keys come from the environment only: COSCIENTIST_<ROLE>_API_KEY for a role, else
the session's key. The map a session stores (`stored_roles`) holds no key.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from coscientist.config import OPTIONAL_ROLES, ROLES, RoleModel, Settings, role_name
from coscientist.errors import ConfigError
from coscientist.llm.spec import check_base_url, parse_spec
from coscientist.redact import mask_secrets

# Which role each scheduler task kind (schemas.TaskKind values) calls the model as.
TASK_ROLES = {
    "generate": "generation",
    "review": "reflection",
    "match": "ranking",
    "evolve": "evolution",
    "meta_review": "meta_review",
    "graph": "graph",
}


def role_key_variable(role: str) -> str:
    return f"COSCIENTIST_{role.upper()}_API_KEY"


@dataclass(frozen=True)
class Endpoint:
    """A model a run talks to: spec, base URL (openai-compatible only) and key."""

    spec: str
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        """How provenance and reports name it: no key, the URL's password masked."""
        return f"{self.spec} @ {mask_secrets(self.base_url)}" if self.base_url else self.spec

    def settings(self, base: Settings, concurrency: int | None) -> Settings:
        """`base` with this endpoint's model; the key stays in memory (a SecretStr)."""
        update: dict[str, object] = {
            "model": self.spec,
            "base_url": self.base_url,
            "concurrency": concurrency,
        }
        if self.api_key is not None:
            from pydantic import SecretStr

            update["api_key"] = SecretStr(self.api_key)
        return base.model_copy(update=update)


@dataclass(frozen=True)
class RolePlan:
    """The session's model, and the roles that have their own."""

    default: Endpoint
    default_concurrency: int | None
    overrides: Mapping[str, RoleModel]
    endpoints_by_role: Mapping[str, Endpoint]

    def endpoint(self, role: str) -> Endpoint:
        """The endpoint of a role; an unknown role (intake, chat) uses the session's model."""
        return self.endpoints_by_role.get(role, self.default)

    def concurrency(self, role: str) -> int | None:
        """A role's own concurrency; else the session's on the session's model, and the
        backend's default (None) on a model of its own, which is sized to that backend."""
        item = self.overrides.get(role)
        if item is not None and item.concurrency is not None:
            return item.concurrency
        return self.default_concurrency if self.endpoint(role) == self.default else None

    def endpoints(self) -> list[Endpoint]:
        """Distinct endpoints, the session's first."""
        seen = [self.default]
        for role in ROLES:
            found = self.endpoint(role)
            if found not in seen:
                seen.append(found)
        return seen

    def roles_of(self, endpoint: Endpoint) -> list[str]:
        return [role for role in active_roles(self.overrides) if self.endpoint(role) == endpoint]

    def endpoint_concurrency(self, endpoint: Endpoint) -> int | None:
        """The calls an endpoint takes at once: the largest of its roles' (None, the backend's
        default, when any of them has no number). The session's model keeps the session's
        concurrency even when every role has moved elsewhere."""
        wanted = [self.concurrency(role) for role in self.roles_of(endpoint)]
        if endpoint == self.default:
            wanted.append(self.default_concurrency)
        if not wanted or any(value is None for value in wanted):
            return None
        return max(value for value in wanted if value is not None)

    def role_limits(self, endpoint: Endpoint) -> dict[str, int]:
        """Roles on `endpoint` with a concurrency of their own below the endpoint's."""
        cap = self.endpoint_concurrency(endpoint)
        limits = {}
        for role in self.roles_of(endpoint):
            own = self.overrides.get(role)
            if own is not None and own.concurrency is not None:
                if cap is None or own.concurrency < cap:
                    limits[role] = own.concurrency
        return limits

    def spec_of(self, role: str) -> str:
        return self.endpoint(role).spec

    def stored_roles(self) -> dict[str, RoleModel]:
        """The role map as a session keeps it: what each role set, its URL's password masked."""
        out = {}
        for role in ROLES:
            item = self.overrides.get(role)
            if item is not None:
                url = mask_secrets(item.base_url) if item.base_url else None
                out[role] = item.model_copy(update={"base_url": url})
        return out


def _needs_url(spec: str) -> bool:
    return parse_spec(spec).kind == "openai-compatible"


def _resolve(
    role: str, item: RoleModel, model: str, base_url: str | None
) -> tuple[str, str | None]:
    """A role's spec and base URL over the session's (`model`, `base_url`)."""
    if role not in ROLES:
        raise ConfigError(f"unknown role {role!r}: the roles are {', '.join(ROLES)}")
    spec = (item.model or model).strip()
    try:
        parse_spec(spec)
    except ConfigError as exc:
        raise ConfigError(f"role {role}: {exc}") from None
    if not _needs_url(spec):
        return spec, None
    url = item.base_url or base_url
    if not url:
        raise ConfigError(
            f"role {role}: {spec} needs a base URL "
            f"(--role-base-url {role}=URL, or base_url in [roles.{role}])"
        )
    try:
        check_base_url(url)
    except ConfigError as exc:
        raise ConfigError(f"role {role}: {exc}") from None
    return spec, url


def plan_roles(
    settings: Settings,
    overrides: Mapping[str, RoleModel] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> RolePlan:
    """Resolve every role's endpoint from `settings` (the session's model) and `overrides`
    (settings.roles when None). Raises ConfigError on a bad spec or URL, naming the role."""
    env = os.environ if environ is None else environ
    roles = dict(settings.roles if overrides is None else overrides)
    parse_spec(settings.model)
    default_url = settings.base_url if _needs_url(settings.model) else None
    default = Endpoint(settings.model.strip(), default_url, settings.api_key_value())
    by_role: dict[str, Endpoint] = {}
    for role, item in roles.items():
        spec, url = _resolve(role, item, settings.model, settings.base_url)
        key = env.get(role_key_variable(role)) or settings.api_key_value()
        by_role[role] = Endpoint(spec, url, key)
    return RolePlan(
        default=default,
        default_concurrency=settings.concurrency,
        overrides=roles,
        endpoints_by_role=by_role,
    )


def role_labels(model: str, base_url: str | None, roles: Mapping[str, RoleModel]) -> dict[str, str]:
    """Role -> the model it uses, as provenance names it (Endpoint.label), from a session's
    stored spec, URL and role map; a map that no longer parses shows as stored."""
    default = Endpoint(model, base_url if base_url and _needs_url_safe(model) else None).label
    out = {}
    for role in active_roles(roles):
        item = roles.get(role)
        if item is None:
            out[role] = default
            continue
        try:
            spec, url = _resolve(role, item, model, base_url)
        except ConfigError:
            spec, url = item.model or model, item.base_url
        out[role] = Endpoint(spec, url).label
    return out


def active_roles(overrides: Mapping[str, RoleModel]) -> list[str]:
    """The roles at work: every role, but an optional one (the audit's second judge) only once
    it was given a model."""
    return [role for role in ROLES if role not in OPTIONAL_ROLES or role in overrides]


def _needs_url_safe(spec: str) -> bool:
    try:
        return _needs_url(spec)
    except ConfigError:
        return False


def parse_assignments(values: Iterable[str], option: str) -> dict[str, str]:
    """`ROLE=VALUE` items of a repeatable option; ConfigError on a missing `=` or bad role."""
    out: dict[str, str] = {}
    for raw in values:
        name, eq, value = raw.partition("=")
        role = role_name(name)
        if not eq or not name.strip() or not value.strip():
            raise ConfigError(f"{option} {raw!r}: use {option} ROLE=VALUE, e.g. ranking=...")
        if role not in ROLES:
            raise ConfigError(
                f"{option} {raw!r}: unknown role {name.strip()!r}; the roles are {', '.join(ROLES)}"
            )
        out[role] = value.strip()
    return out


def roles_from_options(
    configured: Mapping[str, RoleModel],
    *,
    models: Iterable[str] = (),
    base_urls: Iterable[str] = (),
    concurrency: Iterable[str] = (),
    judge_model: str | None = None,
    judge_base_url: str | None = None,
) -> dict[str, RoleModel]:
    """The configured role map (TOML, environment) with the command line's options over it."""
    merged = {role: item.model_copy() for role, item in configured.items()}
    updates: dict[str, dict[str, object]] = {}
    for role, value in parse_assignments(models, "--role-model").items():
        updates.setdefault(role, {})["model"] = value
    for role, value in parse_assignments(base_urls, "--role-base-url").items():
        updates.setdefault(role, {})["base_url"] = value.rstrip("/")
    for role, value in parse_assignments(concurrency, "--role-concurrency").items():
        try:
            number = int(value)
            if not 1 <= number <= 4096:
                raise ValueError
        except ValueError:
            raise ConfigError(
                f"--role-concurrency {role}={value}: use a whole number from 1 to 4096"
            ) from None
        updates.setdefault(role, {})["concurrency"] = number
    if judge_model is not None:
        updates.setdefault("ranking", {})["model"] = judge_model.strip()
    if judge_base_url is not None:
        updates.setdefault("ranking", {})["base_url"] = judge_base_url.strip().rstrip("/")
    for role, change in updates.items():
        current = merged.get(role, RoleModel())
        merged[role] = current.model_copy(update=change)
    return merged


def restore_roles(
    stored: Mapping[str, RoleModel], given: Mapping[str, RoleModel]
) -> dict[str, RoleModel]:
    """A stored role map with the full base URLs this process was given back in place.

    The store masks URL passwords; when the configuration (TOML, environment, options)
    names the same URL in full for a role, that one is used, as for the session's URL.
    """
    out = {}
    for role, item in stored.items():
        url = item.base_url
        mine = given.get(role)
        if url and mine is not None and mine.base_url and mask_secrets(mine.base_url) == url:
            item = item.model_copy(update={"base_url": mine.base_url})
        out[role] = item
    return out


def moved_roles(
    stored: Mapping[str, RoleModel], model: str, urls: Mapping[str, str]
) -> dict[str, RoleModel]:
    """A session's role map with some roles on other endpoints (`resume --role-base-url`).

    Only the endpoint moves: a role keeps its model (its ratings belong to that judge), so
    a role whose model is not openai-compatible has no endpoint to move. ConfigError names
    the role on a bad URL or such a role.
    """
    out = {role: item.model_copy() for role, item in stored.items()}
    for name, url in urls.items():
        role = role_name(name)
        if role not in ROLES:
            raise ConfigError(f"unknown role {name!r}: the roles are {', '.join(ROLES)}")
        item = out.get(role, RoleModel())
        spec = (item.model or model).strip()
        if not _needs_url_safe(spec):
            raise ConfigError(
                f"role {role} uses {spec}, which has no endpoint to move "
                "(a base URL serves openai-compatible models only)"
            )
        try:
            check_base_url(url.strip())
        except ConfigError as exc:
            raise ConfigError(f"role {role}: {exc}") from None
        out[role] = item.model_copy(update={"base_url": url.strip().rstrip("/")})
    return out
