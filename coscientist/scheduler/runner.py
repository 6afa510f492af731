"""Run one task spec through its agent and return a TaskResult; change nothing.

The runner reads the session state (the hypotheses a task names, their reviews,
the proximity index for duplicates) but never writes it, nor the store: the
loop commits the result and the task's state change in one transaction, and
only then does effects.py apply it to memory.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence

import anyio
import numpy as np

from agents import (
    evolution,
    generation,
    graph_reasoning,
    meta_review,
    ranking,
    reflection,
    sources,
    tournament_review,
)
from agents.context import AgentContext
from coscientist.errors import ModelError, ModelOutputError
from coscientist.knowledge.parts import (
    PartBuilder,
    hypothesis_part,
    match_text,
    review_text,
    text_part,
)
from coscientist.llm.client import ModelClient
from coscientist.proximity import embedding_text, to_bytes
from coscientist.scheduler import method
from coscientist.scheduler.state import SessionState
from coscientist.schemas import (
    Citation,
    GraphTriple,
    Hypothesis,
    HypothesisDraft,
    HypothesisStatus,
    MatchMode,
    Review,
    ReviewDraft,
    ReviewKind,
    SecondOpinion,
    Task,
    TaskKind,
    TaskResult,
)

IdFactory = Callable[[], str]
Build = Callable[[PartBuilder], object]
log = logging.getLogger("coscientist.scheduler")
INLINE_GRAPH_LIMIT = 2000  # concepts below which a task's graph part is built on the loop


class TaskRunner:
    """Maps a task kind to its agent. One instance per run."""

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

    async def _with_graph(self, result: TaskResult, build: Build) -> TaskResult:
        """The result's part of the knowledge graph; in a worker thread once the graph is large.

        Only reads the graph (lookups, one product with the concept embeddings); the part
        joins it in effects.apply once the store has committed the result. A small graph's
        part takes about 1 ms, less than the hop to a thread on a busy machine (about 6 ms
        measured here, which held slots and cut the calls in flight), so it runs inline.
        """
        kg, iteration = self.state.kg, self.state.graph_iteration + 1

        def compute() -> None:
            builder = PartBuilder(kg, iteration)
            build(builder)
            part = builder.part()
            result.graph_nodes, result.graph_edges = part.nodes, part.edges
            result.graph_merges = part.merges

        if kg.concepts < INLINE_GRAPH_LIMIT:
            compute()
        else:
            await anyio.to_thread.run_sync(compute)
        return result

    def _steered(self, task: Task, ctx: AgentContext, *, insights: bool) -> AgentContext:
        """The context with the concepts the policy chose to build on, and current graph hints."""
        focus = [str(f) for f in task.payload.get("focus") or []]
        lines = self.state.graph_view.lines(self.state.top_ids()) if insights else []
        return dataclasses.replace(ctx, focus=focus, graph_insights=lines or ctx.graph_insights)

    async def _materialise(
        self, drafts: Sequence[HypothesisDraft], limit: int | None
    ) -> TaskResult:
        """Give drafts ids, pass them through the safety gate, mark duplicates (same title or
        near-identical statement), cap at what the session may still take, and compute their
        part of the knowledge graph."""
        result = TaskResult()
        if limit is not None:
            drafts = drafts[: max(limit, 0)]
        titles = dict(self.state.method.titles)
        made = [
            Hypothesis(**draft.model_dump(), id=self.new_id(), session_id=self.session_id)
            for draft in drafts
        ]
        # Awaited here, off the loop's decisions: an endpoint's latency only holds this slot.
        embedded = await self.state.embedding.embed([embedding_text(h) for h in made])
        proximity = self.state.proximity
        # An index of another embedder (the run fell back meanwhile) is not compared with.
        comparable = embedded.info.dimension == proximity.dim
        result.embedder = embedded.info.key
        batch: list[tuple[str, np.ndarray]] = []
        for h, vector in zip(made, embedded.vectors, strict=True):
            result.vectors[h.id] = to_bytes(vector)
            dup = proximity.near_duplicate_vector(vector) if comparable else None
            duplicate_of = dup[0] if dup else None
            for other_id, other in batch:  # duplicates within one answer, too
                if duplicate_of is None and float(vector @ other) >= proximity.duplicate_threshold:
                    duplicate_of = other_id
            admitted = method.admission(h, titles, duplicate_of)
            if admitted is not None:
                h.status, h.duplicate_of = admitted.status, admitted.duplicate_of
                h.status_reason = admitted.reason
            else:
                titles.setdefault(method.title_key(h.title), h.id)
            batch.append((h.id, vector))
            result.hypotheses.append(h)
        relations = [d.relations for d in drafts]

        def build(builder: PartBuilder) -> None:
            for h, found in zip(result.hypotheses, relations, strict=True):
                hypothesis_part(builder, h, found)

        return await self._with_graph(result, build)

    async def _generate(self, task: Task, ctx: AgentContext) -> TaskResult:
        existing = list(self.state.hypotheses.values())[-10:]
        drafts = await generation.generate(
            self._steered(task, ctx, insights=True),
            str(task.payload.get("strategy", "debate")),
            existing=existing,
            count=1,
        )
        return await self._materialise(drafts, task.payload.get("limit"))

    async def _evolve(self, task: Task, ctx: AgentContext) -> TaskResult:
        strategy = str(task.payload.get("strategy", "combination"))
        known = self.state.hypotheses
        parents = [known[i] for i in task.payload.get("parent_ids", []) if i in known]
        if not parents:
            return TaskResult(note="no parents to evolve")
        drafts = await evolution.evolve(
            self._steered(task, ctx, insights=False),
            strategy,
            parents,
            reviews=self._reviews_of(parents),
        )
        return await self._materialise(drafts, task.payload.get("limit"))

    # --- reviews and matches ---------------------------------------------------

    def _reviews_of(self, hs: Sequence[Hypothesis]) -> Mapping[str, Sequence[Review]]:
        return {h.id: self.state.reviews.get(h.id, [])[-3:] for h in hs}

    async def _review(self, task: Task, ctx: AgentContext) -> TaskResult:
        h = self.state.hypotheses.get(str(task.payload.get("hypothesis_id")))
        if h is None:
            return TaskResult(note="hypothesis no longer exists")
        kind = ReviewKind(task.payload.get("kind", ReviewKind.INITIAL.value))
        if kind == ReviewKind.TOURNAMENT:
            draft = await self._tournament_review(ctx, h)
        else:
            observations = (
                await self._observations(ctx, h) if kind == ReviewKind.OBSERVATION else []
            )
            if kind == ReviewKind.OBSERVATION and not observations:
                return TaskResult(note="no observations to review against")
            draft = await reflection.review(ctx, h, kind, observations=observations)
        if not draft.passed and not self.review_filter:
            # Kept and shown, but the hypothesis stays in the tournament (see Settings.review_filter).
            draft.details["advisory"] = True
        result = TaskResult(reviews=[draft])
        if kind == ReviewKind.FULL and "citations" in draft.details:  # checked: stored on h
            result.citations[h.id] = [Citation(**c) for c in draft.details["citations"]]
        changed = method.consequence(draft, h, self.review_filter)
        if changed is not None:
            result.status_changes[h.id] = changed.status
            result.status_reasons[h.id] = changed.reason or ""
        origin = f"review:{h.id}:{kind.value}"
        return await self._with_graph(
            result, lambda b: text_part(b, draft.relations, review_text(draft), origin)
        )

    async def _observations(self, ctx: AgentContext, h: Hypothesis) -> list[str]:
        """The scientist's observations, newest first, then findings from the literature."""
        given = [o.text for o in reversed(self.state.method.observations)]
        found = await sources.search(ctx, f"{h.title}. {h.statement}", limit=3)
        return given + [f"{s.title}. {s.text} ({s.identifier})".strip() for s in found or []]

    async def _tournament_review(self, ctx: AgentContext, h: Hypothesis) -> ReviewDraft:
        known = self.state.hypotheses
        memory = self.state.method
        lost = []
        for m in memory.losses.get(h.id, ()):
            winner = known.get(m.winner_id)
            if winner is not None:
                lost.append(tournament_review.Loss(winner, m.rationale, list(m.turns)))
        draft = await tournament_review.review(
            ctx, h, lost, reviews=self.state.reviews.get(h.id, [])[-2:]
        )
        draft.details["losses_seen"] = memory.lost[h.id]
        return draft

    async def _match(self, task: Task, ctx: AgentContext) -> TaskResult:
        first = self.state.hypotheses.get(str(task.payload.get("first_id")))
        second = self.state.hypotheses.get(str(task.payload.get("second_id")))
        if first is None or second is None or first.id == second.id:
            return TaskResult(note="pair no longer valid")
        if first.status != HypothesisStatus.ACTIVE or second.status != HypothesisStatus.ACTIVE:
            return TaskResult(note="a hypothesis left the tournament")
        mode = MatchMode(task.payload.get("mode", MatchMode.SINGLE.value))
        reviews = self._reviews_of([first, second])
        verdict = await ranking.compare(ctx, first, second, mode=mode, reviews=reviews)
        if verdict.winner_id not in (first.id, second.id):
            raise ModelOutputError("the judge named neither hypothesis")
        result = TaskResult(matches=[verdict])
        if mode is MatchMode.DEBATE and ctx.second_judge is not None:  # a top pair: audit it
            opinion = await second_opinion(ctx, ctx.second_judge, first, second, reviews)
            result.second_opinions.extend([opinion] if opinion is not None else [])
        origin = f"match:{first.id}:{second.id}"
        return await self._with_graph(
            result, lambda b: text_part(b, verdict.relations, match_text(verdict), origin)
        )

    # --- meta-review and knowledge graph ---------------------------------------

    async def _meta_review(self, task: Task, ctx: AgentContext) -> TaskResult:
        top = self.state.top()
        draft = await meta_review.meta_review(
            ctx,
            reviews=list(self.state.recent_reviews),
            matches=list(self.state.recent_matches),
            top=top,
            top_reviews=self._reviews_of(top),
        )
        return TaskResult(meta_review=draft)

    async def _graph(self, task: Task, ctx: AgentContext) -> TaskResult:
        state = self.state
        step = state.graph_steps + 1
        question = self._graph_question(task, step, ctx.goal)
        context = "\n".join(state.graph_view.lines(state.top_ids()) or state.graph_insights)
        step_out = await graph_reasoning.reason(
            ctx, question, graph_context=context, iteration=step
        )
        origin = f"graph:{step}"
        triples: list[GraphTriple] = step_out.triples

        def build(builder: PartBuilder) -> None:
            for t in triples:
                builder.relation(t.source, t.relation, t.target, origin)

        # What the step would add; it joins the graph in memory once the store has it.
        result = TaskResult(graph_question=step_out.next_question)
        return await self._with_graph(result, build)

    def _graph_question(self, task: Task, step: int, goal: str) -> str:
        """Compositional steps follow the path the policy chose between two distant concepts;
        every other remaining step asks from new and bridge concepts (Buehler's steering); the
        rest follow the model's own last question."""
        path = task.payload.get("path")
        if isinstance(path, dict) and path.get("labels"):
            labels = [str(x) for x in path["labels"]]
            relations = [str(x) for x in path.get("relations", [])]
            if len(relations) == len(labels) - 1:
                return graph_reasoning.path_question(labels, relations)
        steered = ""
        if step % 2 == 1 and step > 1:
            steered = graph_reasoning.seed_question(self.state.graph_seeds)
        return str(task.payload.get("question") or steered or self.state.graph_question or goal)


async def second_opinion(
    ctx: AgentContext,
    judge: ModelClient,
    first: Hypothesis,
    second: Hypothesis,
    reviews: Mapping[str, Sequence[Review]],
) -> SecondOpinion | None:
    """The second judge's single comparison of the pair, in the order the judge saw it; None
    when it failed (the judge's verdict stands: an audit must not cost the match)."""
    asked = dataclasses.replace(ctx, llm=judge, call_role="audit", second_judge=None)
    try:
        found = await ranking.compare(asked, first, second, reviews=reviews)
    except ModelError as exc:
        log.info("the second judge gave no verdict on %s vs %s: %s", first.id, second.id, exc)
        return None
    if found.winner_id not in (first.id, second.id):
        return None
    return SecondOpinion(
        first_id=first.id,
        second_id=second.id,
        winner_id=found.winner_id,
        model=judge.label or "",
        rationale=found.rationale,
    )
