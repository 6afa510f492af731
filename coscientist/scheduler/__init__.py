"""The scheduler: not an LLM; decides what runs next and keeps the model busy.

One module a responsibility, read in this order:

    loop.py      the loop: slots, dispatch, stop rules, commands
    base.py      the loop's state; applying committed effects (effects.py) and what follows
    execution.py running one task: start, run, commit, apply, or fail it
    following.py background jobs: leases, provenance, what other processes commit
    policy.py    what runs next: a snapshot of the session in, a complete task spec out
    outlook.py   where new hypotheses pay: generation or evolution, which strategy, which parents
    runner.py    a task spec through its agent to a result; changes nothing
    effects.py   the one applier of committed results to memory, whoever ran the task
    state.py     the session in memory (hypotheses, ratings, pairing, proximity, graph)
    budget.py    calls, tokens and time; the gate every model call passes; the run summary
    failures.py  what a failure means: retry, stop, or surface a bug
    storage.py   the store from the loop: worker threads, busy stores retried
    vectors.py   the run's embedder: started first, what waits for a vector embedded in batches
    leases.py    who holds a task; taking back the tasks of dead owners
    commands.py  how the session reaches a running loop
    slots.py     what is in flight, by kind and by hypothesis
    worker.py    `coscientist worker`: loops that only claim queued tasks

docs/scheduler.md draws how a task flows through them. Importing this package
loads no agent: `loop` (and with it LangGraph) is imported only to run.
"""

from coscientist.scheduler.budget import RunSummary
from coscientist.scheduler.commands import Inbox

__all__ = ["Inbox", "RunSummary"]
