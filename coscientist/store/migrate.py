"""Bring a database to the newest schema with the migrations shipped in this package."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Engine, text

from coscientist.errors import StoreError
from coscientist.store.db import WRITE_OPTION, first_line

MIGRATIONS = Path(__file__).with_name("migrations")
# Any fixed number: PostgreSQL advisory lock that lets one process migrate at a time.
_PG_LOCK_KEY = 0x636F7363  # "cosc"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships a first revision
        raise StoreError("the store's migrations are missing from the installed package")
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, shown_url: str) -> None:
    """Upgrade to head inside one write transaction; a no-op when already there.

    The transaction serialises concurrent openers: on SQLite through BEGIN
    IMMEDIATE, on PostgreSQL through an advisory lock, so two processes opening
    an empty database at once never both create the tables.
    """
    head = head_revision()
    if current_revision(engine) == head:
        return
    config = alembic_config()
    with engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        config.attributes["connection"] = conn
        try:
            command.upgrade(config, "head")
        except CommandError as exc:
            raise StoreError(
                f"cannot upgrade store {shown_url}: {first_line(exc)}"
                " (was it written by a newer coscientist?)"
            ) from exc
