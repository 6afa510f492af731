"""Settings: one pydantic-settings class, env prefix COSCIENTIST_, optional TOML file."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from coscientist.errors import ConfigError

APP_NAME = "coscientist"


def default_db_url() -> str:
    data_dir = Path(platformdirs.user_data_dir(APP_NAME))
    return f"sqlite:///{data_dir / 'coscientist.db'}"


def config_file() -> Path:
    env = os.environ.get("COSCIENTIST_CONFIG")
    if env:
        return Path(env)
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def check_toml(path: Path) -> None:
    """A config file that cannot be read or parsed is a ConfigError naming the file and line."""
    try:
        with path.open("rb") as handle:
            tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:  # its message ends with "(at line N, column M)"
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {path} is not UTF-8 text: {exc.reason}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None


class ModelPrice(BaseModel):
    """List price of a model in USD per million tokens, for `max_cost`."""

    model_config = ConfigDict(extra="forbid")

    input: float = Field(ge=0, allow_inf_nan=False, description="USD per million prompt tokens")
    output: float = Field(
        ge=0, allow_inf_nan=False, description="USD per million completion tokens"
    )


# The agent roles that can each have a model of their own (`[roles.ranking]`, --judge-model).
# `audit` is a second judge: given a model other than the ranking role's, it judges the top
# pairs again (scheduler/runner.py), its verdicts kept apart from the ratings.
ROLES = ("generation", "reflection", "ranking", "evolution", "meta_review", "graph", "audit")
OPTIONAL_ROLES = ("audit",)  # roles that do nothing until given a model of their own


ROLE_ALIASES = {
    "judge": "ranking",
    "meta-review": "meta_review",
    "metareview": "meta_review",
    "second_judge": "audit",
}


def role_name(name: str) -> str:
    """`judge` is the ranking role, `second-judge` the audit one; `meta-review` the
    meta_review one."""
    key = name.strip().lower()
    return ROLE_ALIASES.get(key, key.replace("-", "_"))


class RoleModel(BaseModel):
    """One role's model: spec, base URL and concurrency; None takes the session's.

    The API key is not here: it comes from the environment only (COSCIENTIST_<ROLE>_API_KEY,
    else COSCIENTIST_API_KEY), so a role map can be stored with a session as it is.
    """

    model_config = ConfigDict(extra="forbid")

    model: str | None = None
    base_url: str | None = None
    concurrency: int | None = Field(default=None, ge=1, le=4096)

    @field_validator("model", "base_url")
    @classmethod
    def _blank_is_none(cls, v: str | None) -> str | None:
        v = v.strip() if v else v
        return v.rstrip("/") if v else None


class Limits(BaseSettings):
    """Stop rules of a run. None means unlimited.

    Read from init arguments and COSCIENTIST_-prefixed variables only (COSCIENTIST_MAX_CALLS,
    ...): a plain MAX_CALLS in the environment belongs to someone else.
    """

    model_config = SettingsConfigDict(extra="forbid", env_prefix="COSCIENTIST_")

    max_calls: int | None = Field(default=None, ge=0)
    max_tokens: int | None = Field(default=None, ge=0)
    max_hypotheses: int | None = Field(default=None, ge=1)
    time_limit: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    max_cost: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    convergence_window: int | None = Field(default=None, ge=1)
    # Stop ranking once the expected top-10 recall reaches this (tournament/convergence.py).
    stop_confidence: float | None = Field(default=None, gt=0, lt=1)
    # ... or once another two matches per hypothesis would add less than this to it (0: never).
    stop_min_gain: float | None = Field(default=None, ge=0, lt=1)


class Settings(BaseSettings):
    """Everything configurable. The API key is a SecretStr: never stored, logged or exported."""

    model_config = SettingsConfigDict(
        env_prefix="COSCIENTIST_",
        env_nested_delimiter="__",
        extra="ignore",
    )

    db: str = Field(default_factory=default_db_url, description="SQLAlchemy URL of the store")
    model: str = Field(default="embedded", description="model spec: embedded, gguf:PATH, ...")
    base_url: str | None = None
    api_key: SecretStr | None = None
    concurrency: int | None = Field(default=None, ge=1, le=4096)
    # Tasks a run plans ahead and queues for `coscientist worker` processes (0: none).
    queue_depth: int = Field(default=0, ge=0, le=4096)
    # One core stays free for the event loop: llama.cpp threads collapse when oversubscribed.
    threads: int = Field(default_factory=lambda: max(1, (os.cpu_count() or 2) - 1), ge=1, le=256)
    seed: int = Field(default=0, ge=-(2**63), le=2**63 - 1)  # a store's INTEGER holds it
    request_timeout: float = Field(default=120.0, gt=0, allow_inf_nan=False)
    # How long a running task's lease lasts unrenewed; a dead owner's tasks come back within it.
    lease_seconds: float = Field(default=60.0, ge=1.0, le=3600.0)
    max_output_tokens: int = Field(default=512, ge=16)
    context_tokens: int = Field(default=4096, ge=512)
    repair_attempts: int = Field(default=2, ge=0, le=10)
    transport_retries: int = Field(default=4, ge=0, le=20)
    # Whether a failed initial review takes a hypothesis out of the tournament. None: yes for
    # every model but the shipped 135M one, whose reviews are too noisy to filter on
    # (docs/design-notes.md).
    review_filter: bool | None = None
    # Literature search and citation checks (arXiv, PubMed, Europe PMC). None: on when the
    # services answer a preflight request at the start of a run; True: on regardless (a
    # service that cannot be reached is skipped); False: off.
    literature: bool | None = None
    # Matches within the top k are debates and its members get deeper reviews; None: the larger
    # of 5 and a fifth of the rated pool.
    top_k: int | None = Field(default=None, ge=2, le=1000)
    # Cosine of two concept names' embeddings at or above which they become one concept.
    graph_merge_threshold: float = Field(default=0.9, gt=0.0, le=1.0)
    # Where each service lives, by name (arxiv, pubmed, europepmc); unset ones use the public
    # addresses. COSCIENTIST_LITERATURE_BASE_URLS__ARXIV=http://... sets one from the environment.
    literature_base_urls: dict[str, str] = Field(default_factory=dict)
    # Seconds between two requests to one service, by name, over the published limits
    # (coscientist/literature/ratelimit.py); tests against the local fake set 0.
    literature_min_intervals: dict[str, float] = Field(default_factory=dict)
    # Contact address NCBI asks E-utilities clients to send (optional; never required).
    literature_email: str | None = None
    # Prices by model name (USD per million tokens), over the defaults in coscientist/llm/pricing.py:
    # [prices."my-model"] input = 0.5, output = 1.5 in the TOML file.
    prices: dict[str, ModelPrice] = Field(default_factory=dict)
    limits: Limits = Field(default_factory=Limits)
    # Proximity's embedder (coscientist/embedding; benchmarks/README.md compares them). The
    # endpoint and key of openai-compatible default to base_url and api_key; never stored.
    embedder: Literal["hashed", "openai-compatible", "embedded"] = "hashed"
    embedding_model: str = ""  # served model name, or a GGUF path for embedded
    embedding_base_url: str | None = None
    embedding_api_key: SecretStr | None = None
    # Texts per embeddings request. 1 for llama-cpp-python's server on a GGUF without a
    # pooling type: it answers every input of a batch after the first wrongly (measured).
    embedding_batch: int = Field(default=32, ge=1, le=2048)
    # Cosine at which a new hypothesis is a near-duplicate; None: the embedder's default
    # (coscientist/embedding/service.py). A served embedding model may need its own.
    duplicate_threshold: float | None = Field(default=None, gt=0.0, le=1.0)
    # A model per role ([roles.ranking] model = "...", base_url, concurrency); see llm/roles.py.
    roles: dict[str, RoleModel] = Field(default_factory=dict)

    @field_validator("roles", mode="before")
    @classmethod
    def _known_roles(cls, v: Any) -> Any:
        if not isinstance(v, dict):
            return v
        named = {role_name(str(k)): item for k, item in v.items()}
        unknown = sorted(set(named) - set(ROLES))
        if unknown:
            raise ValueError(f"unknown role {unknown[0]!r}: the roles are {', '.join(ROLES)}")
        return named

    @field_validator("base_url", "embedding_base_url")
    @classmethod
    def _strip_slash(cls, v: str | None) -> str | None:
        return v.rstrip("/") if v else v

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = config_file()
        if path.is_file():
            check_toml(path)
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    def filters_reviews(self, model_spec: str) -> bool:
        if self.review_filter is not None:
            return self.review_filter
        return model_spec != "embedded"

    def api_key_value(self) -> str | None:
        return self.api_key.get_secret_value() if self.api_key else None

    def public_dict(self) -> dict[str, Any]:
        """What may be stored with a session: everything but secrets."""
        return self.model_dump(mode="json", exclude={"api_key", "embedding_api_key"})
