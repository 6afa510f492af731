"""The command line's shared options, and how their values become Settings and Limits.

Kept out of cli.py so that it stays a list of commands. A bad value (from an option,
a COSCIENTIST_ variable or the config file) is a ConfigError naming where to fix it.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from pydantic import ValidationError

from coscientist.config import Limits, Settings, config_file
from coscientist.errors import ConfigError

DbOpt = Annotated[
    str | None, typer.Option("--db", help="store URL (sqlite:///PATH or postgresql://...)")
]
ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model", help="embedded, gguf:PATH, openai-compatible[:MODEL], vllm:MODEL, scripted"
    ),
]
BaseUrlOpt = Annotated[str | None, typer.Option("--base-url", help="OpenAI-compatible endpoint")]
ConcOpt = Annotated[int | None, typer.Option("--concurrency", min=1, help="tasks in flight")]
QueueOpt = Annotated[
    int | None,
    typer.Option("--queue-depth", min=0, help="tasks planned ahead for `coscientist worker`s"),
]
CallsOpt = Annotated[
    int | None, typer.Option("--max-calls", min=0, help="stop after N model calls")
]
HypOpt = Annotated[int | None, typer.Option("--max-hypotheses", min=1, help="generate at most N")]
CostOpt = Annotated[
    float | None,
    typer.Option("--max-cost", min=0, help="stop before spending USD (needs the model's price)"),
]
TimeOpt = Annotated[
    float | None, typer.Option("--time-limit", min=0.001, help="seconds of wall time")
]
SeedOpt = Annotated[int | None, typer.Option("--seed", help="seed of every random choice")]
ConfOpt = Annotated[
    float | None,
    typer.Option(
        "--confidence",
        help="stop ranking once the top 10 is this sure (expected recall, default 0.8)",
    ),
]
GainOpt = Annotated[
    float | None,
    typer.Option(
        "--min-gain",
        help="or once two more matches per hypothesis would add less than this to that"
        " expected recall (default 0.01; 0 never stops on it)",
    ),
]
EmbedderOpt = Annotated[
    str | None,
    typer.Option(
        "--embedder",
        help="proximity embeddings: hashed, openai-compatible (COSCIENTIST_EMBEDDING_BASE_URL"
        " or --base-url) or embedded",
    ),
]
TuiOpt = Annotated[bool, typer.Option("--tui/--no-tui", help="watch the run in the terminal UI")]
VerboseOpt = Annotated[
    bool,
    typer.Option("--verbose", "-v", help="print a line for every hypothesis, review and match"),
]
PreferenceOpt = Annotated[
    list[str] | None,
    typer.Option("--preference", help="what kind of answer you want (repeatable); joins the plan"),
]
ConstraintOpt = Annotated[
    list[str] | None,
    typer.Option("--constraint", help="what every hypothesis must respect (repeatable)"),
]
ThreadsOpt = Annotated[
    int | None, typer.Option("--threads", min=1, help="CPU threads for embedded models")
]


def make_settings(**options: Any) -> Settings:
    given = {k: v for k, v in options.items() if v is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        env = "COSCIENTIST_" + where.upper().replace(".", "__")
        cfg = config_file()
        sources = f"the option, {env}" + (f" or {cfg}" if cfg.is_file() else "")
        raise ConfigError(f"{where}: {first['msg']} (check {sources})") from exc


def open_coscientist(db: str | None, **options: Any) -> Any:
    from coscientist.session import CoScientist

    return CoScientist(make_settings(db=db, **options))


# The option each limit comes from, for the error line.
_LIMIT_OPTIONS = {
    "max_calls": "--max-calls",
    "max_hypotheses": "--max-hypotheses",
    "time_limit": "--time-limit",
    "max_cost": "--max-cost",
    "stop_confidence": "--confidence",
    "stop_min_gain": "--min-gain",
}


def limits_from(**values: Any) -> Limits:
    try:
        return Limits(**{k: v for k, v in values.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else ""
        if field in _LIMIT_OPTIONS:
            raise ConfigError(
                f"bad {_LIMIT_OPTIONS[field]} {values[field]}: {first['msg']}"
            ) from exc
        raise ConfigError(f"bad limit: {first['msg']}") from exc
