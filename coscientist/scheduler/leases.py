"""Leases: who holds a running task, and taking back the tasks of owners that died.

A lease names its owner (`host:pid:random`). While a loop runs it renews its own
leases and heartbeat every third of a lease period, and takes back the running
tasks of owners that are gone: on this host as soon as their pid is dead (a
worker killed with kill -9), elsewhere once their heartbeat is three periods
old, and any lease past its expiry. So a killed worker's tasks come back within
one lease period while the run goes on, not only at the next start.
"""

from __future__ import annotations

import os
import socket
import uuid

from coscientist.store import Store, owner_is_dead


def make_owner_id() -> str:
    """Names the process holding a lease: host and pid tell a restart whether it is gone."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def register(store: Store, owner: str) -> None:
    store.register_owner(owner, os.getpid(), socket.gethostname())


def renew(store: Store, owner: str, lease_seconds: float) -> None:
    store.renew_leases(owner, lease_seconds)
    store.heartbeat(owner)


def take_back(store: Store, session_id: str, owner: str, lease_seconds: float) -> int:
    """Running tasks of dead owners (never `owner`'s own) and expired leases go back to pending."""
    return store.reclaim(
        session_id,
        lambda other: other != owner and owner_is_dead(store, other, lease_seconds),
    )
