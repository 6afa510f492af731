"""Opening a store: migrations, SQLite connection settings, URLs that cannot work."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from coscientist.errors import NotFoundError, StoreError
from coscientist.schemas import Hypothesis, SessionInfo, new_id
from coscientist.store import Store
from coscientist.store.db import WRITE_OPTION, mask_text
from coscientist.store.migrate import HEAD, script_head

TABLES = {
    "sessions",
    "hypotheses",
    "reviews",
    "matches",
    "ratings",
    "rating_history",
    "tasks",
    "owners",
    "llm_calls",
    "kg_nodes",
    "kg_edges",
    "meta_reviews",
    "literature_cache",
}


def _url(path: Path) -> str:
    return f"sqlite:///{path}"


def _versions(path: Path) -> list[str]:
    with sqlite3.connect(path) as raw:
        return [r[0] for r in raw.execute("SELECT version_num FROM alembic_version")]


def test_the_head_constant_names_the_newest_migration() -> None:
    assert script_head() == HEAD


def test_an_empty_sqlite_file_is_migrated_to_head(tmp_path: Path) -> None:
    db = tmp_path / "nested" / "dir" / "store.db"
    with Store.open(_url(db)) as store:
        assert store.dialect == "sqlite"
        assert TABLES <= set(inspect(store.engine).get_table_names())
    assert _versions(db) == [HEAD]


def test_reopening_keeps_data_and_writes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    with Store.open(_url(db)) as store:
        info = store.create_session(SessionInfo(id=new_id(), goal="keep me", model_spec="scripted"))
    # Another process holds the write lock: a re-open that tried to migrate would wait for it.
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with Store.open(_url(db)) as store:
            assert store.get_session(info.id).goal == "keep me"
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert _versions(db) == [HEAD]


def test_two_processes_opening_an_empty_file_at_once_both_succeed(tmp_path: Path) -> None:
    db = tmp_path / "race.db"
    code = "import sys; from coscientist.store import Store; Store.open(sys.argv[1]).close()"
    procs = [
        subprocess.Popen([sys.executable, "-c", code, _url(db)], stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    errors = [p.communicate(timeout=60)[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    assert _versions(db) == [HEAD]


def test_a_store_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "future.db"
    Store.open(_url(db)).close()
    with sqlite3.connect(db) as raw:
        raw.execute("UPDATE alembic_version SET version_num = '9999_future'")
    with pytest.raises(StoreError, match="newer coscientist") as caught:
        Store.open(_url(db))
    assert "\n" not in str(caught.value)


def test_every_sqlite_connection_gets_the_pragmas(tmp_path: Path) -> None:
    with Store.open(_url(tmp_path / "p.db")) as store:
        conns = [store.engine.connect() for _ in range(2)]  # two distinct pooled connections
        try:
            for conn in conns:
                pragma = {
                    name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                    for name in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")
                }
                assert pragma == {
                    "journal_mode": "wal",
                    "synchronous": 1,  # NORMAL
                    "busy_timeout": 30000,
                    "foreign_keys": 1,
                }
        finally:
            for conn in conns:
                conn.close()


def test_write_transactions_take_the_write_lock_at_begin(tmp_path: Path) -> None:
    db = tmp_path / "lock.db"
    with Store.open(_url(db)) as store:
        other = sqlite3.connect(db, timeout=0, isolation_level=None)
        try:
            with store.engine.connect() as reader:
                reader.execute(text("SELECT count(*) FROM sessions")).scalar()
                other.execute("BEGIN IMMEDIATE")  # a read transaction does not block writers
                other.execute("ROLLBACK")
            writer = store.engine.execution_options(**{WRITE_OPTION: True})
            with writer.begin() as conn:
                conn.execute(text("SELECT count(*) FROM sessions")).scalar()
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("BEGIN IMMEDIATE")
        finally:
            other.close()


def test_foreign_keys_are_enforced(tmp_path: Path) -> None:
    with Store.open(_url(tmp_path / "fk.db")) as store:
        orphan = Hypothesis(
            id=new_id(), session_id="nosession", title="t", statement="s", origin="x"
        )
        with pytest.raises(NotFoundError, match="nosession"):
            store.add_hypotheses([orphan])
        with store.engine.connect() as conn, pytest.raises(Exception, match="FOREIGN KEY"):
            conn.execute(
                text(
                    "INSERT INTO ratings (hypothesis_id, session_id, mu, sigma, matches, wins)"
                    " VALUES ('x', 'y', 1, 1, 0, 0)"
                )
            )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("nosuch://x", "unsupported database 'nosuch'"),
        ("sqlite:////proc/forbidden/x.db", "cannot create the directory"),
        ("not a url at all", "not a database URL"),
        ("mysql://u:secret@127.0.0.1/db", "unsupported database 'mysql'"),
        ("postgresql+psycopg2://u:secret@127.0.0.1:1/db", "driver not installed"),
        ("postgresql+asyncpg://u:secret@127.0.0.1:1/db", "unsupported driver 'asyncpg'"),
        ("postgresql://u:secret@127.0.0.1:1/db", "cannot open store postgresql+psycopg://u:***@"),
    ],
)
def test_a_bad_url_is_a_one_line_store_error_without_the_password(url: str, expected: str) -> None:
    with pytest.raises(StoreError) as caught:
        Store.open(url)
    message = str(caught.value)
    assert expected in message
    assert "\n" not in message
    assert "secret" not in message


def test_a_tilde_means_the_home_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    with Store.open("sqlite:///~/data/home.db") as store:
        assert store.url_display == _url(tmp_path / "data" / "home.db")
    assert (tmp_path / "data" / "home.db").is_file()


def test_a_directory_is_not_a_database(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"cannot open store sqlite:///.*\S") as caught:
        Store.open(_url(tmp_path))
    assert "\n" not in str(caught.value)


def test_passwords_are_masked_even_in_unparseable_urls() -> None:
    assert mask_text("postgresql://me:hunter2@db/x") == "postgresql://me:***@db/x"
    assert mask_text("weird://me:hunter2@") == "weird://me:***@"
    assert mask_text("sqlite:///a.db") == "sqlite:///a.db"


def test_url_display_masks_the_password(tmp_path: Path) -> None:
    with Store.open(_url(tmp_path / "m.db")) as store:
        assert store.url_display == _url(tmp_path / "m.db")
    assert "***" in mask_text("postgresql+psycopg://u:pw@h/db")


def test_datetimes_come_back_aware_and_in_utc(tmp_path: Path) -> None:
    plus_two = timezone(timedelta(hours=2))
    local = datetime(2026, 1, 2, 14, 30, tzinfo=plus_two)
    with Store.open(_url(tmp_path / "t.db")) as store:
        info = store.create_session(
            SessionInfo(id="s1", goal="g", model_spec="m", created_at=local, updated_at=local)
        )
        back = store.get_session(info.id)
    assert back.created_at == local
    assert back.created_at.tzinfo == UTC
    assert back.created_at.hour == 12


def test_secrets_in_a_base_url_are_not_stored(tmp_path: Path) -> None:
    with Store.open(_url(tmp_path / "b.db")) as store:
        info = SessionInfo(
            id="s1", goal="g", model_spec="m", base_url="https://me:sk-secret@llm.local/v1"
        )
        store.create_session(info)
        assert store.get_session("s1").base_url == "https://me:***@llm.local/v1"
        store.update_session("s1", base_url="http://u:pw2@other/v1")
        assert store.get_session("s1").base_url == "http://u:***@other/v1"


def test_an_in_memory_store_is_shared_by_threads() -> None:
    with Store.open("sqlite://") as store:
        info = store.create_session(SessionInfo(id=new_id(), goal="g", model_spec="m"))
        seen: list[str] = []
        worker = threading.Thread(target=lambda: seen.append(store.get_session(info.id).goal))
        worker.start()
        worker.join()
        assert seen == ["g"]
