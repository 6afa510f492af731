"""The command line's role options: a model, base URL and concurrency per agent role.

One repeatable option per setting (`--role-model ranking=SPEC`) keeps `run --help`
readable with six roles; `--judge-model` and `--judge-base-url` are the shortcuts
for the ranking role, the one a stronger model helps most. What the options give
goes over the [roles.*] tables of the config file and COSCIENTIST_ROLES__* variables.
"""

from __future__ import annotations

from typing import Annotated

import typer

from coscientist.config import ROLES, Settings
from coscientist.llm.roles import plan_roles, roles_from_options

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
