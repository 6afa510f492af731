"""Is the process holding a lease still alive? Used by reclaim at resume."""

from __future__ import annotations

import os
import socket
from datetime import timedelta

from coscientist.schemas import utcnow
from coscientist.store.repository import Store

STALE_LEASES = 3  # heartbeats older than this many lease periods mean a dead remote owner


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def owner_is_dead(
    store: Store, owner_id: str, lease_seconds: float = 60.0, host: str | None = None
) -> bool:
    """Same host: its pid is gone. Other host: no heartbeat for 3 lease periods. Unknown: dead."""
    owner = store.get_owner(owner_id)
    if owner is None:
        return True
    if owner.host == (host or socket.gethostname()):
        return not pid_alive(owner.pid)
    return utcnow() - owner.heartbeat_at > timedelta(seconds=STALE_LEASES * lease_seconds)
