"""The scheduler's import (the agents, LangGraph: seconds), started early in a thread.

Both a session's start (CoScientist.start) and its run (Session.run) begin it, so the
import overlaps the model's preflight.
"""

from __future__ import annotations

import importlib
import threading

SCHEDULER_MODULE = "coscientist.scheduler.loop"
_preloading: list[threading.Thread] = []


def preload_scheduler() -> threading.Thread:
    """Import the scheduler (the agents, LangGraph: seconds of imports) in a daemon thread.

    Started when a session is created or about to run, so the import overlaps the model's
    preflight instead of freezing the event loop. Returns the thread to join (once per
    process; joining a finished thread costs nothing).
    """
    if not _preloading:
        loader = threading.Thread(
            target=importlib.import_module, args=(SCHEDULER_MODULE,), daemon=True
        )
        loader.start()
        _preloading.append(loader)
    return _preloading[0]
