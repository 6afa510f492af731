"""Bring a database to the newest schema with the migrations shipped in this package.

Alembic is imported only when a migration has to run: opening a store that is
already at HEAD (every CLI call but the first) skips its import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

from coscientist.errors import StoreError
from coscientist.store.db import WRITE_OPTION, first_line

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
HEAD = "0010"  # the newest revision in migrations/versions; a test keeps the two in step
VERSION_TABLE = "alembic_version"
# Any fixed number: PostgreSQL advisory lock that lets one process migrate at a time.
_PG_LOCK_KEY = 0x636F7363  # "cosc"


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def script_head() -> str | None:
    """The head revision according to the migration scripts themselves."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table(VERSION_TABLE):
            return None
        found = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
        return found[0] if len(found) == 1 else None


def upgrade(engine: Engine, shown_url: str) -> None:
    """Upgrade to head inside one write transaction; a no-op when already there.

    The transaction serialises concurrent openers: on SQLite through BEGIN
    IMMEDIATE, on PostgreSQL through an advisory lock, so two processes opening
    an empty database at once never both create the tables.
    """
    if current_revision(engine) == HEAD:
        return
    from alembic import command
    from alembic.util.exc import CommandError

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
