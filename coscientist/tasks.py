"""Run one task: call the right agent and turn its output into a TaskResult.

Nothing here writes to the store; the supervisor commits the TaskResult and the
task's state change in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import anyio
import numpy as np

from agents import evolution, generation, graph_reasoning, meta_review, ranking, reflection
from agents.context import AgentContext
from coscientist.knowledge import insights, next_question_seeds
from coscientist.schemas import (
    Hypothesis,
    HypothesisDraft,
    HypothesisStatus,
    MatchMode,
    Review,
    ReviewKind,
    Task,
    TaskKind,
    TaskResult,
)
from coscientist.state import SessionState, cached_embed, hypothesis_text

IdFactory = Callable[[], str]


class TaskRunner:
    """Maps a task kind to its agent. One instance per supervisor."""

    def __init__(
        self,
        state: SessionState,
        session_id: str,
        new_id: IdFactory,
        *,
        review_filter: bool = True,
    ) -> None:
        self.state = state
        self.session_id = session_id
        self.new_id = new_id
        self.review_filter = review_filter

    async def run(self, task: Task, ctx: AgentContext) -> TaskResult:
        handlers = {
            TaskKind.GENERATE: self._generate,
            TaskKind.REVIEW: self._review,
            TaskKind.MATCH: self._match,
            TaskKind.EVOLVE: self._evolve,
            TaskKind.META_REVIEW: self._meta_review,
            TaskKind.GRAPH: self._graph,
        }
        return await handlers[task.kind](task, ctx)

    # --- hypotheses ------------------------------------------------------------

    def _materialise(self, drafts: Sequence[HypothesisDraft], limit: int | None) -> TaskResult:
        """Give drafts ids, mark near-duplicates, cap at what the session may still take."""
        result = TaskResult()
        if limit is not None:
            drafts = drafts[: max(limit, 0)]
        proximity = self.state.proximity
        batch: list[tuple[str, np.ndarray]] = []
        for draft in drafts:
            h = Hypothesis(**draft.model_dump(), id=self.new_id(), session_id=self.session_id)
            text = hypothesis_text(h)
            vector = cached_embed(text)
            dup = proximity.near_duplicate(text)
            duplicate_of = dup[0] if dup else None
            for other_id, other in batch:  # duplicates within one answer, too
                if duplicate_of is None and float(vector @ other) >= proximity.duplicate_threshold:
                    duplicate_of = other_id
            if duplicate_of is not None:
                h.status = HypothesisStatus.DUPLICATE
                h.duplicate_of = duplicate_of
            batch.append((h.id, vector))
            result.hypotheses.append(h)
        return result

    async def _generate(self, task: Task, ctx: AgentContext) -> TaskResult:
        existing = list(self.state.hypotheses.values())[-10:]
        drafts = await generation.generate(
            ctx, str(task.payload.get("strategy", "debate")), existing=existing, count=1
        )
        return self._materialise(drafts, task.payload.get("limit"))

    async def _evolve(self, task: Task, ctx: AgentContext) -> TaskResult:
        strategy = str(task.payload.get("strategy", "combination"))
        known = self.state.hypotheses
        parents = [known[i] for i in task.payload.get("parent_ids", []) if i in known]
        if not parents:
            parents = self.choose_parents(strategy)
        if not parents:
            return TaskResult(note="no parents to evolve")
        drafts = await evolution.evolve(ctx, strategy, parents, reviews=self._reviews_of(parents))
        return self._materialise(drafts, task.payload.get("limit"))

    def choose_parents(self, strategy: str) -> list[Hypothesis]:
        top = self.state.top()
        if not top:
            return []
        if strategy in ("inspiration", "combination", "out_of_box"):
            k = min(len(top), 3 if strategy != "combination" else 2)
            return self.state.rng.sample(top, k)
        weights = [1.0 / (i + 1) for i in range(len(top))]
        return [self.state.rng.choices(top, weights=weights)[0]]

    # --- reviews and matches ---------------------------------------------------

    def _reviews_of(self, hs: Sequence[Hypothesis]) -> Mapping[str, Sequence[Review]]:
        return {h.id: self.state.reviews.get(h.id, [])[-3:] for h in hs}

    async def _review(self, task: Task, ctx: AgentContext) -> TaskResult:
        h = self.state.hypotheses.get(str(task.payload.get("hypothesis_id")))
        if h is None:
            return TaskResult(note="hypothesis no longer exists")
        kind = ReviewKind(task.payload.get("kind", ReviewKind.INITIAL.value))
        draft = await reflection.review(ctx, h, kind)
        if kind == ReviewKind.INITIAL and not draft.passed and not self.review_filter:
            # Kept and shown, but the hypothesis stays in the tournament (see Settings.review_filter).
            draft.details["advisory"] = True
        return TaskResult(reviews=[draft])

    async def _match(self, task: Task, ctx: AgentContext) -> TaskResult:
        first = self.state.hypotheses.get(str(task.payload.get("first_id")))
        second = self.state.hypotheses.get(str(task.payload.get("second_id")))
        if first is None or second is None or first.id == second.id:
            return TaskResult(note="pair no longer valid")
        if first.status != HypothesisStatus.ACTIVE or second.status != HypothesisStatus.ACTIVE:
            return TaskResult(note="a hypothesis left the tournament")
        mode = MatchMode(task.payload.get("mode", MatchMode.SINGLE.value))
        verdict = await ranking.compare(
            ctx, first, second, mode=mode, reviews=self._reviews_of([first, second])
        )
        if verdict.winner_id not in (first.id, second.id):
            raise ValueError("the judge named neither hypothesis")
        return TaskResult(matches=[verdict])

    # --- meta-review and knowledge graph ---------------------------------------

    async def _meta_review(self, task: Task, ctx: AgentContext) -> TaskResult:
        draft = await meta_review.meta_review(
            ctx,
            reviews=list(self.state.recent_reviews),
            matches=list(self.state.recent_matches),
            top=self.state.top(),
        )
        return TaskResult(meta_review=draft)

    async def _graph(self, task: Task, ctx: AgentContext) -> TaskResult:
        state = self.state
        question = str(task.payload.get("question") or state.graph_question or ctx.goal)
        iteration = state.graph_iteration + 1
        context = "\n".join(state.graph_insights)
        step = await graph_reasoning.reason(
            ctx, question, graph_context=context, iteration=iteration
        )
        nodes, edges = state.kg.merge(step.triples, iteration)
        new_keys = [n.key for n in nodes]
        # Graph metrics (Louvain, betweenness) cost real CPU on large graphs: off the event loop,
        # once per graph step, cached for every generation prompt until the next step.
        seeds, state.graph_insights = await anyio.to_thread.run_sync(
            lambda: (next_question_seeds(state.kg, new_keys, k=3), insights(state.kg, k=5))
        )
        state.graph_iteration = iteration
        # Alternate the model's own follow-up with one steered by new and bridge nodes (Buehler).
        steered = graph_reasoning.seed_question(seeds) if iteration % 2 == 0 else ""
        state.graph_question = steered or step.next_question or None
        return TaskResult(graph_nodes=nodes, graph_edges=edges)
