"""Engines for the store: URL checks, SQLite pragmas and write transactions.

Every failure to reach a database becomes a one-line StoreError naming the URL
with its password masked, so the CLI can print it as is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.pool import StaticPool

from coscientist.errors import StoreError
from coscientist.redact import mask_secrets

# Synchronous drivers only: the store runs its short transactions in worker threads.
SUPPORTED = {"sqlite": ("pysqlite",), "postgresql": ("psycopg", "psycopg2")}
_USE = "use sqlite:///PATH or postgresql://USER@HOST/DB"
WRITE_OPTION = "coscientist_write"  # execution option: this transaction writes
PG_CONNECT_TIMEOUT = 10
_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=30000",
    "PRAGMA foreign_keys=ON",
)


def mask_text(url: str) -> str:
    """Mask the password of a URL that may not even parse (and secret query values)."""
    return mask_secrets(url)


def mask(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message: driver errors span several."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def parse_url(url: str) -> URL:
    """Parse and normalise: `postgresql://` and `postgres://` mean psycopg 3."""
    try:
        parsed = make_url(url.strip())
    except (ArgumentError, ValueError) as exc:
        raise StoreError(f"not a database URL: {mask_text(url)!r} ({first_line(exc)})") from exc
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED:
        raise StoreError(
            f"cannot open store {mask(parsed)}: unsupported database {backend!r} ({_USE})"
        )
    driver = parsed.get_driver_name()
    if driver not in SUPPORTED[backend]:
        raise StoreError(
            f"cannot open store {mask(parsed)}: unsupported driver {driver!r} ({_USE})"
        )
    if backend == "sqlite" and parsed.database and parsed.database.startswith("~"):
        parsed = parsed.set(database=str(Path(parsed.database).expanduser()))
    return parsed


def is_memory(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def make_engine(url: URL) -> Engine:
    """An engine for a parsed URL; raises StoreError for a missing driver or path."""
    shown = mask(url)
    kwargs: dict[str, Any] = {}
    if url.get_backend_name() == "sqlite":
        if is_memory(url):
            # One shared connection, or every thread would see its own empty database.
            kwargs = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
        else:
            _make_parent(url, shown)
    else:
        # A worker outlives server restarts: test pooled connections before handing them out.
        kwargs["pool_pre_ping"] = True
        if "connect_timeout" not in url.query:
            kwargs["connect_args"] = {"connect_timeout": PG_CONNECT_TIMEOUT}
    try:
        engine = create_engine(url, **kwargs)
    except NoSuchModuleError as exc:
        raise StoreError(f"cannot open store {shown}: unknown database driver") from exc
    except ImportError as exc:
        hint = (
            " (pip install 'coscientist[postgres]')" if url.get_driver_name() == "psycopg" else ""
        )
        raise StoreError(
            f"cannot open store {shown}: driver not installed: {first_line(exc)}{hint}"
        ) from exc
    except ArgumentError as exc:
        raise StoreError(f"cannot open store {shown}: {first_line(exc)}") from exc
    if url.get_backend_name() == "sqlite":
        _install_sqlite_hooks(engine)
    return engine


def _make_parent(url: URL, shown: str) -> None:
    database = url.database or ""
    if database.startswith("file:"):
        return  # a SQLite URI filename: leave it to SQLite
    try:
        Path(database).resolve().parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise StoreError(
            f"cannot open store {shown}: cannot create the directory of {database} ({reason})"
        ) from exc


def _install_sqlite_hooks(engine: Engine) -> None:
    """Pragmas on every connection; BEGIN IMMEDIATE for write transactions.

    pysqlite's own transaction handling is switched off (isolation_level None)
    so that we emit BEGIN ourselves: a writer takes the write lock up front,
    and concurrent writers queue on busy_timeout instead of failing to upgrade
    a read lock half-way through (SQLITE_BUSY that no timeout resolves).
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        try:
            for pragma in _SQLITE_PRAGMAS:
                cursor.execute(pragma)
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        write = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
