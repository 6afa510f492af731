"""The command line's role options: a model, base URL and concurrency per agent role.

One repeatable option per setting (`--role-model ranking=SPEC`) keeps `run --help`
readable with six roles; `--judge-model` and `--judge-base-url` are the shortcuts
for the ranking role, the one a stronger model helps most. What the options give
goes over the [roles.*] tables of the config file and COSCIENTIST_ROLES__* variables.
`resume` takes the endpoint options only: a session's judge (and its ratings) stays its own.
"""

from __future__ import annotations

from typing import Annotated

import typer

from coscientist.config import ROLES, RoleModel, Settings
from coscientist.errors import ConfigError

_ROLE_LIST = ", ".join(ROLES)

RoleModelOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--role-model",
        metavar="ROLE=SPEC",
        help=f"a role's own model (repeatable); roles: {_ROLE_LIST} (judge = ranking)",
    ),
]
RoleUrlOpt = Annotated[
    list[str] | None,
    typer.Option("--role-base-url", metavar="ROLE=URL", help="a role's own endpoint (repeatable)"),
]
RoleConcOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--role-concurrency", metavar="ROLE=N", help="a role's calls in flight (repeatable)"
    ),
]
JudgeModelOpt = Annotated[
    str | None,
    typer.Option("--judge-model", metavar="SPEC", help="the ranking judge's model"),
]
JudgeUrlOpt = Annotated[
    str | None,
    typer.Option("--judge-base-url", metavar="URL", help="the ranking judge's endpoint"),
]


def with_roles(
    settings: Settings,
    *,
    role_model: list[str] | None,
    role_base_url: list[str] | None,
    role_concurrency: list[str] | None,
    judge_model: str | None,
    judge_base_url: str | None,
) -> Settings:
    """`settings` with the options' role map; ConfigError (exit 2) on a bad role, spec or
    URL, before any store is opened."""
    from coscientist.llm.roles import plan_roles, roles_from_options

    roles = roles_from_options(
        settings.roles,
        models=role_model or (),
        base_urls=role_base_url or (),
        concurrency=role_concurrency or (),
        judge_model=judge_model,
        judge_base_url=judge_base_url,
    )
    settings = settings.model_copy(update={"roles": roles})
    plan_roles(settings)
    return settings


def endpoint_moves(role_base_url: list[str] | None, judge_base_url: str | None) -> dict[str, str]:
    """`resume`'s --role-base-url and --judge-base-url as role -> URL; ConfigError (exit 2)
    on a bad role or URL, before any store is opened."""
    from coscientist.llm.roles import parse_assignments
    from coscientist.llm.spec import check_base_url

    urls = parse_assignments(role_base_url or (), "--role-base-url")
    if judge_base_url is not None:
        urls["ranking"] = judge_base_url
    for role, url in urls.items():
        try:
            check_base_url(url.strip())
        except ConfigError as exc:
            raise ConfigError(f"role {role}: {exc}") from None
    return {role: url.strip().rstrip("/") for role, url in urls.items()}


def with_moves(settings: Settings, moves: dict[str, str]) -> Settings:
    """`settings` naming the moved URLs in full: the store keeps a URL's password masked, and
    a run takes the full URL back from its settings (llm/roles.py restore_roles)."""
    roles = {role: item.model_copy() for role, item in settings.roles.items()}
    for role, url in moves.items():
        roles[role] = roles.get(role, RoleModel()).model_copy(update={"base_url": url})
    return settings.model_copy(update={"roles": roles})
