"""The terminal UI: the only part of coscientist that imports textual.

It reads state and sends commands; it never calls a model itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from coscientist.config import Limits
    from coscientist.session import CoScientist, Session


def run_tui(cs: CoScientist, session: Session, limits: Limits) -> None:
    """Run `session` inside the app until the user quits (the run is stopped cleanly first).

    An error that ended the run is raised again once the app has closed, so the
    command line reports it as usual.
    """
    from coscientist.tui.app import RunApp

    app = RunApp(session, limits)
    app.run()
    if app.live.error is not None:
        raise app.live.error


def browse(cs: CoScientist, session_id: str | None = None) -> None:
    """Browse the sessions of `cs.store`; with a session id (or unique prefix), open that one first."""
    from coscientist.tui.app import BrowseApp
    from coscientist.tui.chat_screen import SessionConversation

    resolved = cs.store.get_session(session_id).id if session_id else None  # NotFoundError: exit 2
    BrowseApp(cs.store, resolved, conversation=SessionConversation(cs.session)).run()


__all__ = ["browse", "run_tui"]
