"""The Store: the only way in and out of the database, pydantic objects on both sides.

Each call opens its own short transaction on a pooled connection, so one Store
is safe to share between threads. On SQLite, writes inside this process also
take a lock: waiting on a Python lock is cheaper and fairer than SQLite's
busy-timeout polling, which then only arbitrates between processes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, SQLAlchemyError

from coscientist.errors import NotFoundError, StoreBusyError, StoreError
from coscientist.proximity import Vector
from coscientist.schemas import (
    Answer,
    CallRecord,
    GraphEdge,
    GraphMerge,
    GraphNode,
    GraphSeriesPoint,
    Hypothesis,
    HypothesisStatus,
    LeaderboardEntry,
    Match,
    MetaReview,
    Observation,
    Rating,
    Review,
    ReviewDraft,
    SecondOpinion,
    SessionInfo,
    Task,
    TaskKind,
    TaskResult,
    TaskSpec,
    TaskState,
    utcnow,
)
from coscientist.store import (
    answers,
    content,
    embeddings,
    graph,
    ledger,
    migrate,
    opinions,
    queue,
    rows,
    tournament,
)
from coscientist.store.apply import Applied, complete
from coscientist.store.db import (
    WRITE_OPTION,
    first_line,
    is_memory,
    make_engine,
    mask,
    mask_text,
    parse_url,
)
from coscientist.store.graph import GraphMarks
from coscientist.store.ledger import OwnerInfo
from coscientist.store.tables import hypotheses, sessions


class Store:
    """Open with Store.open(url); close() when done (or use it as a context manager)."""

    def __init__(self, engine: Engine, url: URL) -> None:
        self._engine = engine
        self._writer = engine.execution_options(**{WRITE_OPTION: True})
        self._url = url
        sqlite = engine.dialect.name == "sqlite"
        self._write_lock: AbstractContextManager[Any] = (
            threading.RLock() if sqlite else nullcontext()
        )
        # An in-memory database is one shared connection: reads must queue as well.
        self._read_lock = self._write_lock if is_memory(url) else nullcontext()

    @classmethod
    def open(cls, url: str) -> Store:
        """Connect and bring the schema to the newest version."""
        parsed = parse_url(url)
        engine = make_engine(parsed)
        try:
            migrate.upgrade(engine, mask(parsed))
        except StoreError:
            engine.dispose()
            raise
        except (SQLAlchemyError, OSError) as exc:
            engine.dispose()
            raise StoreError(f"cannot open store {mask(parsed)}: {first_line(exc)}") from exc
        return cls(engine, parsed)

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def url_display(self) -> str:
        return mask(self._url)

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    @property
    def engine(self) -> Engine:
        """For tests and maintenance scripts; application code uses the methods."""
        return self._engine

    # --- transactions -----------------------------------------------------------

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except IntegrityError as exc:
            raise StoreError(
                f"store {self.url_display} refused the write: {first_line(exc)}"
            ) from exc
        except DBAPIError as exc:
            if exc.connection_invalidated or isinstance(exc, OperationalError):
                # Locked, busy, or the connection dropped: worth another try later.
                raise StoreBusyError(
                    f"store {self.url_display} is busy or unreachable: {first_line(exc)}"
                ) from exc
            raise StoreError(f"store {self.url_display} failed: {first_line(exc)}") from exc

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._read_lock, self._errors(), self._engine.connect() as conn:
            yield conn

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._write_lock, self._errors(), self._writer.begin() as conn:
            yield conn

    # --- sessions ---------------------------------------------------------------

    def create_session(self, info: SessionInfo) -> SessionInfo:
        if info.base_url:
            info = info.model_copy(update={"base_url": mask_text(info.base_url)})
        if info.roles:
            info = info.model_copy(update={"roles": rows.masked_roles(info.roles)})
        with self._write() as conn:
            content.insert_session(conn, info)
        return info

    def get_session(self, id_or_prefix: str) -> SessionInfo:
        """By id or a unique prefix of it."""
        with self._read() as conn:
            found = content.by_prefix(conn, sessions, id_or_prefix)
        if not found:
            raise NotFoundError(f"no session {id_or_prefix!r} in {self.url_display}")
        if len(found) > 1:
            raise NotFoundError(
                f"session prefix {id_or_prefix!r} is ambiguous in {self.url_display}: type more of the id"
            )
        return rows.session_info(found[0])

    def list_sessions(self) -> list[SessionInfo]:
        """Newest first."""
        with self._read() as conn:
            return content.list_sessions(conn)

    def delete_session(self, session_id: str) -> None:
        """Remove a session and all its rows (a goal refused at intake leaves nothing behind)."""
        with self._write() as conn:
            content.delete_session(conn, session_id)

    def update_session(self, session_id: str, **fields: Any) -> SessionInfo:
        """Change status, goal, preferences, plan, goal_safety, limits, stop_reason, model_spec
        or base_url."""
        if fields.get("base_url"):
            fields["base_url"] = mask_text(str(fields["base_url"]))
        if fields.get("roles"):
            fields["roles"] = {
                k: v.model_dump(mode="json") for k, v in rows.masked_roles(fields["roles"]).items()
            }
        with self._write() as conn:
            return content.update_session(conn, session_id, fields)

    # --- hypotheses and reviews -------------------------------------------------

    def add_hypotheses(self, items: list[Hypothesis]) -> None:
        """Insert hypotheses with their initial ratings."""
        with self._write() as conn:
            for session_id in {h.session_id for h in items}:
                content.require_session(conn, session_id)
            content.insert_hypotheses(conn, items)

    def get_hypothesis(self, id_or_prefix: str, session_id: str | None = None) -> Hypothesis:
        where = [] if session_id is None else [hypotheses.c.session_id == session_id]
        with self._read() as conn:
            found = content.by_prefix(conn, hypotheses, id_or_prefix, *where)
        scope = f"session {session_id!r}" if session_id else self.url_display
        if not found:
            raise NotFoundError(f"no hypothesis {id_or_prefix!r} in {scope}")
        if len(found) > 1:
            raise NotFoundError(f"hypothesis prefix {id_or_prefix!r} is ambiguous in {scope}")
        return rows.hypothesis(found[0])

    def list_hypotheses(
        self, session_id: str, statuses: set[HypothesisStatus] | None = None
    ) -> list[Hypothesis]:
        """In creation order."""
        with self._read() as conn:
            return content.list_hypotheses(conn, session_id, statuses)

    def count_hypotheses(
        self, session_id: str, statuses: set[HypothesisStatus] | None = None
    ) -> int:
        with self._read() as conn:
            return content.count_hypotheses(conn, session_id, statuses)

    def vectors(self, session_id: str, embedder: str | None = None) -> dict[str, Vector]:
        """Stored embeddings by hypothesis id: loading a session need not re-embed.
        With `embedder` (a key of coscientist.embedding), only the vectors it made."""
        with self._read() as conn:
            return content.vectors(conn, session_id, embedder)

    def replace_vectors(self, session_id: str, embedder: str, vectors: dict[str, bytes]) -> None:
        with self._write() as conn:
            embeddings.replace_vectors(conn, session_id, embedder, vectors)

    def set_session_embedder(self, session_id: str, **fields: Any) -> None:
        """requested, name, model, dimension, fallback: see store/embeddings.py."""
        with self._write() as conn:
            embeddings.set_session_embedder(conn, session_id, **fields)

    def session_embedder(self, session_id: str) -> dict[str, Any] | None:
        with self._read() as conn:
            return embeddings.session_embedder(conn, session_id)

    def set_hypothesis_status(
        self,
        hypothesis_id: str,
        status: HypothesisStatus,
        duplicate_of: str | None = None,
        reason: str | None = None,
    ) -> None:
        with self._write() as conn:
            content.set_status(conn, hypothesis_id, status, duplicate_of, reason=reason)

    def set_pinned(self, hypothesis_id: str, pinned: bool) -> None:
        with self._write() as conn:
            content.set_pinned(conn, hypothesis_id, pinned)

    def add_review(self, session_id: str, draft: ReviewDraft) -> Review:
        with self._write() as conn:
            return content.insert_review(conn, session_id, draft)

    def list_reviews(
        self, session_id: str, hypothesis_id: str | None = None, limit: int | None = None
    ) -> list[Review]:
        """Newest first."""
        with self._read() as conn:
            return content.list_reviews(conn, session_id, hypothesis_id, limit)

    def add_observation(self, session_id: str, text: str, source: str = "scientist") -> Observation:
        with self._write() as conn:
            content.require_session(conn, session_id)
            return content.insert_observation(conn, session_id, text, source)

    def list_observations(self, session_id: str) -> list[Observation]:
        """Oldest first."""
        with self._read() as conn:
            return content.list_observations(conn, session_id)

    # --- tournament -------------------------------------------------------------

    def ratings(self, session_id: str) -> dict[str, Rating]:
        with self._read() as conn:
            return tournament.all_ratings(conn, session_id)

    def list_matches(self, session_id: str, since_seq: int = 0) -> list[Match]:
        """Matches with seq > since_seq, in the order they were applied."""
        with self._read() as conn:
            return tournament.list_matches(conn, session_id, since_seq)

    def verdicts(self, session_id: str) -> list[tuple[str, str, bool]]:
        """(first-shown, second-shown, the first won) of every match, in order."""
        with self._read() as conn:
            return tournament.verdicts(conn, session_id)

    def lineage(self, session_id: str) -> dict[str, list[str]]:
        with self._read() as conn:
            return tournament.lineage(conn, session_id)

    def count_matches(self, session_id: str) -> int:
        with self._read() as conn:
            return tournament.count_matches(conn, session_id)

    def leaderboard(
        self, session_id: str, top: int | None = None, include_inactive: bool = False
    ) -> list[LeaderboardEntry]:
        """Best first (mu - 2 sigma descending, then id); active hypotheses unless include_inactive."""
        with self._read() as conn:
            return tournament.leaderboard(conn, session_id, top, include_inactive)

    def rating_history(
        self, session_id: str, hypothesis_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Dicts with seq, match_id, hypothesis_id, won, mu/sigma before and after, elo_after, created_at."""
        with self._read() as conn:
            return tournament.history(conn, session_id, hypothesis_id)

    # --- meta-reviews and graph -------------------------------------------------

    def latest_meta_review(self, session_id: str) -> MetaReview | None:
        with self._read() as conn:
            found = content.list_meta_reviews(conn, session_id, 1)
        return found[0] if found else None

    def list_meta_reviews(self, session_id: str) -> list[MetaReview]:
        """Newest first."""
        with self._read() as conn:
            return content.list_meta_reviews(conn, session_id, None)

    def merge_graph(self, session_id: str, nodes: list[GraphNode], edges: list[GraphEdge]) -> None:
        with self._write() as conn:
            content.require_session(conn, session_id)
            graph.merge(conn, session_id, nodes, edges)

    def graph(self, session_id: str) -> tuple[list[GraphNode], list[GraphEdge]]:
        with self._read() as conn:
            return graph.load(conn, session_id)

    def graph_since(
        self, session_id: str, marks: GraphMarks = (0, 0, 0)
    ) -> tuple[list[GraphNode], list[GraphEdge], list[GraphMerge], GraphMarks]:
        """Graph rows added after `marks` (row ids), and the marks to ask from next time."""
        with self._read() as conn:
            return graph.load_since(conn, session_id, marks)

    def graph_merges(self, session_id: str) -> list[GraphMerge]:
        """Every name folded into an existing concept, oldest first, with its reason."""
        with self._read() as conn:
            return graph.load_merges(conn, session_id)

    def graph_links(self, session_id: str, key: str) -> list[tuple[str, GraphNode]]:
        """(relation, node) for every node `key` links to: a hypothesis's concepts and sources."""
        with self._read() as conn:
            return graph.linked_nodes(conn, session_id, key)

    def add_graph_point(self, session_id: str, point: GraphSeriesPoint) -> None:
        with self._write() as conn:
            graph.add_point(conn, session_id, point)

    def graph_series(self, session_id: str, limit: int | None = None) -> list[GraphSeriesPoint]:
        """The graph's figures per iteration, oldest first (the newest `limit` when given)."""
        with self._read() as conn:
            return graph.load_series(conn, session_id, limit)

    # --- tasks ------------------------------------------------------------------

    def enqueue(self, session_id: str, specs: list[TaskSpec]) -> list[Task]:
        with self._write() as conn:
            content.require_session(conn, session_id)
            return queue.insert_tasks(conn, session_id, specs)

    @staticmethod
    def running_task(session_id: str, spec: TaskSpec, owner: str, lease_seconds: float) -> Task:
        """A task leased by `owner` whose row complete_task or fail_task writes (`new=`)."""
        return queue.running_task(session_id, spec, owner, lease_seconds)

    def claim(
        self,
        session_id: str | None,
        owner: str,
        limit: int = 1,
        lease_seconds: float = 60,
        kinds: set[TaskKind] | None = None,
    ) -> list[Task]:
        """Lease up to `limit` tasks (None: from any RUNNING session), best first."""
        with self._write() as conn:
            return queue.claim(conn, session_id, owner, limit, lease_seconds, kinds)

    def renew_leases(self, owner: str, lease_seconds: float) -> int:
        with self._write() as conn:
            return queue.renew(conn, owner, lease_seconds)

    def complete_task(
        self, task_id: str, owner: str, result: TaskResult, new: Task | None = None
    ) -> Applied:
        """Apply a result and mark the task done, atomically; LeaseLostError if not `owner`'s.

        `new`: a task started in memory (`running_task`): its row is written here, with its
        result, so a task costs one transaction."""
        with self._write() as conn:
            return complete(conn, task_id, owner, result, new)

    def fail_task(
        self,
        task_id: str,
        owner: str,
        error: str,
        retry: bool = True,
        new: Task | None = None,
        counted: bool = True,
    ) -> Task:
        """Count a failed attempt: FAILED (claimable again) or, out of attempts, DEAD.

        `counted=False` (an unreachable model): no attempt is used up."""
        with self._write() as conn:
            if new is not None:
                queue.insert_row(conn, new)
            return queue.fail(conn, task_id, owner, error, retry, counted)

    def release(self, owner: str) -> int:
        """Hand back `owner`'s running tasks without counting an attempt (clean stop)."""
        with self._write() as conn:
            return queue.release(conn, owner)

    def reclaim(self, session_id: str | None, is_dead: Callable[[str], bool]) -> int:
        """Running tasks with an expired lease or a dead owner go back to pending."""
        now = utcnow()
        with self._read() as conn:
            owners = queue.running_owners(conn, session_id)
        dead = {owner for owner in owners if is_dead(owner)}
        with self._write() as conn:
            return queue.reclaim(conn, session_id, dead, now)

    def get_task(self, task_id: str) -> Task:
        with self._read() as conn:
            return queue.get(conn, task_id)

    def task_states(self, task_ids: list[str]) -> dict[str, TaskState]:
        """The state of each task that exists, by id; unknown ids are left out."""
        with self._read() as conn:
            return queue.states(conn, list(task_ids))

    def list_tasks(
        self,
        session_id: str,
        states: set[TaskState] | None = None,
        kinds: set[TaskKind] | None = None,
    ) -> list[Task]:
        """Oldest first."""
        with self._read() as conn:
            return queue.list_tasks(conn, session_id, states, kinds)

    def task_counts(self, session_id: str) -> dict[str, dict[str, int]]:
        """Nested {kind: {state: count}}, only non-zero counts, e.g. counts["review"]["pending"]."""
        with self._read() as conn:
            return queue.counts(conn, session_id)

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

    def list_second_opinions(self, session_id: str) -> list[SecondOpinion]:
        """A second judge's verdicts (store/opinions.py), oldest first."""
        with self._read() as conn:
            return opinions.list_for(conn, session_id)

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
