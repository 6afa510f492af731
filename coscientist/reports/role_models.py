"""Which model each role used, and the calls and tokens of each model (a model per role).

Read by `show --json`, `show` and the reports. Models are named as provenance
names them (llm/roles.py Endpoint.label): the spec, and the base URL with its
password masked; never a key.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from coscientist.llm.roles import role_labels
from coscientist.schemas import SessionInfo
from coscientist.store import Store


class ModelCalls(BaseModel):
    calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    by_role: dict[str, int] = Field(default_factory=dict)  # calls each role made on it


class ModelUse(BaseModel):
    roles: dict[str, str] = Field(default_factory=dict)  # role -> model it is configured with
    by_model: dict[str, ModelCalls] = Field(default_factory=dict)  # from the provenance rows


def model_use(store: Store, info: SessionInfo) -> ModelUse:
    by_model = {
        name: ModelCalls.model_validate(entry)
        for name, entry in sorted(store.calls_by_model(info.id).items())
    }
    for entry in by_model.values():
        entry.by_role = dict(sorted(entry.by_role.items()))
    return ModelUse(
        roles=role_labels(info.model_spec, info.base_url, info.roles), by_model=by_model
    )


def model_lines(use: ModelUse) -> list[str]:
    """Plain lines for `show`: one model for every role, or role by role, then the calls."""
    lines = []
    labels = set(use.roles.values())
    if len(labels) == 1:
        lines.append(f"model: {next(iter(labels))} (every role)")
    else:
        lines.extend(f"model for {role}: {label}" for role, label in use.roles.items())
    for name, entry in use.by_model.items():
        roles = ", ".join(f"{role} {n}" for role, n in entry.by_role.items())
        lines.append(
            f"calls on {name}: {entry.calls} ({entry.tokens_in} tokens in, "
            f"{entry.tokens_out} out; {roles})"
        )
    return lines
