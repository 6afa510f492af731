"""The start of a session: the goal's safety review, then the research plan, before any task.

Our own screen runs first and needs no model (CoScientist.start already ran it
before the session existed); the model's review is the first call of the first
run. A refusal raises `GoalRefusedError`: the session removes itself. The model's
refusal binds only where its reviews do (`review_filter`): the shipped 135M
model's verdicts are recorded as advisory, while the screen binds for every model.
A model that fails here (unreachable, no valid answer) leaves the goal to the
screen and the plan to the next run; the loop then meets the fault as usual. So
does a call budget spent before the plan's call (`--max-calls 1`): a call with no
budget waits at the gate until the loop stops it, and no loop runs yet, so the
intake gives up that call itself (it waited forever).
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial

import anyio

from agents import intake
from agents.context import AgentContext
from coscientist import safety
from coscientist.errors import ModelError
from coscientist.events import EventBus
from coscientist.llm.base import CallContext
from coscientist.llm.client import ModelClient
from coscientist.scheduler.budget import Budget
from coscientist.scheduler.storage import StoreCalls
from coscientist.schemas import ResearchPlan, SafetyVerdict, SessionInfo


@dataclass
class Intake:
    client: ModelClient
    db: StoreCalls
    bus: EventBus
    binding: bool  # whether the model's refusal refuses the goal
    budget: Budget  # the run's: a call it has no room for is given up
    max_tokens: int = 512

    async def _within_budget(self, call: Callable[[], Awaitable[None]]) -> bool:
        """Run `call`; False when the call budget was spent while it waited for a call
        (the call is then cancelled, having made none)."""
        budget = self.budget
        ran_out = False
        failed: list[Exception] = []
        async with anyio.create_task_group() as tg:

            async def run() -> None:
                try:
                    await call()
                except Exception as exc:  # raised as itself below, not in a task group's group
                    failed.append(exc)
                tg.cancel_scope.cancel()

            async def watch() -> None:
                nonlocal ran_out
                while not (budget.blocked and budget.spent()):
                    await budget.wake.wait(0.5)
                ran_out = True
                tg.cancel_scope.cancel()

            tg.start_soon(run)
            tg.start_soon(watch)
        if failed:
            raise failed[0]
        return not ran_out

    def _context(self, info: SessionInfo) -> AgentContext:
        return AgentContext(
            llm=self.client,
            goal=info.goal,
            call=CallContext(role=intake.INTAKE, session_id=info.id),
            rng=random.Random(f"{info.seed}:{info.goal}:intake"),
            preferences=info.preferences,
            plan=info.plan,
            max_tokens=self.max_tokens,
        )

    async def prepare(self, info: SessionInfo) -> SessionInfo:
        """Review the goal and draft the plan where not done yet; the session as now stored.

        Where the model's refusal would bind, the plan waits for the review: a goal that may
        be refused is asked nothing else. Where it is advisory the two calls run side by side
        (a plan is dropped if the review failed), so the first tasks wait one latency, not two.
        """
        safety.check_goal(info.goal)
        store = self.db.store
        ctx = self._context(info)
        review = info.goal_safety is None
        drafting = info.plan is None or not info.plan.drafted
        verdicts: list[SafetyVerdict] = []
        plans: list[ResearchPlan] = []
        faults: dict[str, ModelError | str] = {}
        spent = "the call budget is spent"

        async def review_goal() -> None:
            async def ask() -> None:
                verdicts.append(await intake.review_goal(ctx, info.goal))

            try:
                if not await self._within_budget(ask):
                    faults["review"] = spent
            except ModelError as exc:
                faults["review"] = exc

        async def draft_plan() -> None:
            async def ask() -> None:
                plans.append(await intake.draft_plan(ctx, info.goal, info.plan))

            try:
                if not await self._within_budget(ask):
                    faults["plan"] = spent
            except ModelError as exc:
                faults["plan"] = exc

        if self.binding:  # a goal the review may refuse is asked nothing else first
            if review:
                await review_goal()
            refused = any(not v.safe for v in verdicts)
            if drafting and "review" not in faults and not refused:
                await draft_plan()
        else:
            async with anyio.create_task_group() as tg:
                if review:
                    tg.start_soon(review_goal)
                if drafting:
                    tg.start_soon(draft_plan)
        if "review" in faults:
            self.bus.emit("intake", info.id, f"goal safety review failed: {faults['review']}")
            return info
        if verdicts:
            verdict = verdicts[0]
            if not verdict.safe and self.binding:
                raise safety.refusal(verdict)
            if not verdict.safe:  # recorded, but this model's refusals do not bind
                verdict = verdict.model_copy(update={"safe": True, "by": "model (advisory)"})
            info = await self.db(partial(store.update_session, info.id, goal_safety=verdict))
            self.bus.emit("safety", info.id, f"goal reviewed: {verdict.model_verdict or 'safe'}")
        if "plan" in faults:
            self.bus.emit("intake", info.id, f"research plan not drafted: {faults['plan']}")
            return info
        if plans:
            plan = plans[0]
            info = await self.db(partial(store.update_session, info.id, plan=plan))
            self.bus.emit("plan", info.id, f"research plan: {plan.objective}")
        return info
