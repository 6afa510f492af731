"""What a scientist does with a session besides running it: read it, steer it, ask it.

Session (research.py) adds the running; a change made here while a run of this process
is going is told to its loop (`_tell`), after it is written to the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import anyio

from coscientist.errors import ConfigError
from coscientist.events import EventBus
from coscientist.safety import check_goal
from coscientist.scheduler import Inbox
from coscientist.scheduler import commands as cmd
from coscientist.scheduler.method import screen_hypothesis
from coscientist.schemas import (
    Answer,
    Hypothesis,
    HypothesisDraft,
    HypothesisStatus,
    LeaderboardEntry,
    Observation,
    ResearchPlan,
    Review,
    ReviewDraft,
    ReviewKind,
    SessionInfo,
    new_id,
    utcnow,
)
from coscientist.store.ranked import ranked
from coscientist.store.repository import Store
from coscientist.tournament.confidence import DEFAULT_K, TopConfidence

if TYPE_CHECKING:
    from coscientist.session.entry import CoScientist


class Steering:
    """Reading, the scientist in the loop, and questions: the part of Session that needs no run."""

    info: SessionInfo
    bus: EventBus
    _cs: CoScientist
    _running: bool
    _inbox: Inbox

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def store(self) -> Store:
        return self._cs.store

    def _tell(self, command: cmd.Command) -> None:
        """Tell a running loop about a change already written to the store."""
        if self._running:
            self._inbox.put(command)

    # --- reading --------------------------------------------------------------------

    def ranking(self, k: int = DEFAULT_K) -> tuple[list[LeaderboardEntry], TopConfidence]:
        """The whole leaderboard and the confidence about its top k from one judge fit: what
        leaderboard() and confidence() give, for a caller that wants both of one state."""
        return ranked(self.store, self.id, k, seed=self.info.seed)

    def leaderboard(self, top: int | None = None) -> list[LeaderboardEntry]:
        """Best first by the judge fit's rating (store/ranked.py); `in_top` is each one's
        chance of truly belonging among the top 10 (tournament/confidence.py)."""
        board, _ = self.ranking()
        return board if top is None else board[: max(top, 0)]

    def confidence(self, k: int = DEFAULT_K) -> TopConfidence:
        """How sure the tournament is of its top k, from every verdict so far."""
        _, found = self.ranking(k)
        return found

    def hypothesis(self, hypothesis_id: str) -> Hypothesis:
        return self.store.get_hypothesis(hypothesis_id, session_id=self.id)

    def hypotheses(self) -> list[Hypothesis]:
        return self.store.list_hypotheses(self.id)

    def reviews(self, hypothesis_id: str | None = None) -> list[Review]:
        return self.store.list_reviews(self.id, hypothesis_id=hypothesis_id)

    # --- the scientist in the loop --------------------------------------------------------

    def add_hypothesis(self, text: str, *, title: str | None = None) -> Hypothesis:
        """The scientist's own hypothesis: reviewed and ranked like any other.

        It is pinned, so a reviewer's reject does not take it out of the tournament.
        """
        text = text.strip()
        if not text:
            raise ConfigError("the hypothesis text is empty")
        draft = HypothesisDraft(
            title=(title or text.split(".")[0])[:120], statement=text, origin="scientist"
        )
        h = Hypothesis(**draft.model_dump(), id=new_id(), session_id=self.id, pinned=True)
        verdict = screen_hypothesis(h)  # the safety gate holds for the scientist's ideas too
        if not verdict.safe:
            h.status, h.status_reason = HypothesisStatus.UNSAFE, verdict.reason
        self.store.add_hypotheses([h])
        self._tell(cmd.AddHypothesis(h))
        return h

    def add_review(
        self,
        hypothesis_id: str,
        text: str,
        *,
        passed: bool = True,
        scores: dict[str, float] | None = None,
    ) -> Review:
        h = self.hypothesis(hypothesis_id)
        draft = ReviewDraft(
            hypothesis_id=h.id,
            kind=ReviewKind.SCIENTIST,
            passed=passed,
            scores=scores or {},
            summary=text,
            author="scientist",
        )
        review = self.store.add_review(self.id, draft)
        self._tell(cmd.AddReview(review))
        return review

    def refine_goal(self, goal: str) -> None:
        if not goal.strip():
            raise ConfigError("the research goal is empty")
        check_goal(goal)
        self.info = self.store.update_session(self.id, goal=goal.strip())
        self._tell(cmd.RefineGoal(goal.strip()))

    def set_preferences(self, preferences: str) -> None:
        self.info = self.store.update_session(self.id, preferences=preferences)
        self._tell(cmd.SetPreferences(preferences))

    @property
    def plan(self) -> ResearchPlan:
        """The research plan as stored (empty before the first run has drafted it)."""
        return self.info.plan or ResearchPlan()

    def set_plan(self, plan: ResearchPlan) -> ResearchPlan:
        """Replace the research plan; tasks that start from now on use it."""
        plan = plan.model_copy(update={"edited_at": utcnow()})
        self.info = self.store.update_session(self.id, plan=plan)
        self._tell(cmd.SetPlan(plan))
        return plan

    def update_plan(
        self,
        *,
        objective: str | None = None,
        preferences: Sequence[str] = (),
        constraints: Sequence[str] = (),
        attributes: Sequence[str] = (),
        out_of_scope: Sequence[str] = (),
        replace: bool = False,
    ) -> ResearchPlan:
        """Add items to the plan's lists (with `replace`, the lists given replace the stored
        ones); what is not given is kept."""
        self.info = self.store.get_session(self.id)
        lists = {
            "preferences": preferences,
            "constraints": constraints,
            "attributes": attributes,
            "out_of_scope": out_of_scope,
        }
        plan = self.plan.edited(lists, objective=objective, replace=replace)
        return self.set_plan(plan)

    def add_observation(self, text: str, *, source: str = "scientist") -> Observation:
        """A finding for observation reviews to check hypotheses against."""
        text = " ".join(text.split())
        if not text:
            raise ConfigError("the observation is empty")
        observation = self.store.add_observation(self.id, text, source)
        self._tell(cmd.AddObservation(observation))
        return observation

    def observations(self) -> list[Observation]:
        return self.store.list_observations(self.id)

    def pin(self, hypothesis_id: str, pinned: bool = True) -> None:
        h = self.hypothesis(hypothesis_id)
        self.store.set_pinned(h.id, pinned)
        self._tell(cmd.SetPinned(h.id, pinned))

    def retire(self, hypothesis_id: str) -> None:
        h = self.hypothesis(hypothesis_id)
        self.store.set_hypothesis_status(h.id, HypothesisStatus.RETIRED)
        self._tell(cmd.SetStatus(h.id, HypothesisStatus.RETIRED))

    # --- talking to the session (coscientist/conversation) ---------------------------------

    async def ask(self, question: str) -> Answer:
        """Answer a question from the session's stored state, citing hypothesis ids; stored.

        One call on the session's model, checked first like a run's (not counted in a
        running loop's budget, but recorded with the session's calls)."""
        from coscientist import conversation

        question = conversation.check_question(question)
        checked = await anyio.to_thread.run_sync(
            lambda: self._cs.check_model(self._cs.session_settings(self.info), None)
        )
        info = self.store.get_session(self.id)
        answer, _ = await conversation.ask(
            self.store,
            info,
            question,
            lambda recorder: self._cs.make_client(info, recorder=recorder, price=checked.price),
        )
        self.bus.emit("answer", self.id, f"answered: {answer.question}", id=answer.id)
        return answer

    def answers(self, limit: int | None = None) -> list[Answer]:
        """Questions asked and their answers, oldest first."""
        return self.store.list_answers(self.id, limit)

    def apply_follow_up(self, answer_id: str) -> Answer:
        """Turn an answer's proposed next step into a refined goal, a plan preference, a review
        or a hypothesis, through the methods above; the answer records what it became."""
        from coscientist import conversation

        return conversation.apply(self, self.store, self.store.get_answer(self.id, answer_id))
