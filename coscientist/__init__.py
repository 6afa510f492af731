"""coscientist: an open AI co-scientist (multi-agent hypothesis tournament).

The public names are imported lazily so `import coscientist` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["CoScientist", "Limits", "Session", "Settings", "run_objective"]

if TYPE_CHECKING:
    from coscientist.config import Limits, Settings
    from coscientist.session import CoScientist, Session, run_objective


def __getattr__(name: str) -> Any:
    if name in ("Limits", "Settings"):
        from coscientist import config

        return getattr(config, name)
    if name in ("CoScientist", "Session", "run_objective"):
        from coscientist import session

        return getattr(session, name)
    raise AttributeError(f"module 'coscientist' has no attribute {name!r}")
