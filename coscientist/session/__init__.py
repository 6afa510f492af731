"""The public Python API: CoScientist opens a store and a model; Session runs and steers one goal.

    from coscientist import CoScientist, Limits
    cs = CoScientist()                       # Settings from COSCIENTIST_* and the config file
    session = cs.start("Why do some tumours resist ...")
    summary = await session.run(Limits(max_calls=40))
    for entry in session.leaderboard(top=5): ...

`run_objective(goal, **limits)` does the same synchronously, for scripts and notebooks.

`start` checks the model before it creates the session (coscientist/llm/preflight.py):
an OpenAI-compatible endpoint that cannot be reached, refuses the key or does not
serve the model raises a ModelError, a model without a price while `max_cost` is set
a ConfigError, and no session is left behind. `run` checks again when the session
comes from the store (a resume), before it marks the session running.

CoScientist lives in entry.py, Session in research.py (running) and steering.py
(reading, steering, asking), the scheduler's early import in preload.py; this module
is the names users import.
"""

from __future__ import annotations

from coscientist.config import Limits
from coscientist.errors import CoscientistError
from coscientist.session.entry import CoScientist, run_objective
from coscientist.session.research import Session

__all__ = ["CoScientist", "CoscientistError", "Limits", "Session", "run_objective"]
