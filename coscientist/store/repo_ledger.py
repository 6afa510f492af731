"""The Store's owners, call provenance, the questions asked about a session, and the cache."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from coscientist.schemas import Answer, CallRecord
from coscientist.store import answers, ledger
from coscientist.store.ledger import OwnerInfo
from coscientist.store.transactions import Transactions


class LedgerMethods(Transactions):
    """Part of the Store (store/repository.py)."""

    # --- owners, provenance, cache ----------------------------------------------

    def register_owner(self, owner_id: str, pid: int, host: str) -> OwnerInfo:
        with self._write() as conn:
            return ledger.register_owner(conn, owner_id, pid, host)

    def heartbeat(self, owner_id: str) -> None:
        with self._write() as conn:
            ledger.heartbeat(conn, owner_id)

    def get_owner(self, owner_id: str) -> OwnerInfo | None:
        with self._read() as conn:
            return ledger.get_owner(conn, owner_id)

    def record_call(self, rec: CallRecord) -> None:
        with self._write() as conn:
            ledger.record_call(conn, rec)

    def record_calls(self, recs: list[CallRecord]) -> None:
        """Several provenance rows in one transaction (the supervisor batches them)."""
        if not recs:
            return
        with self._write() as conn:
            ledger.record_calls(conn, recs)

    def call_times(self, session_id: str) -> list[datetime]:
        with self._read() as conn:
            return ledger.call_times(conn, session_id)

    def call_stats(self, session_id: str) -> dict[str, Any]:
        """{"calls", "tokens_in", "tokens_out", "latency_ms", "by_role": {role: {...}}, "by_outcome": {outcome: n}}."""
        with self._read() as conn:
            return ledger.call_stats(conn, session_id)

    def calls_by_model(self, session_id: str) -> dict[str, Any]:
        """{model: {"calls", "tokens_in", "tokens_out", "by_role": {role: calls}}}."""
        with self._read() as conn:
            return ledger.calls_by_model(conn, session_id)

    # --- questions asked about the session (coscientist/conversation) ----------------

    def add_answer(self, answer: Answer) -> None:
        with self._write() as conn:
            answers.insert(conn, answer)

    def list_answers(self, session_id: str, limit: int | None = None) -> list[Answer]:
        """Oldest first (with `limit`, the newest few)."""
        with self._read() as conn:
            return answers.list_for(conn, session_id, limit)

    def get_answer(self, session_id: str, id_or_prefix: str) -> Answer:
        with self._read() as conn:
            return answers.get(conn, session_id, id_or_prefix)

    def mark_answer_applied(self, answer_id: str, applied: str) -> bool:
        with self._write() as conn:
            return answers.mark_applied(conn, answer_id, applied)

    def cache_get(self, key: str, max_age: float | None = None) -> str | None:
        """The cached value, if any (and not older than max_age seconds)."""
        with self._read() as conn:
            return ledger.cache_get(conn, key, max_age)

    def cache_put(self, key: str, value: str) -> None:
        with self._write() as conn:
            ledger.cache_put(conn, key, value)
