"""The knowledge graph's derived state: steering view, prompt seeds and the metric series.

After committed results change the graph, every `every`-th change triggers a
refresh: the graph is analysed in a worker thread (igraph; about 1.5 s at
10,000 concepts) on a mark of its append-only logs, so the event loop never
waits and nothing reads a graph being changed. The refresh sets the state's
view (bridges, gaps, paths for the policy and the prompts) and, in a planning
run, stores one point of the series. At concurrency 1 it is awaited by the task
whose result triggered it, so a seeded run replays exactly; with more slots it
runs beside them (`spawn`), so no slot waits for it (measured: awaiting it held
slots and dropped the calls in flight from 8 to 6.2 of 8). While one refresh
runs, others are skipped; the next change catches up. Beside the slots, a refresh
starts no sooner than a second after the last one started, and no sooner than
four times the last analysis' length after it ended: the analysis holds the GIL
for its Python parts, so on a large graph (1.5 s at 10,000 concepts) refreshes
back to back would take most of the loop's core; this way they take at most
about a fifth of it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import anyio
from anyio.abc import TaskGroup

from coscientist.errors import StoreError
from coscientist.events import EventBus
from coscientist.knowledge import (
    Analysis,
    GraphView,
    KnowledgeGraph,
    analyse,
    seeds_from,
    series_point,
    view,
)
from coscientist.scheduler.state import SessionState
from coscientist.scheduler.storage import StoreCalls
from coscientist.schemas import GraphSeriesPoint

log = logging.getLogger(__name__)

REFRESH_EVERY = 8  # graph changes between refreshes (and series points)
# Beside the slots, also at most one refresh a second: the analysis holds the GIL for its
# Python parts, and back to back it slowed the loop (calls in flight 6.5 instead of 7.5 of 8).
BACKGROUND_SECONDS = 1.0
# ... and a pause of this many analysis lengths after a refresh ends before the next starts.
PAUSE_PER_ANALYSIS = 4.0


class GraphRefresher:
    def __init__(
        self,
        state: SessionState,
        db: StoreCalls,
        bus: EventBus,
        *,
        record: bool = True,
        every: int = REFRESH_EVERY,
        seed: int = 0,
    ) -> None:
        self.state = state
        self.db = db
        self.bus = bus
        self.record = record  # a worker leaves the series to the planner
        self.every = max(1, every)
        self.seed = seed
        self._changes = 0
        self._new_keys: list[str] = []
        self._busy = False
        self._recorded_at: tuple[int, int] | None = None
        self._last_started = -BACKGROUND_SECONDS
        self._next_at = 0.0  # anyio time before which no background refresh starts
        # Set by the loop when it runs several tasks at once: refreshes then run beside them.
        self.spawn: Callable[[Callable[[], Awaitable[object]]], None] | None = None

    async def changed(self, new_keys: list[str]) -> None:
        """Committed results changed the graph; refresh when enough changes have piled up."""
        self._changes += 1
        self._new_keys.extend(new_keys)
        if self._changes >= self.every and not self._busy:
            if self.spawn is None:
                await self.refresh()
            elif (now := anyio.current_time()) >= self.next_background_at():
                self._busy = True  # claimed now, so the next change does not spawn another
                self._last_started = now
                self.spawn(self._refresh_claimed)

    def next_background_at(self) -> float:
        """When a refresh beside the slots may start next (anyio's clock)."""
        return max(self._last_started + BACKGROUND_SECONDS, self._next_at)

    async def _refresh_claimed(self) -> None:
        self._busy = False
        await self.refresh()

    async def start(self) -> None:
        """At the start of a run: the view of a resumed session's graph (nothing recorded)."""
        if self.state.kg.nodes:
            await self.refresh(record=False)

    async def finish(self) -> None:
        """At the end of a run: one last point, unless the graph has not changed since."""
        if self.state.kg.mark() != self._recorded_at and self.state.kg.nodes:
            await self.refresh()

    async def refresh(self, *, record: bool | None = None) -> GraphSeriesPoint | None:
        if self._busy:
            return None
        self._busy = True
        state = self.state
        kg, mark, iteration = state.kg, state.kg.mark(), state.graph_iteration
        new_keys, self._new_keys, self._changes = self._new_keys, [], 0
        try:
            started = anyio.current_time()
            analysis, state.graph_view = await anyio.to_thread.run_sync(
                lambda: _analyse(kg, mark, iteration, self.seed)
            )
            ended = anyio.current_time()
            self._next_at = ended + PAUSE_PER_ANALYSIS * (ended - started)
            state.graph_seeds = seeds_from(analysis, new_keys, k=3)
            state.graph_insights = state.graph_view.lines(state.top_ids())
            point = series_point(analysis, iteration)
            if self.record if record is None else record:
                await self._store(point)
                self._recorded_at = mark
        finally:
            self._busy = False
        m = point.metrics
        self.bus.emit(
            "graph_metrics",
            state.session_id,
            f"graph: {m.nodes} concepts, {m.links} links, modularity {m.modularity:.2f}",
            iteration=iteration,
            nodes=m.nodes,
            links=m.links,
            seconds=m.seconds or 0.0,
        )
        return point

    async def _store(self, point: GraphSeriesPoint) -> None:
        try:
            await self.db(self.db.store.add_graph_point, self.state.session_id, point)
        except StoreError as exc:  # a lost point of a derived series never ends a run
            log.warning("could not store a graph metrics point: %s", exc)
            self.bus.emit("store_retry", self.state.session_id, f"graph metrics: {exc}")


def _analyse(
    kg: KnowledgeGraph, mark: tuple[int, int], iteration: int, seed: int
) -> tuple[Analysis, GraphView]:
    analysis = analyse(kg, mark, seed=seed)
    return analysis, view(analysis, iteration)


def spawner(tg: TaskGroup) -> Callable[[Callable[[], Awaitable[object]]], None]:
    """`GraphRefresher.spawn` for a task group: runs a refresh beside the loop's slots."""

    def spawn(job: Callable[[], Awaitable[object]]) -> None:
        async def run() -> None:
            await job()

        tg.start_soon(run)

    return spawn
