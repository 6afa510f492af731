"""The Store's connection and its short transactions: the base every part of the Store shares.

Each call opens its own short transaction on a pooled connection, so one Store
is safe to share between threads. On SQLite, writes inside this process also
take a lock: waiting on a Python lock is cheaper and fairer than SQLite's
busy-timeout polling, which then only arbitrates between processes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from coscientist.errors import StoreBusyError, StoreError
from coscientist.store.db import WRITE_OPTION, first_line, is_memory, mask


class Transactions:
    """The engine, the write lock, and the read and write transactions the Store's methods use."""

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
