"""Answer a question about a session from its stored state, and store the answer.

The question is checked first, the records read and the briefing chosen
(context.py), then one model call. Ids the model cites are checked against
the session: those it does not hold are dropped from `cited_ids` and kept in
`dropped_ids`, so every display can say so. The answer is written in one
insert after the model has answered: a model that fails leaves no answer
behind, only the provenance of the calls it made.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import anyio

from agents.conversation import CONVERSATION, AnswerOut, FollowUpOut, answer
from coscientist.conversation.context import (
    IdIndex,
    Selection,
    load_records,
    resolve_id,
    select,
)
from coscientist.errors import ConfigError
from coscientist.llm.base import CallContext, Recorder
from coscientist.llm.client import ModelClient
from coscientist.schemas import Answer, CallRecord, FollowUp, FollowUpKind, SessionInfo, new_id
from coscientist.store.repository import Store

MAX_QUESTION_CHARS = 2000

MakeClient = Callable[[Recorder], ModelClient]


def check_question(question: str) -> str:
    """The question, whitespace collapsed; an empty or overlong one is a ConfigError."""
    flat = " ".join(question.split())
    if not flat:
        raise ConfigError("the question is empty: ask something about the session")
    if len(flat) > MAX_QUESTION_CHARS:
        raise ConfigError(
            f"the question is {len(flat)} characters long: keep it under {MAX_QUESTION_CHARS}"
        )
    return flat


def split_ids(named: Sequence[str], known: Sequence[str]) -> tuple[list[str], list[str]]:
    """(ids the session holds, ids it does not), each once, in the order the model gave them."""
    cited: dict[str, None] = {}
    dropped: dict[str, None] = {}
    index = IdIndex(known)
    for text in named:
        if not text.strip():
            continue
        hid = resolve_id(text, index)
        if hid is None:
            dropped.setdefault(text.strip(), None)
        else:
            cited.setdefault(hid, None)
    return list(cited), list(dropped)


def follow_up_of(out: FollowUpOut, cited: Sequence[str], known: Sequence[str]) -> FollowUp | None:
    """The proposed next step, if it can be taken: a review needs a hypothesis the session holds
    (the one named, else the first one cited); a step without text is no step."""
    if out.kind == "none" or not out.text.strip():
        return None
    kind = FollowUpKind(out.kind)
    if kind != FollowUpKind.REVIEW:
        return FollowUp(kind=kind, text=out.text)
    target = resolve_id(out.hypothesis_id, known) if out.hypothesis_id else None
    target = target or (cited[0] if cited else None)
    if target is None:
        return None
    return FollowUp(kind=kind, text=out.text, hypothesis_id=target)


def make_answer(
    info: SessionInfo, question: str, out: AnswerOut, known: Sequence[str], model: str
) -> Answer:
    cited, dropped = split_ids(out.hypothesis_ids, known)
    return Answer(
        id=new_id(),
        session_id=info.id,
        question=question,
        answer=out.answer,
        cited_ids=cited,
        dropped_ids=dropped,
        follow_up=follow_up_of(out.follow_up, cited, known),
        model=model,
    )


async def ask(
    store: Store,
    info: SessionInfo,
    question: str,
    make_client: MakeClient,
    *,
    max_tokens: int | None = None,
) -> tuple[Answer, Selection]:
    """Answer `question` and store the answer; ModelError when the model cannot answer."""
    question = check_question(question)
    records = await anyio.to_thread.run_sync(load_records, store, info.id)
    selection = select(records, question)
    calls: list[CallRecord] = []

    async def keep(record: CallRecord) -> None:
        calls.append(record)

    client = make_client(keep)
    try:
        completion = await answer(
            client,
            selection.briefing,
            question,
            call=CallContext(role=CONVERSATION, session_id=records.info.id),
            max_tokens=max_tokens,
        )
    finally:
        with anyio.CancelScope(shield=True):
            await client.aclose()
            await anyio.to_thread.run_sync(store.record_calls, calls)
    result = make_answer(
        records.info,
        question,
        completion.value,
        records.known_ids,
        completion.model or records.info.model_spec,
    )
    await anyio.to_thread.run_sync(store.add_answer, result)
    return result, selection
