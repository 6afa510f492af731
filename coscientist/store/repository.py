"""The Store: the only way in and out of the database, pydantic objects on both sides.

Its connection and transactions (why a lock on SQLite) are in transactions.py, its
methods by subject in repo_*.py; the sessions' methods are here.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from coscientist.errors import NotFoundError, StoreError
from coscientist.schemas import SessionInfo
from coscientist.store import content, migrate, rows
from coscientist.store.db import first_line, make_engine, mask, mask_text, parse_url
from coscientist.store.repo_graph import GraphMethods
from coscientist.store.repo_hypotheses import HypothesisMethods
from coscientist.store.repo_ledger import LedgerMethods
from coscientist.store.repo_tasks import TaskMethods
from coscientist.store.repo_tournament import TournamentMethods
from coscientist.store.tables import sessions


class Store(HypothesisMethods, TournamentMethods, GraphMethods, TaskMethods, LedgerMethods):
    """Open with Store.open(url); close() when done (or use it as a context manager)."""

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
