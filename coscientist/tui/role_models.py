"""Which model each role uses, for the session header; said only when the roles use more than one.

The names are those of `show --json`'s `models.roles` (llm/roles.py role_labels, as the
reports have them), made compact: a model's spec alone, with its URL only when two of
the session's models share a spec. The ranking role is called the judge, as the options say.
"""

from __future__ import annotations

from rich.text import Text

from coscientist.config import ROLES
from coscientist.llm.roles import role_labels
from coscientist.safe_text import printable
from coscientist.schemas import SessionInfo

ROLE_NAMES = {"ranking": "judge", "audit": "second judge"}
MODEL_WIDTH = 64  # characters of a model's name before it is clipped


def other_models(info: SessionInfo) -> list[tuple[list[str], str]]:
    """(roles, model) for each model other than the session's own, in role order."""
    labels = role_labels(info.model_spec, info.base_url, info.roles)
    default = role_labels(info.model_spec, info.base_url, {})[ROLES[0]]
    groups: dict[str, list[str]] = {}
    for role, label in labels.items():  # role order; an unused optional role is not there
        if label != default:
            groups.setdefault(label, []).append(ROLE_NAMES.get(role, role))
    specs = [_spec(label) for label in {default, *groups}]
    return [
        (roles, label if specs.count(_spec(label)) > 1 else _spec(label))
        for label, roles in groups.items()
    ]


def _spec(label: str) -> str:
    return label.split(" @ ", 1)[0]


def roles_text(info: SessionInfo) -> Text:
    """`  judge: M2  evolution, graph: M3`, or nothing when every role uses the session's model."""
    text = Text()
    for roles, model in other_models(info):
        text.append(f"  {', '.join(roles)}: ", style="dim")
        name = printable(model)
        text.append(name if len(name) <= MODEL_WIDTH else name[: MODEL_WIDTH - 1] + "…")
    return text
