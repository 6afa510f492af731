"""Alembic environment of the store.

coscientist runs it programmatically (coscientist.store.migrate) and hands it an
open connection in `config.attributes["connection"]`, already inside the
transaction that serialises concurrent upgrades. Without one (the `alembic`
command line, for developers writing a new revision) it opens the URL in the
`sqlalchemy.url` option with the store's own engine settings.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from coscientist.store.db import WRITE_OPTION, make_engine, parse_url
from coscientist.store.tables import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things: copy-and-move instead
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    config = context.config
    if context.is_offline_mode():
        context.configure(
            url=config.get_main_option("sqlalchemy.url"),
            target_metadata=metadata,
            literal_binds=True,
            render_as_batch=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(parse_url(config.get_main_option("sqlalchemy.url") or ""))
    try:
        with engine.execution_options(**{WRITE_OPTION: True}).connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


_main()
