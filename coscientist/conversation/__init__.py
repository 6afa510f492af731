"""Talking to a session: questions answered from its stored state, follow-ups applied.

`ask` (ask.py) selects the records a question needs (context.py), asks the
model once and stores the answer with the hypothesis ids it cites; `apply`
(followup.py) turns an answer's proposed next step into a refined goal, a plan
preference, a review or a hypothesis through the Session's own methods.
"""

from __future__ import annotations

from coscientist.conversation.ask import MAX_QUESTION_CHARS, ask, check_question
from coscientist.conversation.followup import apply, describe

__all__ = ["MAX_QUESTION_CHARS", "apply", "ask", "check_question", "describe"]
