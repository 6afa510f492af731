"""Shared test setup: asyncio for anyio tests, and no network but loopback."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _is_loopback(address: Any) -> bool:
    if isinstance(address, tuple) and address:
        host = address[0]
    else:
        return True  # unix sockets and the like
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
        raise RuntimeError(f"tests must not reach the network (tried to connect to {address!r})")
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> Any:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
        raise RuntimeError(f"tests must not reach the network (tried to connect to {address!r})")
    return _real_connect_ex(self, address)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Any connection to a non-loopback address is an error: no test may reach a real model."""
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)
    yield


@pytest.fixture(autouse=True)
def _isolated_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Tests never read the developer's config, store, API keys or role settings: every
    COSCIENTIST_ variable is cleared (roles and embedders have keys of their own), then
    the few the suite relies on are set."""
    for name in list(os.environ):
        if name.startswith("COSCIENTIST_") and name != "COSCIENTIST_TEST_POSTGRES_URL":
            monkeypatch.delenv(name, raising=False)
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("COSCIENTIST_CONFIG", str(home / "config.toml"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("COSCIENTIST_THREADS", "1")
    # Literature is on by default after a preflight to the real services: in tests it is off,
    # and its services point at a closed local port, unless a test opts in with the local
    # fake (tests/fakes/literature_server.py) through Settings.
    monkeypatch.setenv("COSCIENTIST_LITERATURE", "false")
    for service in ("ARXIV", "PUBMED", "EUROPEPMC"):
        monkeypatch.setenv(f"COSCIENTIST_LITERATURE_BASE_URLS__{service}", "http://127.0.0.1:9")


@pytest.fixture(autouse=True)
def _no_task_fails_unnoticed(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Every session run in a test must end with no failed task, unless the test is about
    failures (marked `task_failures`): a bug in an agent cannot hide behind retries."""
    from coscientist.session import Session

    summaries: list[Any] = []
    real_run = Session.run

    async def run(self: Session, *args: Any, **kwargs: Any) -> Any:
        summary = await real_run(self, *args, **kwargs)
        summaries.append(summary)
        return summary

    monkeypatch.setattr(Session, "run", run)
    yield
    if request.node.get_closest_marker("task_failures") is None:
        failed = [(s.session_id, s.tasks_failed, s.error) for s in summaries if s.tasks_failed]
        assert not failed, f"tasks failed in a session run: {failed}"
