"""Embedding off the hot path: the run's embedder is started before the loop, and the
hypotheses it has not embedded yet (loaded with another embedder's vectors, added by the
scientist or by another process) are embedded in batches by a background job.

New hypotheses of the run's own tasks are embedded by the runner, which already awaits
(TaskRunner._materialise); their vectors travel with the result into the store.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from coscientist.proximity import to_bytes
from coscientist.scheduler.state import SessionState
from coscientist.scheduler.storage import StoreCalls

CATCH_UP_SECONDS = 1.0
CATCH_UP_BATCH = 256  # texts a round takes; the service splits them into requests


async def prepare(
    state: SessionState, db: StoreCalls, notify: Callable[[str], None], *, records: bool = True
) -> None:
    """Start (load or probe) the embedder and record it with the session; an index built
    before its dimension was known is rebuilt. A failing embedder falls back to hashed here,
    before any task, and `notify` gets the one line that says so."""
    service = state.embedding
    service.notify = notify
    service.records = records  # a worker leaves the session's record to its planner
    await service.start()
    index = state.proximity
    if (index.dim, index.duplicate_threshold) != (
        service.info.dimension,
        service.duplicate_threshold,
    ):
        state.reset_index()
    await record(state, db)


async def record(state: SessionState, db: StoreCalls) -> None:
    """The session's embedder in the store (show --json), when it changed since last told."""
    service = state.embedding
    if not service.records or service.recorded == service.key:
        return
    info = service.info
    write = partial(
        db.store.set_session_embedder,
        state.session_id,
        requested=service.requested,
        name=info.name,
        model=info.model,
        dimension=info.dimension,
        fallback=service.fallback_reason,
    )
    await db(write)
    service.recorded = info.key


async def catch_up(state: SessionState, db: StoreCalls) -> int:
    """Embed what waits, index it and store it with its embedder; how many were embedded."""
    await record(state, db)  # a fallback during a task is recorded on the next round
    waiting = list(state.unembedded.items())[:CATCH_UP_BATCH]
    if not waiting:
        return 0
    made = await state.embedding.embed([text for _, text in waiting])
    vectors = {hid: v for (hid, _), v in zip(waiting, made.vectors, strict=True)}
    state.index_vectors(made.info.key, vectors)
    await db(
        db.store.replace_vectors,
        state.session_id,
        made.info.key,
        {hid: to_bytes(v) for hid, v in vectors.items()},
    )
    return len(vectors)
