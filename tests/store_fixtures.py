"""Store fixtures, loaded by the store tests through pytest_plugins.

`store` runs each test on a SQLite file and, when COSCIENTIST_TEST_POSTGRES_URL
points at a server, again on PostgreSQL in a schema of its own that is dropped
afterwards, so leftovers from other runs never matter.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from coscientist.schemas import SessionInfo, new_id
from coscientist.store import Store
from coscientist.store.db import parse_url

PG_ENV = "COSCIENTIST_TEST_POSTGRES_URL"
PG_URL = os.environ.get(PG_ENV)


def _postgres_schema_url(base: str) -> Iterator[str]:
    """A fresh schema for one test, through the connection's search_path."""
    schema = f"t_{new_id()}"
    base_url = parse_url(base)
    admin = create_engine(base_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = base_url.update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param(
            "postgres",
            marks=[
                pytest.mark.postgres,
                pytest.mark.skipif(PG_URL is None, reason=f"{PG_ENV} is not set"),
            ],
        ),
    ]
)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
    else:
        assert PG_URL is not None
        yield from _postgres_schema_url(PG_URL)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with Store.open(store_url) as opened:
        yield opened


@pytest.fixture
def sid(store: Store) -> str:
    return store.create_session(SessionInfo(id=new_id(), goal="goal", model_spec="scripted")).id
