"""The live run screen: runs a session in this process and lets the scientist steer it.

The run is an async worker on the app's event loop (the scheduler already
sends its store work to threads); a second worker forwards the session's
events as messages. Commands (pause, add, stop) go to the Session, which
queues them for the scheduler's loop; a stop given while the run is still
starting is honoured as soon as it starts.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.binding import Binding, BindingType
from textual.worker import Worker, WorkerState

from coscientist.errors import CoscientistError
from coscientist.run_status import RunProgress
from coscientist.safe_text import printable
from coscientist.schemas import Event, SessionStatus
from coscientist.tui.add_dialog import AddHypothesisScreen
from coscientist.tui.data import PLAN_LISTS, Snapshot
from coscientist.tui.messages import SessionEvent
from coscientist.tui.session_screen import SessionScreen

if TYPE_CHECKING:
    from coscientist.config import Limits
    from coscientist.scheduler import RunSummary
    from coscientist.session import Session

LIVE_REFRESH_SECONDS = 0.5  # at most this often the leaderboard is reloaded while events arrive


class LiveSessionScreen(SessionScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "toggle_pause", "Pause/resume"),
        Binding("a", "add", "Add"),
        Binding("s", "stop", "Stop"),
        Binding("v", "method", "Plan, aims"),
    ]

    def __init__(self, session: Session, limits: Limits) -> None:
        super().__init__(session.store, session.id, poll_seconds=LIVE_REFRESH_SECONDS)
        self.session = session
        self.limits = limits
        self.summary: RunSummary | None = None
        self.error: BaseException | None = None
        self._run: Worker[RunSummary] | None = None
        self._subscribed = asyncio.Event()
        self._quitting = False
        self._note = ""
        self._counting = False

    # --- the run -------------------------------------------------------------------------

    def begin(self) -> None:
        self._forward_events()
        self._run = self._drive()

    @property
    def running(self) -> bool:
        return self._run is not None and not self._run.is_finished

    @work(group="events")
    async def _forward_events(self) -> None:
        async with self.session.bus.subscribe() as stream:
            self._subscribed.set()
            async for event in stream:
                self.post_message(SessionEvent(event))

    @work(group="run", exit_on_error=False)
    async def _drive(self) -> RunSummary:
        await self._subscribed.wait()  # so that no event of the run is missed
        return await self.session.run(self.limits)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker is not self._run or not worker.is_finished:
            return
        self._note = ""
        if event.state == WorkerState.SUCCESS:
            self.summary = worker.result
        elif event.state == WorkerState.ERROR:
            self.error = worker.error
            self._log("run_failed", f"the run failed: {worker.error}")
        else:
            self._log("stop", "run interrupted; committed work is kept")
        self.request_reload()
        if self._quitting:
            self.app.exit()

    def _log(self, kind: str, message: str) -> None:
        self.post_message(
            SessionEvent(Event(kind=kind, session_id=self.session_id, message=message))
        )

    def status_note(self) -> str:
        return self._note

    def progress_of(self, snapshot: Snapshot) -> RunProgress | None:
        live = self._live_progress()
        return live if live is not None else super().progress_of(snapshot)

    def on_tick(self) -> None:
        live = self._live_progress()
        if live is not None:
            self.show_progress(live)

    def observe(self, event: Event) -> None:
        if event.kind == "run_started":  # the run's clock and counts are loaded from here on
            self._counting = True

    def _live_progress(self) -> RunProgress | None:
        """From the running scheduler's memory: its clock and its budget counters."""
        return self.session.progress() if self._counting and self.running else None

    def _set_note(self, note: str) -> None:
        self._note = note
        self.show_header()

    # --- commands ------------------------------------------------------------------------

    def add_plan_item(self, kind: str, text: str) -> None:
        """Through the session, so the running loop uses the new plan from its next task."""
        self.session.set_plan(self.session.plan.edited({PLAN_LISTS[kind]: [text]}))

    def add_observation(self, text: str) -> None:
        self.session.add_observation(text)

    def _check_running(self, what: str) -> bool:
        if not self.running:
            self.notify(f"the run has ended: nothing to {what}", severity="warning")
            return False
        return True

    def action_toggle_pause(self) -> None:
        if not self._check_running("pause"):
            return
        try:
            if self.session.info.status == SessionStatus.PAUSED:
                self.session.resume()
            else:
                self.session.pause()
        except CoscientistError as exc:
            self.notify(printable(str(exc)), severity="error", markup=False)
            return
        self.info = self.session.info
        self.show_header()
        self.request_reload(now=True)

    def action_stop(self) -> None:
        if self._check_running("stop"):
            self._stop()

    def _stop(self) -> None:
        self.session.stop()
        self._set_note("stopping… (tasks in flight finish first)")

    def request_quit(self) -> None:
        """First press: stop cleanly, then exit. Second press while stopping: interrupt the run."""
        if self._run is None or not self.running:
            self.app.exit()
        elif self._quitting:
            self._set_note("interrupting…")
            self._run.cancel()
        else:
            self._quitting = True
            self._stop()

    def action_add(self) -> None:
        self.app.push_screen(AddHypothesisScreen(), self._add_hypothesis)

    def _add_hypothesis(self, text: str | None) -> None:
        if text is None:
            return
        try:
            h = self.session.add_hypothesis(text)
        except CoscientistError as exc:
            self.notify(printable(str(exc)), severity="error", markup=False)
            return
        event = Event(
            kind="hypothesis",
            session_id=self.session_id,
            message=h.title,
            data={"id": h.id, "origin": h.origin},
        )
        self.post_message(SessionEvent(event))
        self.request_reload(now=True)
